"""Qualtrics beyond the shared contract (``test_vendor_contract.py``, kit in
``tests/vendor_kits/qualtrics.py``, which covers event subscriptions): how ``MSG`` and ``HMAC``
ride in a form, workflow tasks (JSON and a token), and reading responses from its API.

Event subscriptions carry only ids, so the router reads the response from the API; a local
server (``tests.vendor_api_fakes.FakeQualtrics``) answers ``/API/v3/surveys/{id}/responses/{id}``
with the documented ``result.values`` / ``result.labels`` shape. Fixtures in
``tests/data/qualtrics``: events and responses for a detractor (NPS, reasons with "Other" text,
comment, follow-up, CSAT, embedded data), a promoter, an odd unfinished anonymous response (two
NPS questions, a matrix, display-order and unexpected values), and a workflow task's body.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.support import Pipeline, eventually
from tests.vendor_api_fakes import FakeQualtrics, ingest_on_kafka, running
from tests.vendor_kits.qualtrics import (
    API_TOKEN,
    KIT,
    SHARED_KEY,
    SURVEY_ID,
    TOKEN_ENV,
    api_with_fixtures,
    load,
    msg_of,
)
from winback_ingest.bodies import FORM
from winback_ingest.vendors.base import SignatureError, Signed
from winback_ingest.vendors.qualtrics import JSON, QUALTRICS, sign
from winback_router.adapters import AdapterContext, normalise
from winback_router.adapters.qualtrics import qualtrics_answers
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig, Sources
from winback_shared.survey import SurveyResponse

WORKFLOW_TOKEN = "wf-token-8e27c1d9f4a3b6"


def event_body(name: str, key: str = SHARED_KEY, *, mac: str | None = None) -> bytes:
    """An event subscription's form body, signed with ``key`` unless ``mac`` is given."""
    msg = msg_of(name)
    fields = [
        ("Topic", load(name)["Topic"]),
        ("MSG", msg),
        ("HMAC", mac or sign(key.encode(), msg)),
    ]
    return urlencode(fields).encode()


def qualtrics_source(api_url: str | None = None, *secrets: str) -> SourceConfig:
    return KIT.source(*secrets, api_url=api_url)


def workflow_source(*, field_map: dict[str, Any] | None = None) -> SourceConfig:
    return KIT.source(WORKFLOW_TOKEN, field_map=field_map or {})


def request(body: bytes, headers: dict[str, str] | None = None) -> Signed:
    return Signed(
        headers=httpx.Headers(headers or {}), body=body, now=time.time(), tolerance_seconds=300
    )


def authenticate(source: SourceConfig, signed: Signed) -> str:
    """Authenticate; return the body type ingest will parse it as."""
    QUALTRICS.authenticate(source, signed)
    return QUALTRICS.content_type_for(signed)


# --- event subscription signatures ---------------------------------------------------------


def test_hmac_is_hex_sha512_of_msg_keyed_with_the_shared_key() -> None:
    msg = msg_of("event_detractor.json")
    expected = hashlib.sha512
    assert (
        sign(SHARED_KEY.encode(), msg)
        == hmac.new(SHARED_KEY.encode(), msg.encode(), expected).hexdigest()
    )
    assert len(sign(SHARED_KEY.encode(), msg)) == 128


def test_uppercase_hex_is_accepted() -> None:
    mac = sign(SHARED_KEY.encode(), msg_of("event_detractor.json")).upper()
    authenticate(qualtrics_source(), request(event_body("event_detractor.json", mac=mac)))


def test_event_without_msg_is_refused() -> None:
    msg = msg_of("event_detractor.json")
    fields = {"Topic": "t", "HMAC": sign(SHARED_KEY.encode(), msg)}
    with pytest.raises(SignatureError, match="sharedKey"):
        authenticate(qualtrics_source(), request(urlencode(fields).encode()))


def test_repeated_msg_is_refused() -> None:
    body = event_body("event_detractor.json") + b"&MSG=%7B%7D"
    with pytest.raises(SignatureError, match="repeated"):
        authenticate(qualtrics_source(), request(body))


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"not a form at all", b"MSG"])
def test_body_that_is_no_signed_form_is_refused(body: bytes) -> None:
    with pytest.raises(SignatureError):
        authenticate(qualtrics_source(), request(body))


def test_event_whose_msg_is_garbled_has_no_key() -> None:
    body = event_body("event_detractor.json")
    garbled = QUALTRICS.inspect(qualtrics_source(), {"MSG": "{"}, request(body))
    assert garbled.response_key is None


# --- workflow task authentication ----------------------------------------------------------


