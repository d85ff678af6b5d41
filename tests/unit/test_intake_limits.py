"""Intake limits as pure functions: the rate bucket and form parsing."""

from __future__ import annotations

import pytest

from winback_ingest.bodies import parse_form
from winback_ingest.rate_limit import RateLimiter
from winback_shared.errors import ApiError


def test_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert limiter.take("a") == 0 and limiter.take("a") == 0
    assert limiter.take("a") == pytest.approx(0.5)
    assert limiter.take("b") == 0  # sources have separate buckets
    now[0] = 0.5
    assert limiter.take("a") == 0
    assert RateLimiter.retry_after(0.01) == "1"


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"a=1&a=2", "invalid_form"), (b"a=1&&&=", "invalid_form"), (b"\xff=1", "invalid_encoding")],
)
def test_bad_forms_are_refused(body: bytes, code: str) -> None:
    with pytest.raises(ApiError) as refused:
        parse_form(body, max_string_chars=100)
    assert refused.value.code == code


def test_form_parses_to_flat_fields() -> None:
    fields = parse_form(b"Topic=survey.response&ResponseID=R_1&Empty=", max_string_chars=100)
    assert fields == {"Topic": "survey.response", "ResponseID": "R_1", "Empty": ""}
