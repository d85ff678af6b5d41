"""Formbricks: Standard Webhooks signatures, normalisation field by field, and the pipeline.

Fixtures in ``tests/data/formbricks`` follow Formbricks' documented payloads: one detractor's
``responseCreated`` (score only) and ``responseFinished`` (reasons, comment, follow-up), a
promoter, an odd partial ``responseUpdated`` (app survey, contact attributes, matrix answer,
skipped answers, a 1-10 rating, unknown fields) and the "test endpoint" ping.
"""

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
from winback_ingest.vendors.base import SignatureError, Signed
from winback_ingest.vendors.formbricks import FORMBRICKS
from winback_ingest.vendors.standard_webhooks import sign
from winback_local.signing import new_secret
from winback_router.adapters import AdapterContext, InvalidPayload, NotASurveyResponse, normalise
from winback_router.adapters.formbricks import formbricks_answers
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig, Sources, decode_standard_webhooks_secret
from winback_shared.survey import SurveyResponse

DATA = Path(__file__).parents[1] / "data" / "formbricks"
RESPONSE_ID = "cm4x8p2q5000308l7d0c2h1ab"


def raw(name: str) -> bytes:
    """A fixture's bytes exactly as stored: what gets signed and posted."""
    return (DATA / name).read_bytes()


def formbricks_source(*secrets: str, field_map: dict[str, Any] | None = None) -> SourceConfig:
    return SourceConfig.model_validate(
        {"vendor": "formbricks", "secrets": list(secrets), "field_map": field_map or {}}
    )


def formbricks_headers(
    secret: str, body: bytes, *, msg_id: str = "01936f4c-7a1e-7d2b-9c0e-5f1a2b3c4d5e", at: int = 0
) -> dict[str, str]:
    """Headers as Formbricks sends them; ``at`` defaults to now."""
    timestamp = at or int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(decode_standard_webhooks_secret(secret), msg_id, timestamp, body),
    }


def request(headers: dict[str, str], body: bytes) -> Signed:
    return Signed(headers=httpx.Headers(headers), body=body, now=time.time(), tolerance_seconds=300)


# --- signatures ----------------------------------------------------------------------------


def test_signature_from_the_webhook_secret_is_accepted() -> None:
    secret = new_secret()
    body = raw("detractor_finished.json")
    FORMBRICKS.authenticate(
        formbricks_source(secret), request(formbricks_headers(secret, body), body)
    )


def test_either_secret_is_accepted_while_rotating() -> None:
    old, new = new_secret(), new_secret()
    body = raw("promoter_finished.json")
    source = formbricks_source(old, new)
    for secret in (old, new):
        FORMBRICKS.authenticate(source, request(formbricks_headers(secret, body), body))


def test_signature_from_another_secret_is_refused() -> None:
    body = raw("detractor_finished.json")
    headers = formbricks_headers(new_secret(), body)
    with pytest.raises(SignatureError, match="no signature matches"):
        FORMBRICKS.authenticate(formbricks_source(new_secret()), request(headers, body))


def test_hex_encoded_signature_is_refused() -> None:
    secret = new_secret()
    body = raw("detractor_finished.json")
    headers = formbricks_headers(secret, body)
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    digest = hmac.new(decode_standard_webhooks_secret(secret), signed, hashlib.sha256)
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest.digest()).decode()
    headers["webhook-signature"] = "v1," + digest.hexdigest()
    with pytest.raises(SignatureError, match="no signature matches"):
        FORMBRICKS.authenticate(formbricks_source(secret), request(headers, body))


@pytest.mark.parametrize("age", [301, -301])
def test_timestamp_outside_five_minutes_is_refused(age: int) -> None:
    secret = new_secret()
    body = raw("detractor_finished.json")
    headers = formbricks_headers(secret, body, at=int(time.time()) - age)
    with pytest.raises(SignatureError, match="window"):
        FORMBRICKS.authenticate(formbricks_source(secret), request(headers, body))


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(missing: str) -> None:
    secret = new_secret()
    body = raw("detractor_finished.json")
    headers = formbricks_headers(secret, body)
    del headers[missing]
    with pytest.raises(SignatureError, match="required"):
        FORMBRICKS.authenticate(formbricks_source(secret), request(headers, body))