def workflow_body() -> bytes:
    return KIT.fixture("workflow_detractor.json")


def test_workflow_body_with_the_token_is_accepted_as_json() -> None:
    signed = request(workflow_body(), {"X-Winback-Token": WORKFLOW_TOKEN})
    assert authenticate(workflow_source(), signed) == JSON


def test_either_workflow_token_is_accepted_while_rotating() -> None:
    source = qualtrics_source("http://127.0.0.1:9", "wf-token-old-1234", WORKFLOW_TOKEN)
    for token in ("wf-token-old-1234", WORKFLOW_TOKEN):
        authenticate(source, request(workflow_body(), {"X-Winback-Token": token}))


def test_workflow_body_with_a_wrong_token_is_refused() -> None:
    signed = request(workflow_body(), {"X-Winback-Token": WORKFLOW_TOKEN + "x"})
    with pytest.raises(SignatureError, match="does not match"):
        authenticate(workflow_source(), signed)


def test_workflow_body_without_the_token_is_refused() -> None:
    with pytest.raises(SignatureError, match="X-Winback-Token"):
        authenticate(workflow_source(), request(workflow_body()))


def test_a_token_does_not_stand_in_for_an_events_hmac() -> None:
    fields = urlencode({"Topic": "t", "MSG": msg_of("event_detractor.json")}).encode()
    with pytest.raises(SignatureError, match="sharedKey"):
        authenticate(workflow_source(), request(fields, {"X-Winback-Token": WORKFLOW_TOKEN}))


# --- ingest over HTTP, on the real broker ----------------------------------------------------


async def test_ingest_publishes_events_as_forms_and_workflow_bodies_as_json(
    infra_env: dict[str, object],
) -> None:
    sources: Sources = {
        "q-events": qualtrics_source(),
        "q-workflow": workflow_source(field_map={"response_id": "responseId"}),
    }
    token = {"X-Winback-Token": WORKFLOW_TOKEN, "content-type": "application/json"}
    form = {"content-type": FORM}
    async with ingest_on_kafka(infra_env, sources) as (client, published):
        answers = [
            await client.post("/webhooks/q-workflow", content=workflow_body(), headers=token),
            await client.post(
                "/webhooks/q-events", content=event_body("event_detractor.json"), headers=form
            ),
            await client.post("/webhooks/q-workflow", content=workflow_body(), headers=form),
        ]
    assert [a.status_code for a in answers] == [202, 202, 401], answers[-1].text
    assert answers[2].json()["error"]["code"] == "bad_signature"
    (workflow, workflow_key), (event, event_key) = await published()
    assert (workflow.content_type, workflow_key) == (JSON, "q-workflow:R_2bCdE3fGh4IjKlM")
    assert (event.content_type, event_key) == (FORM, "q-events:R_1aBcD2eFgH3iJkL")
    assert event.body.encode() == event_body("event_detractor.json")


async def test_concurrent_events_and_workflow_bodies_each_parse_as_their_own_kind(
    infra_env: dict[str, object],
) -> None:
    sources: Sources = {"q-events": qualtrics_source(), "q-workflow": workflow_source()}
    token = {"X-Winback-Token": WORKFLOW_TOKEN}
    async with ingest_on_kafka(infra_env, sources) as (client, published):
        answers = await asyncio.gather(
            *(
                client.post("/webhooks/q-workflow", content=workflow_body(), headers=token)
                if index % 2
                else client.post("/webhooks/q-events", content=event_body("event_odd.json"))
                for index in range(24)
            )
        )
    assert {answer.status_code for answer in answers} == {202}
    kinds = {(envelope.source, envelope.content_type) for envelope, _ in await published()}
    assert kinds == {("q-events", FORM), ("q-workflow", JSON)}


async def test_workflow_key_follows_the_field_maps_response_id(
    infra_env: dict[str, object],
) -> None:
    body = json.dumps({"meta": {"rid": "R_9zZ"}, "score": "3"}).encode()
    sources: Sources = {"wf": workflow_source(field_map={"response_id": "meta.rid"})}
    async with ingest_on_kafka(infra_env, sources) as (client, published):
        answer = await client.post(
            "/webhooks/wf", content=body, headers={"X-Winback-Token": WORKFLOW_TOKEN}
        )
    assert answer.status_code == 202
    assert (await published())[0][1] == "wf:R_9zZ"


# --- fetching and normalising events -------------------------------------------------------


@pytest.fixture
async def api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeQualtrics]:
    """A local Qualtrics API serving the fixture responses."""
    monkeypatch.setenv(TOKEN_ENV, API_TOKEN)
    async with running(api_with_fixtures(API_TOKEN)) as fake:
        yield fake


