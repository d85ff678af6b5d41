"""Typeform beyond the shared contract (``test_vendor_contract.py``, kit in
``tests/vendor_kits/typeform.py``): its signature recipe, its header's format, and a response
without answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import pytest

from tests.vendor_kits.typeform import KIT, SECRET
from winback_ingest.vendors import SignatureError, Signed
from winback_ingest.vendors.typeform import TYPEFORM, sign
from winback_router.adapters import AdapterContext, normalise
from winback_shared.events.survey_received import SurveyReceived


def signed(body: bytes, headers: dict[str, str]) -> Signed:
    return Signed(headers=httpx.Headers(headers), body=body, now=time.time(), tolerance_seconds=300)


def test_signature_is_sha256_prefix_and_base64_hmac_of_the_raw_body() -> None:
    body = KIT.fixture("detractor.json")
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    assert sign(SECRET.encode(), body) == "sha256=" + base64.b64encode(digest).decode()


def test_reserialised_body_is_refused() -> None:
    body = KIT.fixture("promoter.json")
    same_json = json.dumps(json.loads(body)).encode()
    assert same_json != body and json.loads(same_json) == json.loads(body)
    headers = {"typeform-signature": sign(SECRET.encode(), body)}
    with pytest.raises(SignatureError, match="no signature matches"):
        TYPEFORM.authenticate(KIT.source(), signed(same_json, headers))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"typeform-signature": ""}, "header is required"),
        ({"typeform-signature": "c2lnbmF0dXJl"}, "'sha256=' followed by base64"),
        ({"typeform-signature": "sha1=c2lnbmF0dXJl"}, "'sha256=' followed by base64"),
    ],
)
def test_empty_or_malformed_header_is_refused(headers: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        TYPEFORM.authenticate(KIT.source(), signed(b"{}", headers))


async def test_response_without_answers_keeps_its_identity(context: AdapterContext) -> None:
    payload = json.loads(KIT.fixture("promoter.json"))
    payload["form_response"]["answers"] = None
    envelope = SurveyReceived(
        source="survey",
        vendor="typeform",
        content_type="application/json",
        body=json.dumps(payload),
    )
    response = await normalise(envelope, {"survey": KIT.source()}, context)
    assert response.response_id == "4e8a1c6f2b9d7e3a5c0f8b1d6e2a9c47"
    assert response.scores == [] and response.comment is None
    assert response.customer.id == "C-10442"