def test_changed_body_is_refused() -> None:
    secret = new_secret()
    body = raw("promoter_finished.json")
    headers = formbricks_headers(secret, body)
    tampered = body.replace(b'"nps": 10', b'"nps": 0')
    assert tampered != body
    with pytest.raises(SignatureError):
        FORMBRICKS.authenticate(formbricks_source(secret), request(headers, tampered))


def test_retry_keeps_webhook_id_and_is_signed_again_with_a_new_timestamp() -> None:
    secret = new_secret()
    body = raw("detractor_finished.json")
    first = formbricks_headers(secret, body, at=int(time.time()) - 120)
    retry = formbricks_headers(secret, body)
    assert first["webhook-id"] == retry["webhook-id"]
    assert first["webhook-signature"] != retry["webhook-signature"]
    source = formbricks_source(secret)
    for headers in (first, retry):
        FORMBRICKS.authenticate(source, request(headers, body))
        delivery = FORMBRICKS.inspect(source, json.loads(body), request(headers, body))
        assert delivery.delivery_id == first["webhook-id"]


def test_every_delivery_of_a_response_is_keyed_by_its_response_id() -> None:
    source = formbricks_source(new_secret())
    for name in ("detractor_created.json", "detractor_finished.json"):
        delivery = FORMBRICKS.inspect(source, json.loads(raw(name)), request({}, raw(name)))
        assert delivery.response_key == RESPONSE_ID
    ping = FORMBRICKS.inspect(source, {"event": "testEndpoint"}, request({}, b"{}"))
    assert ping.response_key is None


# --- normalisation -------------------------------------------------------------------------


async def normalised(
    name: str, context: AdapterContext, field_map: dict[str, Any] | None = None
) -> SurveyResponse:
    envelope = SurveyReceived(
        source="fb",
        vendor="formbricks",
        content_type="application/json",
        body=raw(name).decode(),
    )
    sources: Sources = {"fb": formbricks_source(new_secret(), field_map=field_map)}
    return await normalise(envelope, sources, context)


async def test_finished_detractor_is_normalised_field_by_field(context: AdapterContext) -> None:
    response = await normalised("detractor_finished.json", context)

    assert response.response_id == RESPONSE_ID
    assert response.survey_id == "cm4x7z1k0000008l7e6b0f9qd"
    assert response.submitted_at == datetime(2026, 11, 23, 9, 12, 41, 118000, tzinfo=UTC)
    assert [(s.kind.value, s.value, s.scale_min, s.scale_max) for s in response.scores] == [
        ("nps", 3, 0, 10)
    ]
    assert response.reasons == ["Long wait time", "Agent lacked product knowledge"]
    assert response.comment == (
        "I was on hold for forty minutes and then nobody could explain my new tariff."
    )
    assert response.follow_up_requested is True
    assert response.customer.id == "C-88231"
    assert response.customer.name == "Ana Ruiz"
    assert response.customer.email == "ana.ruiz@example.com"
    assert response.customer.phone == "+34 600 123 456"
    assert response.customer.segment is None
    assert response.interaction.id == "call-5521"
    assert response.interaction.channel == "phone"
    assert response.interaction.agent == "jmoreau"
    assert response.interaction.team == "Billing"
    assert (response.source, response.vendor) == ("fb", "formbricks")


