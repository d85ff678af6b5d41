"""Typeform: ``Typeform-Signature`` over the raw body, answers by ref, through the real pipeline."""

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
from winback_ingest.vendors.typeform import TYPEFORM, sign
from winback_router.adapters import AdapterContext, InvalidPayload, normalise
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig, Sources, Vendor
from winback_shared.survey import SurveyResponse

DATA = Path(__file__).parents[1] / "data" / "typeform"
SECRET = "tf_live_7c2e9a4f1b8d3e6a"
OLD_SECRET = "tf_live_0a5d8c3f6e1b9d2c"


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def typeform_source(*secrets: str, field_map: dict[str, Any] | None = None) -> SourceConfig:
    return SourceConfig.model_validate(
        {"vendor": "typeform", "secrets": list(secrets), "field_map": field_map or {}}
    )


def headers_for(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"content-type": "application/json", "typeform-signature": sign(secret.encode(), body)}


def signed(body: bytes, headers: dict[str, str]) -> Signed:
    return Signed(headers=httpx.Headers(headers), body=body, now=time.time(), tolerance_seconds=300)


@pytest.fixture
def sources() -> Sources:
    """The pipeline's source ``survey`` is a Typeform webhook accepting two rotated secrets."""
    return {"survey": typeform_source(SECRET, OLD_SECRET)}


async def normalised(
    body: bytes, context: AdapterContext, field_map: dict[str, Any] | None = None
) -> SurveyResponse:
    envelope = SurveyReceived(
        source="survey", vendor="typeform", content_type="application/json", body=body.decode()
    )
    return await normalise(
        envelope, {"survey": typeform_source(SECRET, field_map=field_map)}, context
    )


# --- signature -------------------------------------------------------------------------------


def test_signature_is_sha256_prefix_and_base64_hmac_of_the_raw_body() -> None:
    body = fixture("detractor.json")
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    assert sign(SECRET.encode(), body) == "sha256=" + base64.b64encode(digest).decode()


def test_typeform_sources_use_the_typeform_intake() -> None:
    assert INTAKES[Vendor.TYPEFORM] is TYPEFORM


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
def test_any_configured_secret_verifies(secret: str) -> None:
    body = fixture("detractor.json")
    TYPEFORM.authenticate(
        typeform_source(SECRET, OLD_SECRET), signed(body, headers_for(body, secret))
    )


def test_signature_from_another_secret_is_refused() -> None:
    body = fixture("detractor.json")
    with pytest.raises(SignatureError, match="no signature matches"):
        TYPEFORM.authenticate(
            typeform_source(SECRET), signed(body, headers_for(body, "someone-elses-secret"))
        )


def test_reserialised_body_is_refused() -> None:
    body = fixture("promoter.json")
    same_json = json.dumps(json.loads(body)).encode()
    assert same_json != body and json.loads(same_json) == json.loads(body)
    with pytest.raises(SignatureError, match="no signature matches"):
        TYPEFORM.authenticate(typeform_source(SECRET), signed(same_json, headers_for(body)))


def test_hex_encoded_signature_is_refused() -> None:
    body = fixture("detractor.json")
    hex_digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"typeform-signature": f"sha256={hex_digest}"}
    with pytest.raises(SignatureError, match="no signature matches"):
        TYPEFORM.authenticate(typeform_source(SECRET), signed(body, headers))


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "header is required"),
        ({"typeform-signature": ""}, "header is required"),
        ({"typeform-signature": "c2lnbmF0dXJl"}, "'sha256=' followed by base64"),
        ({"typeform-signature": "sha1=c2lnbmF0dXJl"}, "'sha256=' followed by base64"),
    ],
)
def test_missing_or_malformed_header_is_refused(headers: dict[str, str], message: str) -> None:
    with pytest.raises(SignatureError, match=message):
        TYPEFORM.authenticate(typeform_source(SECRET), signed(b"{}", headers))


# --- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["detractor.json", "promoter.json", "odd.json"])
async def test_ingest_keys_by_the_id_the_router_stores(name: str, context: AdapterContext) -> None:
    body = fixture(name)
    delivery = TYPEFORM.inspect(
        typeform_source(SECRET), json.loads(body), signed(body, headers_for(body))
    )
    assert delivery.response_key == (await normalised(body, context)).response_id
    assert delivery.delivery_id == json.loads(body)["event_id"]


# --- normalisation ---------------------------------------------------------------------------


async def test_detractor_is_normalised_field_by_field(context: AdapterContext) -> None:
    response = await normalised(fixture("detractor.json"), context)

    assert response.response_id == "9f3c2a71d0b84e6c5a1f7d2e8b4c6a90"
    assert response.survey_id == "Hq7RkP2x"
    assert response.submitted_at == datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC)
    assert response.source == "survey" and response.vendor == "typeform"
    assert response.customer.model_dump() == {
        "id": "C-88231",
        "name": "Ana Ruiz",
        "email": "ana.ruiz@example.com",  # typed into the email question
        "phone": "+34 600 123 456",  # no phone question: the hidden field
        "segment": None,
        "lifetime_value": None,
    }
    assert response.interaction.model_dump() == {
        "id": "call-5521",
        "channel": "phone",
        "agent": "jmoreau",
        "team": "Billing T2",
    }
    assert [s.model_dump(mode="json") for s in response.scores] == [
        {"kind": "nps", "value": 2.0, "scale_min": 0.0, "scale_max": 10.0}
    ]
    assert response.reasons == ["Agent lacked product knowledge", "Long wait time"]
    assert response.comment == (
        "I was on hold for 40 minutes and then nobody could explain why my plan changed."
    )
    assert response.follow_up_requested is True


