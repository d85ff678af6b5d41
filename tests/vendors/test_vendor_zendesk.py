"""Zendesk: timestamped signature in a replay window; an admin-written body read by paths."""

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
from winback_ingest.vendors.zendesk import DEFAULT_RESPONSE_KEY_PATH, ZENDESK, sign
from winback_router.adapters import AdapterContext, InvalidPayload, normalise
from winback_router.adapters.zendesk import DEFAULT_MAP
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig, Sources, Vendor
from winback_shared.survey import SurveyResponse

DATA = Path(__file__).parents[1] / "data" / "zendesk"
SECRET = "dGhpc19pc19hX3plbmRlc2tfdGVzdF9zZWNyZXQ="
OLD_SECRET = "b2xkX3plbmRlc2tfc2lnbmluZ19zZWNyZXQ="
NOW = 1795425245.0  # 2026-11-23T09:14:05Z
STAMP = "2026-11-23T09:14:05Z"

CUSTOM_BODY_MAP: dict[str, Any] = {
    "response_id": "ticket_id",
    "submitted_at": "rated_at",
    "csat": {
        "from": "rating.text",
        "min": 0,
        "max": 1,
        "values": {"Mauvais, je ne suis pas satisfait": 0, "Bon, je suis satisfait": 1},
    },
    "comment": ["rating.comment"],
    "reasons": ["contact_reason"],
    "customer_id": "customer.crm_id",
    "customer_name": "customer.full_name",
    "customer_email": "customer.email",
    "customer_phone": "customer.mobile",
    "customer_segment": "customer.tier",
    "interaction_id": "ticket_id",
    "interaction_agent": "handled_by.agent",
    "interaction_team": "handled_by.group",
}
"""An admin who wrote their own body (French account, a custom ticket field for the reason)."""


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def zendesk_source(*secrets: str, field_map: dict[str, Any] | None = None) -> SourceConfig:
    return SourceConfig.model_validate(
        {"vendor": "zendesk", "secrets": list(secrets), "field_map": field_map or {}}
    )


def headers_for(body: bytes, secret: str = SECRET, stamp: str = STAMP) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-zendesk-webhook-signature": sign(secret.encode(), stamp, body),
        "x-zendesk-webhook-signature-timestamp": stamp,
        "x-zendesk-webhook-invocation-id": "8350205582",
    }


def signed(body: bytes, headers: dict[str, str], now: float = NOW) -> Signed:
    return Signed(headers=httpx.Headers(headers), body=body, now=now, tolerance_seconds=300)


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def sources() -> Sources:
    """The pipeline's source ``survey``: a Zendesk trigger webhook using the documented body."""
    return {"survey": zendesk_source(SECRET, OLD_SECRET)}


async def normalised(
    body: bytes, context: AdapterContext, field_map: dict[str, Any] | None = None
) -> SurveyResponse:
    envelope = SurveyReceived(
        source="survey", vendor="zendesk", content_type="application/json", body=body.decode()
    )
    sources = {"survey": zendesk_source(SECRET, field_map=field_map)}
    return await normalise(envelope, sources, context)


# --- signature -------------------------------------------------------------------------------


def test_signature_is_base64_hmac_of_timestamp_then_body() -> None:
    body = fixture("bad_rating.json")
    digest = hmac.new(SECRET.encode(), STAMP.encode() + body, hashlib.sha256).digest()
    assert sign(SECRET.encode(), STAMP, body) == base64.b64encode(digest).decode()


def test_zendesk_sources_use_the_zendesk_intake() -> None:
    assert INTAKES[Vendor.ZENDESK] is ZENDESK


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
def test_any_configured_secret_verifies(secret: str) -> None:
    body = fixture("bad_rating.json")
    ZENDESK.authenticate(
        zendesk_source(SECRET, OLD_SECRET), signed(body, headers_for(body, secret))
    )


def test_signature_from_another_secret_is_refused() -> None:
    body = fixture("bad_rating.json")
    with pytest.raises(SignatureError, match="no signature matches"):
        ZENDESK.authenticate(zendesk_source(SECRET), signed(body, headers_for(body, "x" * 32)))


def test_body_signed_before_the_timestamp_is_refused() -> None:
    body = fixture("bad_rating.json")
    digest = hmac.new(SECRET.encode(), body + STAMP.encode(), hashlib.sha256).digest()
    headers = {
        **headers_for(body),
        "x-zendesk-webhook-signature": base64.b64encode(digest).decode(),
    }
    with pytest.raises(SignatureError, match="no signature matches"):
        ZENDESK.authenticate(zendesk_source(SECRET), signed(body, headers))


