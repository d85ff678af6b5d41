"""Formbricks beyond the shared contract (``test_vendor_contract.py``, kit in
``tests/vendor_kits/formbricks.py``): the Standard Webhooks recipe and retries, the "test
endpoint" ping, response metadata as locators, and created-then-finished deliveries of one
response.

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
from typing import Any

import httpx
import pytest

from tests.support import Pipeline, eventually
from tests.vendor_kits.formbricks import KIT, RESPONSE_ID
from winback_ingest.vendors.base import SignatureError, Signed
from winback_ingest.vendors.formbricks import FORMBRICKS
from winback_ingest.vendors.standard_webhooks import sign
from winback_local.signing import new_secret
from winback_router.adapters import AdapterContext, normalise
from winback_router.adapters.formbricks import formbricks_answers
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import Sources, decode_standard_webhooks_secret
from winback_shared.survey import SurveyResponse


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


def test_signature_is_v1_and_base64_hmac_of_id_timestamp_and_body() -> None:
    secret = new_secret()
    body = KIT.fixture("detractor_finished.json")
    headers = formbricks_headers(secret, body)
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    digest = hmac.new(decode_standard_webhooks_secret(secret), signed, hashlib.sha256)
    assert headers["webhook-signature"] == "v1," + base64.b64encode(digest.digest()).decode()


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp"])
def test_missing_id_or_timestamp_is_refused(missing: str) -> None:
    secret = new_secret()
    body = KIT.fixture("detractor_finished.json")
    headers = formbricks_headers(secret, body)
    del headers[missing]
    with pytest.raises(SignatureError, match="required"):
        FORMBRICKS.authenticate(KIT.source(secret), request(headers, body))


def test_retry_keeps_webhook_id_and_is_signed_again_with_a_new_timestamp() -> None:
    secret = new_secret()
    body = KIT.fixture("detractor_finished.json")
    first = formbricks_headers(secret, body, at=int(time.time()) - 120)
    retry = formbricks_headers(secret, body)
    assert first["webhook-id"] == retry["webhook-id"]
    assert first["webhook-signature"] != retry["webhook-signature"]
    source = KIT.source(secret)
    for headers in (first, retry):
        FORMBRICKS.authenticate(source, request(headers, body))
        delivery = FORMBRICKS.inspect(source, json.loads(body), request(headers, body))
        assert delivery.delivery_id == first["webhook-id"]


def test_test_endpoint_ping_has_no_response_key() -> None:
    ping = FORMBRICKS.inspect(KIT.source(), {"event": "testEndpoint"}, request({}, b"{}"))
    assert ping.response_key is None


# --- normalisation -------------------------------------------------------------------------


async def normalised(name: str, context: AdapterContext) -> SurveyResponse:
    envelope = SurveyReceived(
        source="fb",
        vendor="formbricks",
        content_type="application/json",
        body=KIT.fixture(name).decode(),
    )
    return await normalise(envelope, {"fb": KIT.source()}, context)


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


def test_answers_expose_response_metadata_under_dotted_locators() -> None:
    answers = formbricks_answers(json.loads(KIT.fixture("odd_updated.json"))["data"])

    assert answers["service_matrix.Friendliness"] == "Good"
    assert answers["response.language"] == "de"
    assert answers["response.meta.source"] == "app"
    assert answers["response.variables.score"] == 12
    assert answers["response.survey.title"] == "Quick check-in"
    assert answers["response.tags"] == ["vip"]
    assert answers["response.someFutureField.nested"] == ["1", "2", "3"]
    assert "response.ttc.stars" not in answers


# --- through the pipeline ------------------------------------------------------------------


@pytest.fixture
def sources(source_secret: str) -> Sources:
    """The pipeline's source ``survey`` is a Formbricks webhook signed with ``source_secret``."""
    return {"survey": KIT.source(source_secret)}


async def post(pipeline: Pipeline, name: str, msg_id: str) -> httpx.Response:
    body = KIT.fixture(name)
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