async def test_created_delivery_carries_the_score_under_the_same_response_id(
    context: AdapterContext,
) -> None:
    created = await normalised("detractor_created.json", context)
    finished = await normalised("detractor_finished.json", context)

    assert created.response_id == finished.response_id == RESPONSE_ID
    assert created.submitted_at == finished.submitted_at
    # The vendor's clock orders the deliveries, whatever order they arrive in.
    assert created.updated_at == datetime(2026, 11, 23, 9, 12, 41, 118000, tzinfo=UTC)
    assert finished.updated_at == datetime(2026, 11, 23, 9, 14, 5, 402000, tzinfo=UTC)
    assert [(s.kind.value, s.value) for s in created.scores] == [("nps", 3)]
    assert created.reasons == []
    assert created.comment is None
    assert created.follow_up_requested is False
    assert created.customer == finished.customer
    assert created.interaction == finished.interaction


async def test_promoter_is_normalised(context: AdapterContext) -> None:
    response = await normalised("promoter_finished.json", context)

    assert response.response_id == "cm4x9c1rw000a08l7a2f3g4hj"
    assert [(s.kind.value, s.value) for s in response.scores] == [("nps", 10)]
    assert response.reasons == []
    assert response.comment == "Sam sorted it out in five minutes. Thank you!"
    assert response.follow_up_requested is False
    assert response.customer.id == "C-10442"
    assert response.customer.email is None
    assert response.interaction.channel == "chat"


async def test_odd_partial_response_with_the_defaults(context: AdapterContext) -> None:
    response = await normalised("odd_updated.json", context)

    assert response.response_id == "cm4xb5m2n000d08l7q1w2e3rt"
    assert [(s.kind.value, s.value, s.scale_max) for s in response.scores] == [("stars", 4, 5)]
    assert response.reasons == []
    assert response.comment is None
    assert response.customer.id is None
    assert response.customer.email is None


async def test_odd_partial_response_through_a_field_map(context: AdapterContext) -> None:
    field_map = {
        "stars": {"from": "stars", "min": 1, "max": 10},
        "reasons": ["reason", "service_matrix.Speed"],
        "customer_id": "response.contact.userId",
        "customer_email": "response.contactAttributes.email",
        "customer_segment": "response.contactAttributes.plan",
    }
    response = await normalised("odd_updated.json", context, field_map)

    assert [(s.kind.value, s.value, s.scale_min, s.scale_max) for s in response.scores] == [
        ("stars", 4, 1, 10)
    ]
    assert response.reasons == ["Poor"]
    assert response.customer.id == "u-20931"
    assert response.customer.email == "j.ng@example.org"
    assert response.customer.segment == "gold"
    assert response.interaction.agent is None


def test_answers_expose_response_metadata_under_dotted_locators() -> None:
    answers = formbricks_answers(json.loads(raw("odd_updated.json"))["data"])

    assert answers["service_matrix.Friendliness"] == "Good"
    assert answers["response.language"] == "de"
    assert answers["response.meta.source"] == "app"
    assert answers["response.variables.score"] == 12
    assert answers["response.survey.title"] == "Quick check-in"
    assert answers["response.tags"] == ["vip"]
    assert answers["response.someFutureField.nested"] == ["1", "2", "3"]
    assert "response.ttc.stars" not in answers


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"data": {"id": "r1", "data": {"nps": 2}}}', "names no 'event'"),
        ('{"event": "responseFinished"}', "no 'data' object"),
        ('{"event": "responseFinished", "data": {"id": "r1", "data": ["x"]}}', "not an object"),
        ('{"event": "responseFinished", "data": {"id": "r1", "data": {"nps": "great"}}}', "nps"),
        ('{"event": "responseFinished", "data": {"data": {"nps": 2}}}', "no response id"),
        ('{"event": "responseFinished", "data": {"id": "r1", "data": {"nps": 11}}}', "outside"),
        ("[1, 2]", "not a JSON object"),
    ],
)
async def test_what_cannot_be_normalised_is_refused_with_the_reason(
    body: str, message: str, context: AdapterContext
) -> None:
    envelope = SurveyReceived(
        source="fb", vendor="formbricks", content_type="application/json", body=body
    )
    with pytest.raises(InvalidPayload, match=message):
        await normalise(envelope, {"fb": formbricks_source(new_secret())}, context)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (raw("test_endpoint.json").decode(), "'test endpoint' request"),
        ('{"event": "responseDeleted", "data": {"id": "r1"}}', "'responseDeleted'"),
    ],
)
async def test_events_without_a_response_are_skipped_not_dead_lettered(
    body: str, message: str, context: AdapterContext
) -> None:
    envelope = SurveyReceived(
        source="fb", vendor="formbricks", content_type="application/json", body=body
    )
    with pytest.raises(NotASurveyResponse, match=message):
        await normalise(envelope, {"fb": formbricks_source(new_secret())}, context)


