"""Customer match keys (pure): what makes a key, and what must never be one."""

from __future__ import annotations

import pytest

from winback_shared.customer_match import (
    CustomerKeys,
    CustomerMatchSettings,
    customer_keys,
    email_key,
    id_key,
    phone_e164,
    phone_tail,
)
from winback_shared.survey import Customer


def test_national_and_international_forms_share_a_phone_key() -> None:
    forms = ["+44 7700 900123", "0044 7700 900123", "07700 900123", "(07700) 900-123 ext. 12"]
    assert {phone_tail(form) for form in forms} == {"700900123"}
    assert phone_e164("+44 7700 900123") == phone_e164("0044 7700-900123") == "+447700900123"
    assert phone_e164("07700 900123") is None


@pytest.mark.parametrize(
    "garbage", [None, "", "   ", "n/a", "unknown", "0000000", "1111 1111", "12345", "+", 42, "x123"]
)
def test_garbage_phones_give_no_key(garbage: object) -> None:
    assert phone_tail(garbage) is None
    assert phone_e164(garbage) is None


def test_too_long_for_e164_is_no_phone() -> None:
    assert phone_tail("1234567890123456") is None


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "",
        "n/a",
        "dana",
        "dana@",
        "@example.com",
        "dana@example",
        "da na@example.com",
        "noreply@shop.example",
        "No-Reply@shop.example",
        "a@b@c.com",
    ],
)
def test_garbage_emails_give_no_key(garbage: object) -> None:
    assert email_key(garbage) is None


def test_email_is_trimmed_and_lower_cased() -> None:
    assert email_key("  Dana.Whitfield@Example.COM ") == "dana.whitfield@example.com"


@pytest.mark.parametrize(
    "nobody", [None, "", "  ", "0", "-", "NULL", "Unknown", "anonymous", "N/A"]
)
def test_placeholder_ids_name_nobody(nobody: object) -> None:
    assert id_key(nobody) is None


def test_ids_are_trimmed_but_keep_their_case() -> None:
    assert id_key(" C-17 ") == "C-17"


def test_keys_of_a_customer_model_and_of_its_stored_json_agree() -> None:
    customer = Customer(id="c-1", email="Dana@Example.com", phone="+1 555 010 0100")
    expected = CustomerKeys("c-1", "dana@example.com", "550100100", "+15550100100")
    assert customer_keys(customer) == expected
    assert customer_keys(customer.model_dump(mode="json")) == expected
    assert customer_keys({}) == CustomerKeys(None, None, None, None)


def test_settings_read_the_rule_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINBACK_CUSTOMER_MATCH_MAX_IDS_PER_KEY", "2")
    monkeypatch.setenv("WINBACK_CUSTOMER_MATCH_SHARED_ID_SOURCES", '["crm-a", "crm-b"]')
    rule = CustomerMatchSettings().rule()
    assert rule.max_ids_per_key == 2
    assert rule.shared_id_sources == frozenset({"crm-a", "crm-b"})
