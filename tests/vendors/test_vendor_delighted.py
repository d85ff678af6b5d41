"""Delighted: hex ``X-Delighted-Webhook-Signature``, created-then-updated merged into one case."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Pipeline, eventually
from winback_ingest.vendors import INTAKES, SignatureError, Signed
from winback_ingest.vendors.delighted import DELIGHTED, sign
from winback_router.adapters import AdapterContext, InvalidPayload, NotASurveyResponse, normalise
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig, Sources, Vendor
from winback_shared.survey import SurveyResponse

DATA = Path(__file__).parents[1] / "data" / "delighted"
API_KEY = "dl_9b3f7c1a5e8d2f6b4a0c"
OLD_API_KEY = "dl_2e6a0d4c8f1b5e9a3d7c"

CALL_CENTRE_MAP: dict[str, Any] = {
    "customer_id": "person_properties.Customer ID",
    "interaction_id": "person_properties.Interaction ID",
    "interaction_channel": "person_properties.Channel",
    "interaction_agent": "person_properties.Agent",
    "interaction_team": "person_properties.Team",
    "reasons": ["enum_k2Lm8N"],
    "follow_up": "enum_p4Qr6S",
}
"""How a call centre's Delighted project places its person properties and extra questions."""


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def delighted_source(*keys: str, field_map: dict[str, Any] | None = None) -> SourceConfig:
    return SourceConfig.model_validate(
        {"vendor": "delighted", "secrets": list(keys), "field_map": field_map or {}}
    )


def headers_for(body: bytes, key: str = API_KEY) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-delighted-webhook-signature": sign(key.encode(), body),
    }


def signed(body: bytes, headers: dict[str, str]) -> Signed:
    return Signed(headers=httpx.Headers(headers), body=body, now=time.time(), tolerance_seconds=300)


@pytest.fixture
def sources() -> Sources:
    """The pipeline's source ``survey``: a Delighted project, mid key rotation."""
    return {"survey": delighted_source(API_KEY, OLD_API_KEY, field_map=CALL_CENTRE_MAP)}


async def normalised(
    body: bytes, context: AdapterContext, field_map: dict[str, Any] | None = None
) -> SurveyResponse:
    envelope = SurveyReceived(
        source="survey", vendor="delighted", content_type="application/json", body=body.decode()
    )
    sources = {"survey": delighted_source(API_KEY, field_map=field_map)}
    return await normalise(envelope, sources, context)


def with_event_data(name: str, **changes: Any) -> bytes:
    payload = json.loads(fixture(name))
    payload["event_data"].update(changes)
    return json.dumps(payload).encode()


# --- signature -------------------------------------------------------------------------------


def test_signature_is_sha256_prefix_and_hex_hmac_of_the_raw_body() -> None:
    body = fixture("detractor_created.json")
    digest = hmac.new(API_KEY.encode(), body, hashlib.sha256).hexdigest()
    assert sign(API_KEY.encode(), body) == f"sha256={digest}"


def test_delighted_sources_use_the_delighted_intake() -> None:
    assert INTAKES[Vendor.DELIGHTED] is DELIGHTED


@pytest.mark.parametrize("key", [API_KEY, OLD_API_KEY])
def test_any_configured_api_key_verifies(key: str) -> None:
    body = fixture("detractor_created.json")
    DELIGHTED.authenticate(
        delighted_source(API_KEY, OLD_API_KEY), signed(body, headers_for(body, key))
    )


def test_upper_case_hex_verifies() -> None:
    body = fixture("promoter.json")
    header = "sha256=" + hmac.new(API_KEY.encode(), body, hashlib.sha256).hexdigest().upper()
    headers = {"x-delighted-webhook-signature": header}
    DELIGHTED.authenticate(delighted_source(API_KEY), signed(body, headers))


def test_signature_from_another_key_is_refused() -> None:
    body = fixture("detractor_created.json")
    with pytest.raises(SignatureError, match="no signature matches"):
        DELIGHTED.authenticate(
            delighted_source(API_KEY), signed(body, headers_for(body, "another-account-key"))
        )


def test_changed_body_is_refused() -> None:
    body = fixture("detractor_created.json")
    changed = body.replace(b'"score": 3', b'"score": 9')
    assert changed != body
    with pytest.raises(SignatureError, match="no signature matches"):
        DELIGHTED.authenticate(delighted_source(API_KEY), signed(changed, headers_for(body)))


