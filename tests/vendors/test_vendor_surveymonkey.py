"""SurveyMonkey: ``Sm-Signature``, the HEAD check, fetching responses, and the pipeline.

SurveyMonkey's callback carries only ids, so the router reads the response and the survey
definition from the API; here a local server (``tests.vendor_api_fakes.FakeSurveyMonkey``)
answers those paths with the documented shapes. Fixtures in ``tests/data/surveymonkey``: the
survey definition (NPS, reasons with "Other", comment, follow-up, star rating, contact
information), a detractor, a promoter, an odd partial response (``response_updated``, "Other"
text only, a question the definition lacks, empty custom variables), and their callbacks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Pipeline, eventually
from tests.vendor_api_fakes import FakeSurveyMonkey, ingest_on_kafka, running
from winback_ingest.vendors.base import SignatureError, Signed
from winback_ingest.vendors.surveymonkey import SURVEYMONKEY, sign
from winback_router.adapters import AdapterContext, InvalidPayload, NotASurveyResponse, normalise
from winback_router.adapters.surveymonkey import SurveyMonkeyAdapter
from winback_router.adapters.vendor_api import VendorUnavailable
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig, Sources
from winback_shared.survey import SurveyResponse

DATA = Path(__file__).parents[1] / "data" / "surveymonkey"
SECRET = "4f9aC2xT9zK1wQe&c41f0e8d9a2b7c6f5e4d3b2a1"
"""``{api_key}&{api_secret}`` of the SurveyMonkey app that owns the webhook."""
OLD_SECRET = "oldClientId01&0f1e2d3c4b5a69788796a5b4"
TOKEN_ENV = "WINBACK_TEST_SURVEYMONKEY_TOKEN"
TOKEN = "sm-access-token-2c9f41"
SURVEY_ID = "405812337"
DETAILS = f"/v3/surveys/{SURVEY_ID}/details"
FIELD_MAP = {
    "nps": "187654321",
    "stars": "187654325",
    "reasons": ["187654322"],
    "comment": ["187654323"],
    "follow_up": "187654324",
    "customer_name": "187654326.name",
    "customer_phone": "187654326.phone",
}


def raw(name: str) -> bytes:
    return (DATA / name).read_bytes()


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(raw(name))
    return loaded


def response_path(response_id: str) -> str:
    return f"/v3/surveys/{SURVEY_ID}/responses/{response_id}/details"


def sm_source(
    api_url: str = "http://127.0.0.1:9", *secrets: str, field_map: dict[str, Any] | None = None
) -> SourceConfig:
    return SourceConfig.model_validate(
        {
            "vendor": "surveymonkey",
            "secrets": list(secrets) or [SECRET],
            "field_map": FIELD_MAP if field_map is None else field_map,
            "api": {"base_url": api_url, "token_env": TOKEN_ENV, "timeout_seconds": 5},
        }
    )


def request(body: bytes, signature: str | None) -> Signed:
    headers = {} if signature is None else {"Sm-Signature": signature}
    return Signed(headers=httpx.Headers(headers), body=body, now=time.time(), tolerance_seconds=300)


# --- signatures ----------------------------------------------------------------------------


def test_signature_matches_surveymonkeys_documented_recipe() -> None:
    body = raw("callback_detractor.json")
    expected = hmac.new(SECRET.encode("ascii"), body, hashlib.sha1).digest()
    assert sign(SECRET.encode(), body) == base64.b64encode(expected).decode()


def test_signed_callback_is_accepted() -> None:
    body = raw("callback_detractor.json")
    SURVEYMONKEY.authenticate(sm_source(), request(body, sign(SECRET.encode(), body)))


def test_either_app_secret_is_accepted_while_rotating() -> None:
    body = raw("callback_promoter.json")
    source = sm_source("http://127.0.0.1:9", OLD_SECRET, SECRET)
    for secret in (OLD_SECRET, SECRET):
        SURVEYMONKEY.authenticate(source, request(body, sign(secret.encode(), body)))


def test_signature_from_another_app_is_refused() -> None:
    body = raw("callback_detractor.json")
    with pytest.raises(SignatureError, match="does not match"):
        SURVEYMONKEY.authenticate(sm_source(), request(body, sign(OLD_SECRET.encode(), body)))


def test_hex_encoded_signature_is_refused() -> None:
    body = raw("callback_detractor.json")
    hex_digest = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    with pytest.raises(SignatureError, match="does not match"):
        SURVEYMONKEY.authenticate(sm_source(), request(body, hex_digest))


def test_sha256_signature_is_refused() -> None:
    body = raw("callback_detractor.json")
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    with pytest.raises(SignatureError):
        SURVEYMONKEY.authenticate(sm_source(), request(body, base64.b64encode(digest).decode()))


def test_missing_signature_is_refused() -> None:
    with pytest.raises(SignatureError, match="required"):
        SURVEYMONKEY.authenticate(sm_source(), request(raw("callback_detractor.json"), None))


def test_changed_body_is_refused() -> None:
    body = raw("callback_detractor.json")
    signature = sign(SECRET.encode(), body)
    tampered = body.replace(b"114875963501", b"114875963502")
    with pytest.raises(SignatureError):
        SURVEYMONKEY.authenticate(sm_source(), request(tampered, signature))


def test_callback_is_keyed_by_its_response_id() -> None:
    body = raw("callback_detractor.json")
    delivery = SURVEYMONKEY.inspect(sm_source(), json.loads(body), request(body, None))
    assert (delivery.response_key, delivery.delivery_id) == ("114875963501", "10390187224")


# --- ingest over HTTP, on the real broker ----------------------------------------------------


async def test_subscription_url_answers_head_with_200(infra_env: dict[str, object]) -> None:
    async with ingest_on_kafka(infra_env, {"sm": sm_source()}) as (client, _):
        known = await client.head("/webhooks/sm")
        unknown = await client.head("/webhooks/nobody")
    assert known.status_code == 200
    assert unknown.status_code == 404


async def test_signed_callback_is_published_keyed_by_response_id(
    infra_env: dict[str, object],
) -> None:
    body = raw("callback_detractor.json")
    headers = {
        "content-type": "application/vnd.surveymonkey.response.v1+json",
        "sm-apikey": SECRET.split("&")[0],
        "sm-signature": sign(SECRET.encode(), body),
    }
    async with ingest_on_kafka(infra_env, {"sm": sm_source()}) as (client, published):
        accepted = await client.post("/webhooks/sm", content=body, headers=headers)
        refused = await client.post(
            "/webhooks/sm", content=body, headers={**headers, "sm-signature": "bm90LWl0"}
        )
    assert accepted.status_code == 202, accepted.text
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "bad_signature"
    [(envelope, key)] = await published()
    assert key == "sm:114875963501"  # Kafka keys are source-qualified
    assert envelope.body.encode() == body
    assert (envelope.vendor, envelope.delivery_id) == ("surveymonkey", "10390187224")


# --- fetching and normalising --------------------------------------------------------------


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeSurveyMonkey]:
    """A local SurveyMonkey API serving the fixture survey and responses."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    fake = FakeSurveyMonkey(TOKEN)
    fake.add_survey(load("survey_details.json"))
    for name in ("response_detractor.json", "response_promoter.json", "response_odd.json"):
        fake.add_response(load(name))
    async with running(fake):
        yield fake