def test_hex_encoded_signature_is_refused() -> None:
    body = fixture("bad_rating.json")
    digest = hmac.new(SECRET.encode(), STAMP.encode() + body, hashlib.sha256).hexdigest()
    headers = {**headers_for(body), "x-zendesk-webhook-signature": digest}
    with pytest.raises(SignatureError, match="no signature matches"):
        ZENDESK.authenticate(zendesk_source(SECRET), signed(body, headers))


def test_changed_body_or_timestamp_is_refused() -> None:
    body = fixture("good_rating.json")
    headers = headers_for(body)
    with pytest.raises(SignatureError, match="no signature matches"):
        ZENDESK.authenticate(
            zendesk_source(SECRET), signed(body.replace(b"Good", b"Bad "), headers)
        )
    moved = {**headers, "x-zendesk-webhook-signature-timestamp": iso(NOW + 60)}
    with pytest.raises(SignatureError, match="no signature matches"):
        ZENDESK.authenticate(zendesk_source(SECRET), signed(body, moved))


@pytest.mark.parametrize("drift", [-301, 301, -86_400])
def test_timestamp_outside_the_replay_window_is_refused(drift: int) -> None:
    body = fixture("bad_rating.json")
    headers = headers_for(body, stamp=iso(NOW + drift))  # correctly signed, but stale or early
    with pytest.raises(SignatureError, match="outside the accepted window"):
        ZENDESK.authenticate(zendesk_source(SECRET), signed(body, headers))


@pytest.mark.parametrize("drift", [-299, 299])
def test_timestamp_inside_the_replay_window_verifies(drift: int) -> None:
    body = fixture("bad_rating.json")
    ZENDESK.authenticate(
        zendesk_source(SECRET), signed(body, headers_for(body, stamp=iso(NOW + drift)))
    )


def test_timestamp_with_an_offset_is_read_as_that_instant() -> None:
    body = fixture("bad_rating.json")
    ZENDESK.authenticate(
        zendesk_source(SECRET), signed(body, headers_for(body, stamp="2026-11-23T10:14:05+01:00"))
    )


@pytest.mark.parametrize(
    ("drop", "stamp", "message"),
    [
        ("x-zendesk-webhook-signature", STAMP, "are required"),
        ("x-zendesk-webhook-signature-timestamp", STAMP, "are required"),
        (None, str(int(NOW)), "must be ISO 8601"),
        (None, "2026-11-23 09:14:05", "must be ISO 8601"),
        (None, "2026-13-45T09:14:05Z", "not a valid time"),
    ],
)
def test_missing_header_or_malformed_timestamp_is_refused(
    drop: str | None, stamp: str, message: str
) -> None:
    body = fixture("bad_rating.json")
    headers = headers_for(body, stamp=stamp)
    if drop:
        headers.pop(drop)
    with pytest.raises(SignatureError, match=message):
        ZENDESK.authenticate(zendesk_source(SECRET), signed(body, headers))


# --- keys ------------------------------------------------------------------------------------


def test_ingest_and_router_default_to_the_same_response_id_path() -> None:
    assert DEFAULT_MAP.response_id == DEFAULT_RESPONSE_KEY_PATH


@pytest.mark.parametrize(
    ("name", "field_map", "key"),
    [
        ("bad_rating.json", None, "48213"),
        ("good_rating.json", None, "48377"),
        ("custom_body.json", CUSTOM_BODY_MAP, "48299"),
    ],
)
async def test_ingest_keys_by_the_id_the_router_stores(
    name: str, field_map: dict[str, Any] | None, key: str, context: AdapterContext
) -> None:
    body = fixture(name)
    source = zendesk_source(SECRET, field_map=field_map)
    delivery = ZENDESK.inspect(source, json.loads(body), signed(body, headers_for(body)))
    assert delivery.response_key == key
    assert (await normalised(body, context, field_map)).response_id == key
    assert delivery.delivery_id == "8350205582"


# --- normalisation ---------------------------------------------------------------------------


async def test_bad_rating_is_normalised_field_by_field(context: AdapterContext) -> None:
    response = await normalised(fixture("bad_rating.json"), context)

    assert response.response_id == "48213"
    assert response.survey_id is None
    assert response.submitted_at == datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC)
    assert [s.model_dump(mode="json") for s in response.scores] == [
        {"kind": "csat", "value": 0.0, "scale_min": 0.0, "scale_max": 1.0}
    ]
    assert response.comment == "Two calls and my refund still is not there. Nobody called back."
    assert response.reasons == [] and response.follow_up_requested is False
    assert response.customer.model_dump() == {
        "id": "C-88231",
        "name": "Ana Ruiz",
        "email": "ana.ruiz@example.com",
        "phone": "+34 600 123 456",
        "segment": None,
        "lifetime_value": None,
    }
    assert response.interaction.model_dump() == {
        "id": "48213",
        "channel": "Phone call (incoming)",
        "agent": "Jules Moreau",
        "team": "Billing T2",
    }


