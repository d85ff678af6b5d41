"""The parts every vendor adapter shares: applying a field map, conversions, the safety net."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from winback_router.adapters import ADAPTER_BUG, ADAPTERS, AdapterContext, normalise
from winback_router.adapters.base import (
    Answer,
    InvalidPayload,
    api_credentials,
    as_datetime,
    build_response,
    flatten,
    is_affirmative,
)
from winback_router.adapters.vendor_api import VendorApiClient, VendorUnavailable
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import FieldMap, SourceConfig, Vendor
from winback_shared.survey import COMMENT_CHARS, SHORT_TEXT_CHARS, GenericSurveyResponse

ZENDESK_LIKE_MAP = FieldMap.model_validate(
    {
        "response_id": "ticket.id",
        "csat": {"from": "satisfaction.score", "values": {"bad": 1, "good": 5}},
        "nps": {"from": "answers.nps", "min": 0, "max": 10},
        "reasons": ["satisfaction.reason", "answers.topics"],
        "comment": ["satisfaction.comment"],
        "follow_up": "answers.call_me",
        "customer_email": "ticket.requester.email",
        "customer_value": "ticket.requester.ltv",
        "submitted_at": "satisfaction.at",
        "interaction_agent": "ticket.assignee",
    }
)
BODY = {
    "ticket": {
        "id": 4821,
        "requester": {"email": "kim@example.com", "ltv": "1,250.50"},
        "assignee": "Priya",
    },
    "satisfaction": {
        "score": "Bad",
        "reason": "Issue took too long to resolve",
        "comment": "Three transfers.",
        "at": 1795000000,
    },
    "answers": {"nps": "2", "topics": ["Billing", "Wait time"], "call_me": "Yes, please"},
}


def test_field_map_builds_every_canonical_field_from_dotted_paths() -> None:
    response = build_response(flatten(BODY), ZENDESK_LIKE_MAP)

    assert response.response_id == "4821"
    assert [(s.kind.value, s.value, s.scale_min, s.scale_max) for s in response.scores] == [
        ("nps", 2, 0, 10),
        ("csat", 1, 1, 5),
    ]
    assert response.reasons == ["Issue took too long to resolve", "Billing", "Wait time"]
    assert response.comment == "Three transfers."
    assert response.follow_up_requested
    assert response.customer.email == "kim@example.com"
    assert response.customer.lifetime_value == 1250.5
    assert response.interaction.agent == "Priya"
    assert response.submitted_at == datetime.fromtimestamp(1795000000, UTC)


def test_what_a_customer_typed_at_length_is_cut_to_the_limits_not_dead_lettered() -> None:
    """Two long answers joined, and a long "Other" reason: the response made no case (a dead
    letter, ``reasons.0``), though the customer who writes most is the one to call."""
    fields = FieldMap.model_validate(
        {"response_id": "id", "reasons": ["why"], "comment": ["first", "second"]}
    )
    first, second, other = "a" * 15_000, "b" * 15_000, "an other reason " * 40
    answers: dict[str, Answer] = {
        "id": "r1",
        "why": ["Billing", other],
        "first": first,
        "second": second,
    }
    response = build_response(answers, fields)

    assert response.comment is not None and len(response.comment) == COMMENT_CHARS
    assert response.comment == (first + "\n\n" + second)[: COMMENT_CHARS - 1] + "\u2026"
    assert response.reasons == ["Billing", other[: SHORT_TEXT_CHARS - 1] + "\u2026"]
    exact = build_response({**answers, "first": "a" * COMMENT_CHARS, "second": None}, fields)
    assert exact.comment == "a" * COMMENT_CHARS  # at the limit: kept whole


def test_missing_response_id_names_the_locator_to_fix() -> None:
    with pytest.raises(InvalidPayload, match=r"'ticket\.id'.*field_map\.response_id"):
        build_response(flatten({"ticket": {}}), ZENDESK_LIKE_MAP)


def test_text_score_outside_values_says_what_to_configure() -> None:
    body = {**BODY, "satisfaction": {**BODY["satisfaction"], "score": "meh"}}  # type: ignore[dict-item]
    with pytest.raises(InvalidPayload, match="not in the field map's 'values'"):
        build_response(flatten(body), ZENDESK_LIKE_MAP)


def test_score_outside_its_scale_is_invalid_not_clamped() -> None:
    body = {**BODY, "answers": {**BODY["answers"], "nps": 11}}  # type: ignore[dict-item]
    with pytest.raises(InvalidPayload, match="outside"):
        build_response(flatten(body), ZENDESK_LIKE_MAP)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (True, True),
        ("Yes, call me", True),
        ("sí", True),
        ("No thanks", False),
        (None, False),
        (".", False),
    ],
)
def test_affirmative_answers(answer: str | bool | None, expected: bool) -> None:
    assert is_affirmative(answer) is expected


def test_dates_from_iso_text_and_unix_seconds() -> None:
    assert as_datetime("2026-11-23T09:00:00Z", "t") == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert as_datetime("2026-11-23T09:00:00", "t") == datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert as_datetime("1795000000", "t") == datetime.fromtimestamp(1795000000, UTC)
    with pytest.raises(InvalidPayload, match="not a date"):
        as_datetime("yesterday", "t")
    with pytest.raises(InvalidPayload, match="not a date"):  # no UTC time in Python's years
        as_datetime("9999-12-31T23:59:59-14:00", "t")
    assert as_datetime("9999-12-31T09:59:59-14:00", "t") is not None


def test_vendor_api_credentials_come_from_the_source_or_name_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = {"base_url": "https://api.example.com", "token_env": "WINBACK_TEST_API_TOKEN"}
    source = SourceConfig.model_validate(
        {"vendor": "surveymonkey", "secrets": ["0123456789"], "api": api}
    )
    monkeypatch.setenv("WINBACK_TEST_API_TOKEN", "t0ken")
    assert api_credentials(source, "surveymonkey") == (source.api, "t0ken")
    monkeypatch.delenv("WINBACK_TEST_API_TOKEN")
    with pytest.raises(InvalidPayload, match=r"surveymonkey: .*WINBACK_TEST_API_TOKEN"):
        api_credentials(source, "surveymonkey")
    no_api = SourceConfig.model_validate({"vendor": "typeform", "secrets": ["0123456789"]})
    with pytest.raises(InvalidPayload, match="qualtrics: the source has no 'api' settings"):
        api_credentials(no_api, "qualtrics")


def test_source_field_map_overrides_vendor_defaults_field_by_field() -> None:
    defaults = FieldMap.model_validate({"response_id": "token", "nps": "nps", "comment": ["c"]})
    merged = FieldMap.model_validate({"nps": {"from": "q7", "max": 5, "min": 1}}).over(defaults)
    assert merged.response_id == "token" and merged.comment == ["c"]
    assert merged.nps is not None and (merged.nps.source, merged.nps.max) == ("q7", 5)


class _Broken:
    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        raise KeyError("a bug")


class _VendorDown:
    async def normalise(
        self, envelope: SurveyReceived, source: SourceConfig, context: AdapterContext
    ) -> GenericSurveyResponse:
        raise VendorUnavailable("down")


async def test_adapter_bug_becomes_a_dead_letter_but_vendor_outage_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = SourceConfig.model_validate({"vendor": "typeform", "secrets": ["0123456789"]})
    envelope = SurveyReceived(source="tf", vendor="typeform", content_type="json", body="{}")
    context = AdapterContext(api=VendorApiClient())
    monkeypatch.setitem(ADAPTERS, Vendor.TYPEFORM, _Broken())
    with pytest.raises(InvalidPayload, match=f"{ADAPTER_BUG}.*KeyError"):
        await normalise(envelope, {"tf": source}, context)
    monkeypatch.setitem(ADAPTERS, Vendor.TYPEFORM, _VendorDown())
    with pytest.raises(VendorUnavailable):
        await normalise(envelope, {"tf": source}, context)
    await context.api.aclose()


async def test_vendor_changed_since_acceptance_is_a_dead_letter() -> None:
    source = SourceConfig.model_validate({"vendor": "typeform", "secrets": ["0123456789"]})
    envelope = SurveyReceived(source="s", vendor="delighted", content_type="json", body="{}")
    context = AdapterContext(api=VendorApiClient())
    with pytest.raises(InvalidPayload, match="now typeform"):
        await normalise(envelope, {"s": source}, context)
    await context.api.aclose()


@pytest.mark.parametrize(
    "body",
    [
        '{"response_id": "r1", "customer": {"lifetime_value": 1e999}}',
        '{"response_id": "r2", "scores": [{"kind": "nps", "value": 5, "scale_min": -1e999}]}',
        '{"response_id": "r3", "scores": [{"kind": "nps", "value": 1e999, "scale_max": 1e999}]}',
    ],
)
async def test_a_number_beyond_a_double_is_a_dead_letter_not_a_failed_insert(body: str) -> None:
    """``1e999`` is valid JSON that parses to ``inf``: stored, it would make the batch's jsonb
    insert fail on every retry; refused in normalising, it is a dead letter with its reason."""
    source = SourceConfig.model_validate(
        {"vendor": "generic", "secrets": ["whsec_MDEyMzQ1Njc4OWFiY2RlZg=="]}
    )
    envelope = SurveyReceived(source="g", vendor="generic", content_type="json", body=body)
    context = AdapterContext(api=VendorApiClient())
    with pytest.raises(InvalidPayload, match="finite number"):
        await normalise(envelope, {"g": source}, context)
    await context.api.aclose()


@pytest.mark.parametrize(
    "body",
    [
        '{"response_id": "r1", "submitted_at": "9999-12-31T23:59:59-14:00"}',
        '{"response_id": "r2", "updated_at": "0001-01-01T00:00:01+14:00"}',
        '{"response_id": "r3", "interaction": {"occurred_at": "9999-12-31T20:00:00-04:00"}}',
    ],
)
async def test_a_date_with_no_utc_time_is_a_dead_letter_not_a_failed_insert(body: str) -> None:
    """The database driver converts each moment to UTC, which these have none of in Python's
    years: stored, the batch's insert failed (the router then stores it record by record);
    refused in normalising, it is a dead letter that names the date."""
    source = SourceConfig.model_validate(
        {"vendor": "generic", "secrets": ["whsec_MDEyMzQ1Njc4OWFiY2RlZg=="]}
    )
    envelope = SurveyReceived(source="g", vendor="generic", content_type="json", body=body)
    context = AdapterContext(api=VendorApiClient())
    with pytest.raises(InvalidPayload, match="no UTC time in the years 1 to 9999"):
        await normalise(envelope, {"g": source}, context)
    await context.api.aclose()
    edge = body.replace("9999-12-31T23:59:59-14:00", "9999-12-31T09:59:59-14:00")
    if edge != body:  # the latest moment that has one is stored as it was
        fine = SurveyReceived(source="g", vendor="generic", content_type="json", body=edge)
        context = AdapterContext(api=VendorApiClient())
        response = await normalise(fine, {"g": source}, context)
        await context.api.aclose()
        assert response.submitted_at is not None and response.submitted_at.year == 9999


def test_a_field_map_value_beyond_a_double_is_invalid() -> None:
    fields = FieldMap.model_validate({"response_id": "id", "customer_value": "ltv"})
    with pytest.raises(InvalidPayload, match="finite number"):
        build_response(flatten({"id": "r", "ltv": float("inf")}), fields)