def envelope_of(callback: str | bytes) -> SurveyReceived:
    body = raw(callback).decode() if isinstance(callback, str) else callback.decode()
    return SurveyReceived(
        source="sm", vendor="surveymonkey", content_type="application/json", body=body
    )


async def normalised(
    callback: str,
    api: FakeSurveyMonkey,
    context: AdapterContext,
    field_map: dict[str, Any] | None = None,
) -> SurveyResponse:
    sources: Sources = {"sm": sm_source(api.url, field_map=field_map)}
    return await normalise(envelope_of(callback), sources, context)


async def test_detractor_is_fetched_and_normalised_field_by_field(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    response = await normalised("callback_detractor.json", api, context)

    assert response.response_id == "114875963501"
    assert response.survey_id == SURVEY_ID
    assert response.submitted_at == datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC)
    assert [(s.kind.value, s.value, s.scale_min, s.scale_max) for s in response.scores] == [
        ("nps", 2, 0, 10),
        ("stars", 1, 1, 5),
    ]
    assert response.reasons == [
        "Long wait time",
        "Agent lacked product knowledge",
        "Nobody called back as promised",
    ]
    assert response.comment == (
        "I was on hold for forty minutes and the agent could not explain my new tariff."
    )
    assert response.follow_up_requested is True
    assert response.customer.id == "C-88231"
    assert response.customer.name == "Ana Ruiz"
    assert response.customer.email == "ana.ruiz@example.com"
    assert response.customer.phone == "+34 600 123 456"
    assert response.interaction.id == "call-5521"
    assert response.interaction.channel == "phone"
    assert response.interaction.agent == "jmoreau"
    assert response.interaction.team == "Billing"
    assert api.hits[response_path("114875963501")] == 1