def test_base64_encoded_signature_is_refused() -> None:
    body = fixture("detractor_created.json")
    digest = hmac.new(API_KEY.encode(), body, hashlib.sha256).digest()
    headers = {"x-delighted-webhook-signature": "sha256=" + base64.b64encode(digest).decode()}
    with pytest.raises(SignatureError, match="no signature matches"):
        DELIGHTED.authenticate(delighted_source(API_KEY), signed(body, headers))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "header is required"),
        ({"typeform-signature": "sha256=00"}, "header is required"),
        ({"x-delighted-webhook-signature": "00ff"}, "'sha256=' followed by hex"),
    ],
)
def test_missing_or_malformed_header_is_refused(headers: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        DELIGHTED.authenticate(delighted_source(API_KEY), signed(b"{}", headers))


# --- keys ------------------------------------------------------------------------------------


def test_created_and_updated_share_one_key_and_differ_in_delivery_id() -> None:
    deliveries = [
        DELIGHTED.inspect(delighted_source(API_KEY), json.loads(fixture(name)), signed(b"", {}))
        for name in ("detractor_created.json", "detractor_updated.json")
    ]
    assert [d.response_key for d in deliveries] == ["771204", "771204"]
    assert deliveries[0].delivery_id != deliveries[1].delivery_id
    assert deliveries[0].delivery_id == json.loads(fixture("detractor_created.json"))["event_id"]


@pytest.mark.parametrize(
    "name", ["detractor_created.json", "detractor_updated.json", "promoter.json", "odd.json"]
)
async def test_ingest_keys_by_the_id_the_router_stores(name: str, context: AdapterContext) -> None:
    body = fixture(name)
    delivery = DELIGHTED.inspect(delighted_source(API_KEY), json.loads(body), signed(body, {}))
    assert delivery.response_key == (await normalised(body, context)).response_id


# --- normalisation ---------------------------------------------------------------------------


async def test_created_detractor_has_the_score_and_no_comment_yet(context: AdapterContext) -> None:
    response = await normalised(fixture("detractor_created.json"), context)

    assert response.response_id == "771204"
    assert response.submitted_at == datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC)
    assert [s.model_dump(mode="json") for s in response.scores] == [
        {"kind": "nps", "value": 3.0, "scale_min": 0.0, "scale_max": 10.0}
    ]
    assert response.comment is None
    assert response.reasons == [] and response.follow_up_requested is False
    assert response.customer.model_dump() == {
        "id": "448120",  # Delighted's person id, unless the source maps a property
        "name": "Ana Ruiz",
        "email": "ana.ruiz@example.com",
        "phone": "+34600123456",
        "segment": None,
        "lifetime_value": None,
    }
    assert response.interaction.model_dump() == dict.fromkeys(("id", "channel", "agent", "team"))


async def test_updated_detractor_is_normalised_field_by_field(context: AdapterContext) -> None:
    response = await normalised(fixture("detractor_updated.json"), context, CALL_CENTRE_MAP)

    assert response.response_id == "771204"
    assert response.submitted_at == datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC)
    assert response.updated_at == datetime(2026, 11, 23, 9, 17, 40, tzinfo=UTC)
    assert [(s.kind.value, s.value) for s in response.scores] == [("nps", 3.0)]
    assert response.comment == (
        "I was on hold for 40 minutes and the agent could not explain my new tariff."
    )
    assert response.reasons == ["Long wait time", "Agent lacked product knowledge"]
    assert response.follow_up_requested is True
    assert response.customer.id == "C-88231"
    assert response.customer.phone == "+34600123456"
    assert response.interaction.model_dump() == {
        "id": "call-5521",
        "channel": "phone",
        "agent": "Jules Moreau",
        "team": "Billing T2",
    }


async def test_promoter_without_person_properties(context: AdapterContext) -> None:
    response = await normalised(fixture("promoter.json"), context, CALL_CENTRE_MAP)

    assert response.response_id == "771390"
    assert [(s.kind.value, s.value) for s in response.scores] == [("nps", 10.0)]
    assert response.comment == "Quick and friendly, thank you!"
    assert response.customer.id is None  # mapped to a property this person does not have
    assert (response.customer.name, response.customer.phone) == ("Mei Chen", None)
    assert response.reasons == [] and response.follow_up_requested is False


async def test_odd_csat_response_is_placed_by_its_field_map(context: AdapterContext) -> None:
    field_map = {
        "ces": "integer_Fg7Hj9",
        "comment": ["comment", "text_Rt5Yu7"],
        "reasons": ["enum_Unanswered"],
        "customer_id": "person_properties.Customer ID",
        "customer_segment": "person_properties.Plan",
        "customer_value": "person_properties.Lifetime value",
    }
    response = await normalised(fixture("odd.json"), context, field_map)

    assert {(s.kind.value, s.value, s.scale_min, s.scale_max) for s in response.scores} == {
        ("csat", 2.0, 1.0, 5.0),
        ("ces", 6.0, 1.0, 7.0),
    }
    assert response.comment == "Nobody called me back as promised."  # the empty comment skipped
    assert response.reasons == []
    assert response.customer.model_dump() == {
        "id": "55017",
        "name": None,
        "email": None,
        "phone": "+15550100777",
        "segment": "Family 5G",
        "lifetime_value": 1840.5,
    }


