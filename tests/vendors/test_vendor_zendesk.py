"""Zendesk beyond the shared contract (``test_vendor_contract.py``, kit in
``tests/vendor_kits/zendesk.py``): its signature recipe over timestamp then body, how it writes
that timestamp, and how a rating reads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest

from tests.vendor_kits.zendesk import KIT, SECRET
from winback_ingest.vendors import SignatureError, Signed
from winback_ingest.vendors.zendesk import DEFAULT_RESPONSE_KEY_PATH, ZENDESK, sign
from winback_router.adapters import AdapterContext, normalise
from winback_router.adapters.zendesk import DEFAULT_MAP
from winback_shared.events.survey_received import SurveyReceived

NOW = 1795425245.0  # 2026-11-23T09:14:05Z
STAMP = "2026-11-23T09:14:05Z"


def headers_for(body: bytes, secret: str = SECRET, stamp: str = STAMP) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-zendesk-webhook-signature": sign(secret.encode(), stamp, body),
        "x-zendesk-webhook-signature-timestamp": stamp,
    }


def signed(body: bytes, headers: dict[str, str], now: float = NOW) -> Signed:
    return Signed(headers=httpx.Headers(headers), body=body, now=now, tolerance_seconds=300)


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- signature -------------------------------------------------------------------------------


def test_signature_is_base64_hmac_of_timestamp_then_body() -> None:
    body = KIT.fixture("bad_rating.json")
    digest = hmac.new(SECRET.encode(), STAMP.encode() + body, hashlib.sha256).digest()
    assert sign(SECRET.encode(), STAMP, body) == base64.b64encode(digest).decode()


def test_body_signed_before_the_timestamp_is_refused() -> None:
    body = KIT.fixture("bad_rating.json")
    digest = hmac.new(SECRET.encode(), body + STAMP.encode(), hashlib.sha256).digest()
    headers = {
        **headers_for(body),
        "x-zendesk-webhook-signature": base64.b64encode(digest).decode(),
    }
    with pytest.raises(SignatureError, match="no signature matches"):
        ZENDESK.authenticate(KIT.source(), signed(body, headers))


def test_timestamp_moved_after_signing_is_refused() -> None:
    body = KIT.fixture("good_rating.json")
    moved = {**headers_for(body), "x-zendesk-webhook-signature-timestamp": iso(NOW + 60)}
    with pytest.raises(SignatureError, match="no signature matches"):
        ZENDESK.authenticate(KIT.source(), signed(body, moved))


def test_timestamp_with_an_offset_is_read_as_that_instant() -> None:
    body = KIT.fixture("bad_rating.json")
    ZENDESK.authenticate(
        KIT.source(), signed(body, headers_for(body, stamp="2026-11-23T10:14:05+01:00"))
    )


@pytest.mark.parametrize(
    ("drop", "stamp", "message"),
    [
        ("x-zendesk-webhook-signature-timestamp", STAMP, "are required"),
        (None, str(int(NOW)), "must be ISO 8601"),
        (None, "2026-11-23 09:14:05", "must be ISO 8601"),
        (None, "2026-13-45T09:14:05Z", "not a valid time"),
    ],
)
def test_missing_or_malformed_timestamp_is_refused(
    drop: str | None, stamp: str, message: str
) -> None:
    body = KIT.fixture("bad_rating.json")
    headers = headers_for(body, stamp=stamp)
    if drop:
        headers.pop(drop)
    with pytest.raises(SignatureError, match=message):
        ZENDESK.authenticate(KIT.source(), signed(body, headers))


# --- keys ------------------------------------------------------------------------------------


def test_ingest_and_router_default_to_the_same_response_id_path() -> None:
    assert DEFAULT_MAP.response_id == DEFAULT_RESPONSE_KEY_PATH


# --- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("rating", "value"), [("bad", 0.0), ("GOOD", 1.0), ("", None)])
async def test_rating_scores_and_texts_map_to_the_binary_scale(
    rating: str, value: float | None, context: AdapterContext
) -> None:
    payload = json.loads(KIT.fixture("bad_rating.json"))
    payload["satisfaction"]["rating"] = rating
    envelope = SurveyReceived(
        source="survey", vendor="zendesk", content_type="application/json", body=json.dumps(payload)
    )
    response = await normalise(envelope, {"survey": KIT.source()}, context)
    assert [s.value for s in response.scores] == ([] if value is None else [value])