async def test_promoter_is_normalised(api: FakeSurveyMonkey, context: AdapterContext) -> None:
    response = await normalised("callback_promoter.json", api, context)

    assert response.response_id == "114875963777"
    assert [(s.kind.value, s.value) for s in response.scores] == [("nps", 10), ("stars", 5)]
    assert response.reasons == []
    assert response.comment == "Sam sorted it out in five minutes."
    assert response.follow_up_requested is False
    assert response.customer.email is None
    assert response.interaction.team == "Retention"


async def test_odd_partial_response_is_normalised(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    field_map = {**FIELD_MAP, "customer_email": "187654326.email", "comment": ["187654399"]}
    response = await normalised("callback_odd.json", api, context, field_map)

    assert response.response_id == "114875964002"
    assert [(s.kind.value, s.value) for s in response.scores] == [("stars", 2)]
    assert response.reasons == ["The app logged me out twice"]
    assert response.comment == "a question added after this survey was cached"
    assert response.follow_up_requested is False
    assert response.customer.id == "C-77310"
    assert response.customer.email == "j.ng@example.org"
    assert response.interaction.agent is None


async def test_without_a_field_map_only_ids_and_custom_variables_are_known(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    response = await normalised("callback_detractor.json", api, context, field_map={})

    assert response.response_id == "114875963501"
    assert response.scores == []
    assert response.reasons == []
    assert response.customer.id == "C-88231"
    assert response.customer.email == "ana.ruiz@example.com"


async def test_definition_is_fetched_once_per_survey(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    adapter = SurveyMonkeyAdapter()
    source = sm_source(api.url)
    for callback in ("callback_detractor.json", "callback_promoter.json", "callback_odd.json"):
        await adapter.normalise(envelope_of(callback), source, context)
    assert api.hits[DETAILS] == 1


async def test_definition_is_fetched_again_once_it_is_stale(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    now = [1000.0]
    adapter = SurveyMonkeyAdapter(ttl_seconds=300, clock=lambda: now[0])
    source = sm_source(api.url)
    await adapter.normalise(envelope_of("callback_detractor.json"), source, context)
    now[0] += 299
    await adapter.normalise(envelope_of("callback_promoter.json"), source, context)
    assert api.hits[DETAILS] == 1
    now[0] += 2
    await adapter.normalise(envelope_of("callback_promoter.json"), source, context)
    assert api.hits[DETAILS] == 2


async def test_choice_unknown_to_the_cached_definition_refreshes_it(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    adapter = SurveyMonkeyAdapter()
    source = sm_source(api.url)
    await adapter.normalise(envelope_of("callback_promoter.json"), source, context)
    edited = load("survey_details.json")
    reasons = edited["pages"][0]["questions"][1]["answers"]["choices"]
    reasons.append({"id": "1501240005", "text": "Billing error", "position": 5})
    api.add_survey(edited)
    detractor = load("response_detractor.json")
    detractor["pages"][0]["questions"][1]["answers"] = [{"choice_id": "1501240005"}]
    api.add_response(detractor)

    response = await adapter.normalise(envelope_of("callback_detractor.json"), source, context)

    assert response.reasons == ["Billing error"]
    assert api.hits[DETAILS] == 2


async def test_choice_unknown_even_to_a_fresh_definition_is_a_dead_letter(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    detractor = load("response_detractor.json")
    detractor["pages"][0]["questions"][3]["answers"] = [{"choice_id": "999"}]
    api.add_response(detractor)
    with pytest.raises(InvalidPayload, match="187654324/999"):
        await normalised("callback_detractor.json", api, context)


async def test_response_the_api_does_not_know_is_a_dead_letter(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    del api.documents[response_path("114875963501")]
    with pytest.raises(InvalidPayload, match="HTTP 404"):
        await normalised("callback_detractor.json", api, context)


async def test_server_error_then_success_is_retried(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    api.fail_next(response_path("114875963501"), 500, 503)
    api.fail_next(DETAILS, 429)
    response = await normalised("callback_detractor.json", api, context)
    assert response.response_id == "114875963501"
    assert api.hits[response_path("114875963501")] == 3


async def test_api_down_through_every_attempt_is_left_for_the_batch_retry(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    api.fail_next(response_path("114875963501"), *[502] * 4)
    with pytest.raises(VendorUnavailable):
        await normalised("callback_detractor.json", api, context)


async def test_wrong_token_is_a_dead_letter(
    api: FakeSurveyMonkey, context: AdapterContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "expired-token")
    with pytest.raises(InvalidPayload, match="HTTP 401"):
        await normalised("callback_detractor.json", api, context)


async def test_missing_token_is_a_dead_letter_naming_the_variable(
    api: FakeSurveyMonkey, context: AdapterContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV)
    with pytest.raises(InvalidPayload, match=TOKEN_ENV):
        await normalised("callback_detractor.json", api, context)
    assert sum(api.hits.values()) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event_type": None}, "event_type"),
        ({"object_id": "../../users/me"}, "object_id"),
        ({"object_id": None}, "object_id"),
        ({"resources": {"survey_id": "405812337?x=1"}}, "survey_id"),
        ({"resources": "405812337"}, "survey_id"),
    ],
)
async def test_callback_that_names_no_response_is_a_dead_letter(
    change: dict[str, Any], message: str, api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    callback = {**load("callback_detractor.json"), **change}
    sources: Sources = {"sm": sm_source(api.url)}
    with pytest.raises(InvalidPayload, match=message):
        await normalise(envelope_of(json.dumps(callback).encode()), sources, context)
    assert sum(api.hits.values()) == 0


@pytest.mark.parametrize("event_type", ["response_deleted", "response_disqualified"])
async def test_events_without_a_response_to_record_are_skipped(
    event_type: str, api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    callback = {**load("callback_detractor.json"), "event_type": event_type}
    sources: Sources = {"sm": sm_source(api.url)}
    with pytest.raises(NotASurveyResponse, match="response_completed"):
        await normalise(envelope_of(json.dumps(callback).encode()), sources, context)
    assert sum(api.hits.values()) == 0


# --- through the pipeline ------------------------------------------------------------------


@pytest.fixture
def sources(api: FakeSurveyMonkey) -> Sources:
    """The pipeline's source ``survey`` is this SurveyMonkey app, its API the local fake."""
    return {"survey": sm_source(api.url)}


async def post_callback(pipeline: Pipeline, name: str) -> httpx.Response:
    body = raw(name)
    return await pipeline.http.post(
        f"{pipeline.ingest_url}/webhooks/{pipeline.source}",
        content=body,
        headers={
            "content-type": "application/vnd.surveymonkey.response.v1+json",
            "sm-signature": sign(SECRET.encode(), body),
        },
    )


async def test_detractor_callback_becomes_a_case(pipeline: Pipeline) -> None:
    answer = await post_callback(pipeline, "callback_detractor.json")
    assert answer.status_code == 202, answer.text

    case = await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT priority, customer, reasons, comment FROM case_summaries "
            "WHERE source = $1 AND response_id = $2",
            pipeline.source,
            "114875963501",
        ),
        timeout=20,
    )
    assert case is not None
    assert case["priority"] == 1
    assert case["customer"]["phone"] == "+34 600 123 456"
    assert {"long_wait", "product_knowledge"} <= {r["code"] for r in case["reasons"]}


async def test_callback_for_a_vanished_response_is_dead_lettered(
    pipeline: Pipeline, api: FakeSurveyMonkey
) -> None:
    del api.documents[response_path("114875963777")]
    answer = await post_callback(pipeline, "callback_promoter.json")
    assert answer.status_code == 202

    dead = await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT vendor, error FROM dead_letters WHERE source = $1", pipeline.source
        ),
        timeout=20,
    )
    assert dead is not None
    assert dead["vendor"] == "surveymonkey"
    assert "HTTP 404" in dead["error"]
    stored = await pipeline.pool.fetchval("SELECT count(*) FROM survey_responses")
    assert stored == 0
