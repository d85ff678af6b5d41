"""A customer's value read as CRMs write it (``adapters/amounts.py``): signs and codes around
the number dropped, both separator conventions read, anything else still refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback_router.adapters.amounts import as_amount
from winback_router.adapters.base import InvalidPayload, build_response
from winback_shared.sources import FieldMap


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1250.5", 1250.5),
        ("1,250.50", 1250.5),
        ("$1,250.50", 1250.5),
        ("€ 1250", 1250),
        ("1250 USD", 1250),
        ("usd 12", 12),
        ("£1,250", 1250),
        ("R$ 900", 900),
        ("US$ 1,000", 1000),
        ("1.250,50", 1250.5),
        ("1 250,00", 1250),
        ("1\u00a0250.5", 1250.5),  # a no-break space grouping thousands
        ("EUR1.234.567,8", 1234567.8),
        ("1,25", 1.25),  # a comma before one or two digits is a decimal mark
        ("12e3", 12000),
    ],
)
def test_the_number_is_read_whatever_surrounds_it(text: str, amount: float) -> None:
    assert as_amount(text) == amount


@pytest.mark.parametrize("text", ["", "-", "abc", "USD", "1,2,3,4.5.6", "twelve"])
def test_text_without_a_number_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        as_amount(text)


@given(st.decimals(min_value=0, max_value=10**9, places=2), st.sampled_from(["$", "€", "£ ", ""]))
def test_both_conventions_read_back_what_was_written(value: object, sign: str) -> None:
    number = float(str(value))
    us = f"{sign}{number:,.2f}"
    europe = sign + f"{number:,.2f}".translate(str.maketrans(",.", ".,"))
    assert as_amount(us) == pytest.approx(number)
    assert as_amount(europe) == pytest.approx(number)


def test_a_value_with_a_currency_sign_no_longer_costs_the_response_a_dead_letter() -> None:
    fields = FieldMap.model_validate({"response_id": "id", "customer_value": "ltv"})
    response = build_response({"id": "r1", "ltv": "$1,250.50"}, fields)
    assert response.customer.lifetime_value == 1250.5
    with pytest.raises(InvalidPayload, match=r"customer_value \(ltv\): 'about a grand'"):
        build_response({"id": "r1", "ltv": "about a grand"}, fields)