async def test_promoter_is_normalised(context: AdapterContext) -> None:
    response = await normalised(fixture("promoter.json"), context)

    assert response.response_id == "4e8a1c6f2b9d7e3a5c0f8b1d6e2a9c47"
    assert [(s.kind.value, s.value) for s in response.scores] == [("nps", 10.0)]
    assert response.reasons == []
    assert response.comment == "Sam sorted it out in five minutes. Brilliant."
    assert response.follow_up_requested is False
    assert response.customer.id == "C-10442"
    assert response.customer.email is None and response.customer.phone is None
    assert (response.interaction.agent, response.interaction.team) == ("sokafor", "Retention")


async def test_odd_survey_is_placed_by_its_field_map(context: AdapterContext) -> None:
    field_map = {
        "csat": {"from": "satisfaction", "min": 1, "max": 5},
        "reasons": ["Ee5Ff6Gg7Hh8"],  # a question id works as well as its ref
        "interaction_channel": "hidden.utm_source",
        "interaction_id": "delivery_date",
    }
    response = await normalised(fixture("odd.json"), context, field_map)

    assert [s.model_dump(mode="json") for s in response.scores] == [
        {"kind": "csat", "value": 1.0, "scale_min": 1.0, "scale_max": 5.0}
    ]
    assert response.reasons == ["Parcel left in the rain"]  # the "Other" text
    assert response.customer.phone == "+447700900123"  # typed into the phone question
    assert response.customer.email is None
    assert response.customer.id == "C-55017"  # the default still applies where not overridden
    assert response.interaction.channel == "sms"
    assert response.interaction.id == "2026-11-22"
    assert response.comment is None and response.follow_up_requested is False


async def test_variables_and_the_calculated_score_are_locators(context: AdapterContext) -> None:
    field_map = {"customer_segment": "variables.segment", "customer_value": "calculated.score"}
    response = await normalised(fixture("detractor.json"), context, field_map)
    assert response.customer.segment == "gold"
    assert response.customer.lifetime_value == 0.0


async def test_response_without_answers_keeps_its_identity(context: AdapterContext) -> None:
    payload = json.loads(fixture("promoter.json"))
    payload["form_response"]["answers"] = None
    response = await normalised(json.dumps(payload).encode(), context)
    assert response.response_id == "4e8a1c6f2b9d7e3a5c0f8b1d6e2a9c47"
    assert response.scores == [] and response.comment is None
    assert response.customer.id == "C-10442"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p.pop("form_response"), "no 'form_response' object"),
        (lambda p: p["form_response"].pop("token"), "no response id"),
        (lambda p: p["form_response"].update(answers={"a": 1}), "is not a list"),
    ],
)
async def test_payload_that_cannot_be_normalised_is_invalid(
    change: Any, message: str, context: AdapterContext
) -> None:
    payload = json.loads(fixture("promoter.json"))
    change(payload)
    with pytest.raises(InvalidPayload, match=message):
        await normalised(json.dumps(payload).encode(), context)


# --- through the real pipeline ---------------------------------------------------------------


async def post(pipeline: Pipeline, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await pipeline.http.post(
        f"{pipeline.ingest_url}/webhooks/{pipeline.source}", content=body, headers=headers
    )


async def test_detractor_becomes_a_case(pipeline: Pipeline) -> None:
    body = fixture("detractor.json")

    answer = await post(pipeline, body, headers_for(body, OLD_SECRET))

    assert answer.status_code == 202, answer.text
    case = await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT * FROM case_summaries WHERE response_id = $1",
            "9f3c2a71d0b84e6c5a1f7d2e8b4c6a90",
        )
    )
    assert case is not None, "no case was opened"
    assert case["source"] == "survey" and case["status"] == "open"
    assert case["priority"] == 1
    assert [r["code"] for r in case["reasons"]] == ["product_knowledge", "long_wait"]
    assert case["customer"]["phone"] == "+34 600 123 456"
    assert case["interaction"]["agent"] == "jmoreau"
    assert case["follow_up_requested"] is True
    assert case["comment"].startswith("I was on hold")


async def test_promoter_is_stored_without_a_case(pipeline: Pipeline) -> None:
    body = fixture("promoter.json")

    assert (await post(pipeline, body, headers_for(body))).status_code == 202

    stored = await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT id, needs_recovery FROM survey_responses WHERE response_id = $1",
            "4e8a1c6f2b9d7e3a5c0f8b1d6e2a9c47",
        )
    )
    assert stored is not None and stored["needs_recovery"] is False
    # The response and its case are written in one transaction: no case now means none at all.
    cases = await pipeline.pool.fetchval(
        "SELECT count(*) FROM recovery_cases WHERE survey_response_id = $1", stored["id"]
    )
    assert cases == 0


async def test_bad_signature_is_401_never_404(pipeline: Pipeline) -> None:
    body = fixture("detractor.json")
    answer = await post(pipeline, body, headers_for(body, "not-the-configured-secret"))
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"