@pytest.mark.parametrize(
    ("survey_type", "kind", "score"),
    [("enps", "nps", 4), ("smileys", "csat", 1), ("ces", "ces", 2), ("five_star", "stars", 1)],
)
async def test_survey_type_picks_the_score_kind(
    survey_type: str, kind: str, score: int, context: AdapterContext
) -> None:
    body = with_event_data("promoter.json", survey_type=survey_type, score=score)
    response = await normalised(body, context)
    assert [(s.kind.value, s.value) for s in response.scores] == [(kind, float(score))]


async def test_survey_type_without_a_kind_is_placed_by_the_field_map(
    context: AdapterContext,
) -> None:
    body = with_event_data("promoter.json", survey_type="thumbs", score=0)
    assert (await normalised(body, context)).scores == []
    field_map = {"csat": {"from": "score", "min": 0, "max": 1}}
    response = await normalised(body, context, field_map)
    assert [(s.kind.value, s.value, s.scale_max) for s in response.scores] == [("csat", 0.0, 1.0)]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"event_type": "comment.created", "event_data": {"id": "1"}},
            "carries no survey response",
        ),
        ({"event_type": "survey_response.created"}, "no 'event_data' object"),
        ({"event_type": "survey_response.created", "event_data": {"score": 3}}, "no response id"),
    ],
)
async def test_payload_that_cannot_be_normalised_is_invalid(
    payload: dict[str, Any], message: str, context: AdapterContext
) -> None:
    with pytest.raises(InvalidPayload, match=message):
        await normalised(json.dumps(payload).encode(), context)


async def test_unsubscribe_is_skipped_not_dead_lettered(context: AdapterContext) -> None:
    payload = {"event_type": "unsubscribe.created", "event_data": {"person": {"id": "1"}}}
    with pytest.raises(NotASurveyResponse, match="no survey response"):
        await normalised(json.dumps(payload).encode(), context)


# --- through the real pipeline ---------------------------------------------------------------


async def post(pipeline: Pipeline, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await pipeline.http.post(
        f"{pipeline.ingest_url}/webhooks/{pipeline.source}", content=body, headers=headers
    )


async def test_created_then_updated_is_one_case_that_gains_the_comment(pipeline: Pipeline) -> None:
    created = fixture("detractor_created.json")
    assert (await post(pipeline, created, headers_for(created))).status_code == 202
    opened = await eventually(
        lambda: pipeline.pool.fetchrow("SELECT * FROM case_summaries WHERE response_id = '771204'")
    )
    assert opened is not None, "the created event opened no case"
    assert opened["comment"] is None and opened["seq"] == 1 and opened["priority"] == 1

    updated = fixture("detractor_updated.json")
    assert (await post(pipeline, updated, headers_for(updated, OLD_API_KEY))).status_code == 202

    revised = await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT * FROM case_summaries WHERE response_id = '771204' AND comment IS NOT NULL"
        )
    )
    assert revised is not None, "the updated event never reached the case"
    assert revised["case_id"] == opened["case_id"]
    assert revised["seq"] == 2
    assert revised["comment"].startswith("I was on hold for 40 minutes")
    assert [r["code"] for r in revised["reasons"]] == ["long_wait", "product_knowledge"]
    assert revised["follow_up_requested"] is True
    assert revised["customer"]["id"] == "C-88231"
    assert revised["interaction"]["agent"] == "Jules Moreau"
    assert await pipeline.pool.fetchval("SELECT count(*) FROM recovery_cases") == 1
    assert await pipeline.pool.fetchval("SELECT count(*) FROM survey_responses") == 1


async def test_promoter_is_stored_without_a_case(pipeline: Pipeline) -> None:
    body = fixture("promoter.json")

    assert (await post(pipeline, body, headers_for(body))).status_code == 202

    stored = await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT id, needs_recovery FROM survey_responses WHERE response_id = '771390'"
        )
    )
    assert stored is not None and stored["needs_recovery"] is False
    # The response and its case are written in one transaction: no case now means none at all.
    assert await pipeline.pool.fetchval("SELECT count(*) FROM recovery_cases") == 0


async def test_bad_signature_is_401(pipeline: Pipeline) -> None:
    body = fixture("promoter.json")
    answer = await post(pipeline, body, headers_for(body, "revoked-api-key"))
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"
