"""Delighted beyond the shared contract (``test_vendor_contract.py``, kit in
``tests/vendor_kits/delighted.py``): its signature recipe and header format, survey types, and
created-then-updated deliveries merged into one case."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import pytest

from tests.support import Pipeline, eventually
from tests.vendor_kits.delighted import API_KEY, KIT, OLD_API_KEY
from winback_ingest.vendors import SignatureError, Signed
from winback_ingest.vendors.delighted import DELIGHTED, sign
from winback_router.adapters import AdapterContext, normalise
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import Sources
from winback_shared.survey import SurveyResponse


def signed(body: bytes, headers: dict[str, str]) -> Signed:
    return Signed(headers=httpx.Headers(headers), body=body, now=time.time(), tolerance_seconds=300)


@pytest.fixture
def sources() -> Sources:
    """The pipeline's source ``survey``: a Delighted project, mid key rotation."""
    return {"survey": KIT.source(*KIT.secrets)}


async def normalised(
    body: bytes, context: AdapterContext, field_map: dict[str, Any] | None = None
) -> SurveyResponse:
    """Normalised under ``field_map`` (none by default: Delighted's own fields only)."""
    envelope = SurveyReceived(
        source="survey", vendor="delighted", content_type="application/json", body=body.decode()
    )
    return await normalise(envelope, {"survey": KIT.source(field_map=field_map or {})}, context)


def with_event_data(name: str, **changes: Any) -> bytes:
    payload = json.loads(KIT.fixture(name))
    payload["event_data"].update(changes)
    return json.dumps(payload).encode()


# --- signature -------------------------------------------------------------------------------


def test_signature_is_sha256_prefix_and_hex_hmac_of_the_raw_body() -> None:
    body = KIT.fixture("detractor_created.json")
    digest = hmac.new(API_KEY.encode(), body, hashlib.sha256).hexdigest()
    assert sign(API_KEY.encode(), body) == f"sha256={digest}"


def test_upper_case_hex_verifies() -> None:
    body = KIT.fixture("promoter.json")
    header = "sha256=" + hmac.new(API_KEY.encode(), body, hashlib.sha256).hexdigest().upper()
    headers = {"x-delighted-webhook-signature": header}
    DELIGHTED.authenticate(KIT.source(), signed(body, headers))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"typeform-signature": "sha256=00"}, "header is required"),
        ({"x-delighted-webhook-signature": "00ff"}, "'sha256=' followed by hex"),
    ],
)
def test_another_vendors_or_a_malformed_header_is_refused(
    headers: dict[str, str], message: str
) -> None:
    with pytest.raises(SignatureError, match=message):
        DELIGHTED.authenticate(KIT.source(), signed(b"{}", headers))


# --- keys ------------------------------------------------------------------------------------


def test_created_and_updated_share_one_key_and_differ_in_delivery_id() -> None:
    deliveries = [
        DELIGHTED.inspect(KIT.source(), json.loads(KIT.fixture(name)), signed(b"", {}))
        for name in ("detractor_created.json", "detractor_updated.json")
    ]
    assert [d.response_key for d in deliveries] == ["771204", "771204"]
    assert deliveries[0].delivery_id != deliveries[1].delivery_id
    created = json.loads(KIT.fixture("detractor_created.json"))
    assert deliveries[0].delivery_id == created["event_id"]


# --- normalisation ---------------------------------------------------------------------------


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


# --- through the real pipeline ---------------------------------------------------------------


async def post(pipeline: Pipeline, name: str, key: str) -> httpx.Response:
    body, headers = KIT.post(name, key)
    return await pipeline.http.post(
        f"{pipeline.ingest_url}/webhooks/{pipeline.source}", content=body, headers=headers
    )


async def test_created_then_updated_is_one_case_that_gains_the_comment(pipeline: Pipeline) -> None:
    assert (await post(pipeline, "detractor_created.json", API_KEY)).status_code == 202
    opened = await eventually(
        lambda: pipeline.pool.fetchrow("SELECT * FROM case_summaries WHERE response_id = '771204'")
    )
    assert opened is not None, "the created event opened no case"
    assert opened["comment"] is None and opened["seq"] == 1 and opened["priority"] == 1

    assert (await post(pipeline, "detractor_updated.json", OLD_API_KEY)).status_code == 202

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