def event_envelope(body: bytes) -> SurveyReceived:
    return SurveyReceived(source="q", vendor="qualtrics", content_type=FORM, body=body.decode())


async def normalised_event(
    name: str, api: FakeQualtrics, context: AdapterContext
) -> SurveyResponse:
    sources: Sources = {"q": qualtrics_source(api.url)}
    return await normalise(event_envelope(event_body(name)), sources, context)


def test_event_answers_prefer_labels_and_keep_raw_values() -> None:
    result = load("response_odd.json")["result"]
    answers = qualtrics_answers(result, load("event_odd.json")["MSG"])

    assert answers["QID6_1"] == "Very poor"
    assert answers["values.QID6_1"] == 1
    assert answers["labels.QID6_1"] == "Very poor"
    assert answers["QID9_DO"] == ["3", "1", "2"]
    assert answers["unexpected"] is None
    assert answers["event.CompletedDate"] == "2026-11-23 11:41:12"
    assert answers["event.DistributionChannel"] == "anonymous"
    assert "nps" not in answers


# --- workflow bodies -----------------------------------------------------------------------


def workflow_envelope(body: bytes) -> SurveyReceived:
    return SurveyReceived(source="wf", vendor="qualtrics", content_type=JSON, body=body.decode())


async def test_workflow_body_is_normalised_field_by_field(context: AdapterContext) -> None:
    response = await normalise(
        workflow_envelope(workflow_body()), {"wf": workflow_source()}, context
    )

    assert response.response_id == "R_2bCdE3fGh4IjKlM"
    assert response.survey_id == SURVEY_ID
    assert response.submitted_at == datetime(2026, 11, 23, 9, 30, 12, tzinfo=UTC)
    assert [(s.kind.value, s.value) for s in response.scores] == [("nps", 1)]
    assert response.reasons == ["Billing error"]
    assert response.comment == "Charged twice for November."
    assert response.follow_up_requested is True
    assert response.customer.id == "C-55012"
    assert response.customer.name == "Lina Okafor"
    assert response.customer.email == "lina.okafor@example.com"
    assert response.customer.phone == "+44 7700 900123"
    assert response.customer.segment == "gold"
    assert response.customer.lifetime_value == 1840.5
    assert response.interaction.id == "call-7781"
    assert response.interaction.channel == "phone"
    assert response.interaction.agent == "rpatel"
    assert response.interaction.team == "Billing"


async def test_workflow_body_of_the_owners_own_design_is_read_through_the_field_map(
    context: AdapterContext,
) -> None:
    body = json.dumps(
        {
            "ids": {"response": "R_5kLm", "survey": SURVEY_ID},
            "answers": {"likelihood": "9", "satisfaction": "1 - Very dissatisfied"},
            "contact": {"mobile": "+1 555 0100"},
        }
    ).encode()
    field_map = {
        "response_id": "ids.response",
        "survey_id": "ids.survey",
        "nps": "answers.likelihood",
        "csat": "answers.satisfaction",
        "customer_phone": "contact.mobile",
    }
    response = await normalise(
        workflow_envelope(body), {"wf": workflow_source(field_map=field_map)}, context
    )

    assert response.response_id == "R_5kLm"
    assert [(s.kind.value, s.value) for s in response.scores] == [("nps", 9), ("csat", 1)]
    assert response.customer.phone == "+1 555 0100"


# --- through the pipeline ------------------------------------------------------------------


@pytest.fixture
def sources(api: FakeQualtrics) -> Sources:
    """``survey`` receives event subscriptions; ``survey-workflow`` a workflow task's body."""
    return {"survey": qualtrics_source(api.url), "survey-workflow": workflow_source()}


async def case_for(pipeline: Pipeline, source: str, response_id: str) -> Any:
    return await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT priority, customer, reasons FROM case_summaries "
            "WHERE source = $1 AND response_id = $2",
            source,
            response_id,
        ),
        timeout=20,
    )


async def test_workflow_task_body_becomes_a_case(pipeline: Pipeline) -> None:
    answer = await pipeline.http.post(
        f"{pipeline.ingest_url}/webhooks/survey-workflow",
        content=workflow_body(),
        headers={"content-type": "application/json", "X-Winback-Token": WORKFLOW_TOKEN},
    )
    assert answer.status_code == 202, answer.text

    case = await case_for(pipeline, "survey-workflow", "R_2bCdE3fGh4IjKlM")
    assert case is not None
    assert case["priority"] == 1
    assert [r["code"] for r in case["reasons"]] == ["billing_error"]
