"""Properties of the pure intake code, checked on inputs Hypothesis invents (and shrinks).

The fuzz test (test_fuzz_intake.py) sends mutated vendor payloads through the running system;
these check the building blocks on arbitrary input: they either succeed or refuse with their own
error type, never anything else.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from winback_ingest import bodies
from winback_ingest.bodies import FORM, parse_body
from winback_router.adapters.base import (
    InvalidPayload,
    as_datetime,
    build_response,
    flatten,
    is_affirmative,
)
from winback_shared.errors import ApiError
from winback_shared.sources import FieldMap
from winback_shared.survey import GenericSurveyResponse

EXAMPLES = settings(max_examples=400, deadline=None)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)
LOCATORS = ["a", "a.b", "a.0", "b", "hidden.x", "c"]
locator = st.sampled_from(LOCATORS)
score = locator | st.fixed_dictionaries(
    {"from": locator},
    optional={
        "min": st.integers(-5, 5),
        "max": st.integers(6, 20),
        "values": st.dictionaries(st.text(max_size=5), st.floats(-100, 100), max_size=3),
    },
)
field_maps = st.fixed_dictionaries(
    {"response_id": locator},
    optional={
        "nps": score,
        "csat": score,
        "reasons": st.lists(locator, max_size=3),
        "comment": st.lists(locator, max_size=3),
        "follow_up": locator,
        "submitted_at": locator,
        "customer_value": locator,
        "customer_email": locator,
    },
)


@EXAMPLES
@given(body=st.binary(max_size=2000), form=st.booleans())
def test_any_body_parses_or_is_refused_with_a_clear_error(body: bytes, form: bool) -> None:
    try:
        parsed = parse_body(
            body, FORM if form else "application/json", max_depth=8, max_string_chars=100
        )
    except ApiError as refusal:
        assert 400 <= refusal.status < 500 and refusal.code and refusal.message
    else:
        assert isinstance(parsed, dict)


@EXAMPLES
@given(document=json_values)
def test_any_json_document_parses_or_is_refused(document: Any) -> None:
    body = json.dumps(document).encode()
    try:
        parsed = parse_body(body, "application/json", max_depth=8, max_string_chars=100)
    except ApiError as refusal:
        assert refusal.status == 400
        if refusal.code == "invalid_json":  # not an object, or what strict JSON cannot say
            assert not isinstance(document, dict) or b"NaN" in body or b"Infinity" in body
    else:
        assert json.dumps(parsed) == json.dumps(document)


@EXAMPLES
@given(
    document=st.dictionaries(st.sampled_from(["a", "b", "c", "hidden"]), json_values),
    fields=field_maps,
)
def test_any_answers_under_any_field_map_normalise_or_are_invalid(
    document: dict[str, Any], fields: dict[str, Any]
) -> None:
    try:
        response = build_response(flatten(document), FieldMap.model_validate(fields))
    except InvalidPayload as exc:
        assert str(exc)
    else:
        assert isinstance(response, GenericSurveyResponse) and response.response_id
        for each in response.scores:
            assert each.scale_min is not None and each.scale_max is not None
            assert each.scale_min <= each.value <= each.scale_max


@EXAMPLES
@given(text=st.text(max_size=40) | st.integers() | st.floats())
def test_dates_and_yes_no_never_crash(text: str | int | float) -> None:
    assert is_affirmative(text) in (True, False)
    try:
        as_datetime(text, "t")
    except InvalidPayload:
        pass


def parsed_as_before(body: bytes, max_depth: int, max_string_chars: int) -> object:
    """What ``parse_json_object`` answered before it skipped any walk: the value or the refusal.

    ``json.loads`` with a fresh decoder each time, then the shape walk over every body.
    """
    try:
        try:
            parsed = json.loads(body.decode("utf-8"), parse_constant=bodies._refuse_constant)
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_encoding", "body must be UTF-8") from None
        except json.JSONDecodeError as exc:
            raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}") from None
        except RecursionError:
            raise ApiError(400, "too_deep", f"JSON nests deeper than {max_depth} levels") from None
        if not isinstance(parsed, dict):
            raise ApiError(400, "invalid_json", "body must be a JSON object")
        bodies._check_shape(parsed, max_depth=max_depth, max_string_chars=max_string_chars)
    except ApiError as refusal:
        return refusal.status, refusal.code, refusal.message
    return json.dumps(parsed)


def parsed_now(body: bytes, max_depth: int, max_string_chars: int) -> object:
    """The same for ``parse_json_object`` as shipped."""
    try:
        parsed = bodies.parse_json_object(
            body, max_depth=max_depth, max_string_chars=max_string_chars
        )
    except ApiError as refusal:
        return refusal.status, refusal.code, refusal.message
    return json.dumps(parsed)


@EXAMPLES
@given(
    body=st.binary(max_size=300)
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.dictionaries(st.text(max_size=8), json_values, max_size=4).map(
        lambda value: json.dumps(value, ensure_ascii=False).encode()
    ),
    bom=st.booleans(),
    max_depth=st.integers(1, 8),
    max_string_chars=st.integers(1, 400),
)
def test_skipping_the_walk_for_small_bodies_answers_as_the_walk_did(
    body: bytes, bom: bool, max_depth: int, max_string_chars: int
) -> None:
    """The size bound only skips walks that would have found nothing (docs/performance.md)."""
    if bom:
        body = "\ufeff".encode() + body
    assert parsed_now(body, max_depth, max_string_chars) == parsed_as_before(
        body, max_depth, max_string_chars
    )
