"""SurveyMonkey beyond the shared contract (``test_vendor_contract.py``, kit in
``tests/vendor_kits/surveymonkey.py``): its signature recipe, the HEAD check, and reading
responses and survey definitions from its API.

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
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import Pipeline, eventually
from tests.vendor_api_fakes import FakeSurveyMonkey, ingest_on_kafka, running
from tests.vendor_kits.surveymonkey import (
    KIT,
    SECRET,
    SURVEY_ID,
    TOKEN,
    TOKEN_ENV,
    api_with_fixtures,
    load,
    response_path,
)
from winback_ingest.vendors.base import SignatureError, Signed
from winback_ingest.vendors.surveymonkey import SURVEYMONKEY, sign
from winback_router.adapters import AdapterContext, InvalidPayload, normalise
from winback_router.adapters.surveymonkey import SurveyMonkeyAdapter
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig, Sources
from winback_shared.survey import SurveyResponse

DETAILS = f"/v3/surveys/{SURVEY_ID}/details"


def raw(name: str) -> bytes:
    return KIT.fixture(name)


def sm_source(api_url: str | None = None) -> SourceConfig:
    return KIT.source(api_url=api_url)


def request(body: bytes, signature: str | None) -> Signed:
    headers = {} if signature is None else {"Sm-Signature": signature}
    return Signed(headers=httpx.Headers(headers), body=body, now=time.time(), tolerance_seconds=300)


# --- signatures ----------------------------------------------------------------------------


def test_signature_matches_surveymonkeys_documented_recipe() -> None:
    body = raw("callback_detractor.json")
    expected = hmac.new(SECRET.encode("ascii"), body, hashlib.sha1).digest()
    assert sign(SECRET.encode(), body) == base64.b64encode(expected).decode()


def test_sha256_signature_is_refused() -> None:
    body = raw("callback_detractor.json")
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    with pytest.raises(SignatureError):
        SURVEYMONKEY.authenticate(sm_source(), request(body, base64.b64encode(digest).decode()))


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
    async with running(api_with_fixtures(TOKEN)) as fake:
        yield fake


def envelope_of(callback: str | bytes) -> SurveyReceived:
    body = raw(callback).decode() if isinstance(callback, str) else callback.decode()
    return SurveyReceived(
        source="sm", vendor="surveymonkey", content_type="application/json", body=body
    )


async def normalised(
    callback: str, api: FakeSurveyMonkey, context: AdapterContext
) -> SurveyResponse:
    sources: Sources = {"sm": sm_source(api.url)}
    return await normalise(envelope_of(callback), sources, context)


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


async def test_server_errors_on_the_response_and_the_definition_are_retried(
    api: FakeSurveyMonkey, context: AdapterContext
) -> None:
    api.fail_next(response_path("114875963501"), 500, 503)
    api.fail_next(DETAILS, 429)
    response = await normalised("callback_detractor.json", api, context)
    assert response.response_id == "114875963501"
    assert api.hits[response_path("114875963501")] == 3


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