# --- through the pipeline ------------------------------------------------------------------


@pytest.fixture
def sources(source_secret: str) -> Sources:
    """The pipeline's source ``survey`` is a Formbricks webhook signed with ``source_secret``."""
    return {"survey": formbricks_source(source_secret)}


async def post(pipeline: Pipeline, name: str, msg_id: str) -> httpx.Response:
    body = raw(name)
    return await pipeline.http.post(
        f"{pipeline.ingest_url}/webhooks/{pipeline.source}",
        content=body,
        headers=formbricks_headers(pipeline.secret, body, msg_id=msg_id),
    )


async def stored(pipeline: Pipeline, response_id: str) -> Any:
    return await pipeline.pool.fetchrow(
        """SELECT r.id, r.revision, r.needs_recovery, r.comment, c.priority, c.seq,
                  (SELECT count(*) FROM recovery_cases k WHERE k.survey_response_id = r.id) AS cases
           FROM survey_responses r LEFT JOIN recovery_cases c ON c.survey_response_id = r.id
           WHERE r.source = $1 AND r.response_id = $2""",
        pipeline.source,
        response_id,
    )


async def test_created_then_finished_opens_one_case_and_revises_it(pipeline: Pipeline) -> None:
    created = await post(pipeline, "detractor_created.json", "msg_created")
    assert created.status_code == 202, created.text

    opened = await eventually(lambda: stored(pipeline, RESPONSE_ID), timeout=20)
    assert opened is not None
    assert (opened["needs_recovery"], opened["priority"], opened["cases"]) == (True, 1, 1)
    assert opened["comment"] is None

    finished = await post(pipeline, "detractor_finished.json", "msg_finished")
    assert finished.status_code == 202, finished.text

    async def revised() -> Any:
        row = await stored(pipeline, RESPONSE_ID)
        return row if row is not None and row["revision"] == 2 else None

    row = await eventually(revised, timeout=20)
    assert row is not None
    assert row["cases"] == 1
    assert row["comment"].startswith("I was on hold")
    assert row["seq"] >= 2
    codes = await pipeline.pool.fetchval(
        "SELECT reasons FROM case_summaries WHERE response_id = $1", RESPONSE_ID
    )
    assert {reason["code"] for reason in codes} >= {"long_wait", "product_knowledge"}


async def test_promoter_is_stored_without_a_case_and_its_retry_is_accepted(
    pipeline: Pipeline,
) -> None:
    first = await post(pipeline, "promoter_finished.json", "msg_promoter")
    retry = await post(pipeline, "promoter_finished.json", "msg_promoter")
    assert first.status_code == retry.status_code == 202

    row = await eventually(lambda: stored(pipeline, "cm4x9c1rw000a08l7a2f3g4hj"), timeout=20)
    assert row is not None
    assert (row["needs_recovery"], row["cases"], row["revision"]) == (False, 0, 1)


async def test_unsigned_delivery_is_refused_before_kafka(pipeline: Pipeline) -> None:
    answer = await pipeline.http.post(
        f"{pipeline.ingest_url}/webhooks/{pipeline.source}",
        content=raw("detractor_finished.json"),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"