async def test_good_rating_with_empty_placeholders(context: AdapterContext) -> None:
    response = await normalised(fixture("good_rating.json"), context)

    assert [(s.kind.value, s.value) for s in response.scores] == [("csat", 1.0)]
    assert response.comment is None  # an empty placeholder is no comment
    assert response.customer.id is None and response.customer.phone is None
    assert response.customer.email == "m.chen@example.net"
    assert response.interaction.channel == "Chat"


@pytest.mark.parametrize(("rating", "value"), [("bad", 0.0), ("GOOD", 1.0), ("", None)])
async def test_rating_scores_and_texts_map_to_the_binary_scale(
    rating: str, value: float | None, context: AdapterContext
) -> None:
    payload = json.loads(fixture("bad_rating.json"))
    payload["satisfaction"]["rating"] = rating
    response = await normalised(json.dumps(payload).encode(), context)
    assert [s.value for s in response.scores] == ([] if value is None else [value])


async def test_admin_written_body_is_read_through_the_field_map(context: AdapterContext) -> None:
    response = await normalised(fixture("custom_body.json"), context, CUSTOM_BODY_MAP)

    assert response.response_id == "48299"  # a number in the body
    assert response.submitted_at == datetime(2026, 11, 23, 7, 55, 31, tzinfo=UTC)
    assert [s.model_dump(mode="json") for s in response.scores] == [
        {"kind": "csat", "value": 0.0, "scale_min": 0.0, "scale_max": 1.0}
    ]
    assert response.comment == "On m'a transféré trois fois."
    assert response.reasons == ["transferred"]
    assert response.customer.model_dump() == {
        "id": "FR-20931",
        "name": "Claire Dubois",
        "email": None,
        "phone": "+33 6 12 34 56 78",
        "segment": "gold",
        "lifetime_value": None,
    }
    assert response.interaction.model_dump() == {
        "id": "48299",
        "channel": None,
        "agent": "Nadia Benali",
        "team": "Facturation",
    }


async def test_rating_text_missing_from_values_is_invalid_and_says_so(
    context: AdapterContext,
) -> None:
    payload = json.loads(fixture("bad_rating.json"))
    payload["satisfaction"]["rating"] = "Schlecht, ich bin unzufrieden"
    with pytest.raises(InvalidPayload, match="not in the field map's 'values'"):
        await normalised(json.dumps(payload).encode(), context)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[1, 2]", "not a JSON object"),
        (b"not json", "not JSON"),
        (b'{"satisfaction": {"rating": "bad"}}', "no response id"),
    ],
)
async def test_body_that_cannot_be_normalised_is_invalid(
    body: bytes, message: str, context: AdapterContext
) -> None:
    with pytest.raises(InvalidPayload, match=message):
        await normalised(body, context)


# --- through the real pipeline ---------------------------------------------------------------


async def post(pipeline: Pipeline, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await pipeline.http.post(
        f"{pipeline.ingest_url}/webhooks/{pipeline.source}", content=body, headers=headers
    )


async def test_bad_rating_becomes_a_case(pipeline: Pipeline) -> None:
    body = fixture("bad_rating.json")

    answer = await post(pipeline, body, headers_for(body, OLD_SECRET, stamp=iso(time.time())))

    assert answer.status_code == 202, answer.text
    case = await eventually(
        lambda: pipeline.pool.fetchrow("SELECT * FROM case_summaries WHERE response_id = '48213'")
    )
    assert case is not None, "no case was opened"
    assert case["priority"] == 1
    assert case["scores"] == [{"kind": "csat", "value": 0.0, "scale_min": 0.0, "scale_max": 1.0}]
    assert case["comment"].startswith("Two calls")
    assert case["customer"]["phone"] == "+34 600 123 456"
    assert case["interaction"]["team"] == "Billing T2"


async def test_good_rating_is_stored_without_a_case(pipeline: Pipeline) -> None:
    body = fixture("good_rating.json")

    assert (
        await post(pipeline, body, headers_for(body, stamp=iso(time.time())))
    ).status_code == 202

    stored = await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT id, needs_recovery FROM survey_responses WHERE response_id = '48377'"
        )
    )
    assert stored is not None and stored["needs_recovery"] is False
    # The response and its case are written in one transaction: no case now means none at all.
    assert await pipeline.pool.fetchval("SELECT count(*) FROM recovery_cases") == 0


async def test_stale_delivery_is_401(pipeline: Pipeline) -> None:
    body = fixture("bad_rating.json")
    answer = await post(pipeline, body, headers_for(body, stamp=iso(time.time() - 3600)))
    assert answer.status_code == 401
    assert "window" in answer.json()["error"]["message"]
