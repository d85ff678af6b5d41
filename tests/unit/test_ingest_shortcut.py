"""The webhook's shortcut past FastAPI answers every request exactly as FastAPI's route did.

Each request goes, in order, to two apps built from the same settings: ingest as shipped (the
shortcut answers ``POST /webhooks/{source}``) and the same app with the shortcut left out
(FastAPI's route answers, through FastAPI's middleware, routing, dependencies and exception
handlers, as before the shortcut). Status, the headers a sender acts on and the JSON body
must be the same, refusals and edge paths included; the Kafka producer is a fake, so no broker
is needed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import REGISTRY
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from tests.support import generic_source
from winback_ingest.app import create_app
from winback_ingest.publisher import DeliveryPublisher
from winback_ingest.settings import IngestSettings
from winback_ingest.shortcut import webhook_source
from winback_ingest.webhook import read_bounded_body, receipt
from winback_local.signing import new_secret, sample_response, signed_headers, signed_request
from winback_shared.events.survey_received import SurveyReceived

SECRET = new_secret()
LIMIT = 2048


@dataclass
class FakeProducer:
    """Takes every record (or fails every send with ``error``), keeping what it was given."""

    error: BaseException | None = None
    sent: list[tuple[str, bytes, bytes]] = field(default_factory=list)

    async def send_and_wait(self, topic: str, value: bytes, *, key: bytes) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((topic, value, key))


def settings(**limits: Any) -> IngestSettings:
    """One generic source, ``survey``, with small limits."""
    return IngestSettings(
        sources={"survey": generic_source(SECRET)},
        max_body_bytes=LIMIT,
        max_string_chars=1000,
        **limits,
    )


def build(config: IngestSettings, producer: FakeProducer, *, shortcut: bool) -> FastAPI:
    """Ingest on ``producer``; without the shortcut when asked (FastAPI's route answers)."""
    app = create_app(config)
    if not shortcut:
        app.webhook = None
    fake = cast(AIOKafkaProducer, producer)
    app.state.publisher = DeliveryPublisher(fake, "survey-responses", 1.0)
    return app


@dataclass(frozen=True)
class Answer:
    """What a sender sees of an answer; a receipt id is fresh each time, so only its shape."""

    status: int
    headers: dict[str, str]
    body: Any

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        kept = ("content-type", "retry-after", "winback-delivery", "location")
        headers = {name: response.headers[name] for name in kept if name in response.headers}
        body: Any = response.content
        if response.content and response.headers.get("content-type") == "application/json":
            body = response.json()
            if set(body) == {"receipt_id"}:
                body = {"receipt_id": len(body["receipt_id"])}
        return cls(response.status_code, headers, body)


@dataclass(frozen=True)
class Call:
    """One request: method, path, body, headers."""

    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False


def signed(body: bytes, path: str = "/webhooks/survey", **extra: str) -> Call:
    """A POST of ``body`` signed with the source's secret."""
    return Call("POST", path, body, {**signed_headers(SECRET, body), **extra})


def detractor() -> bytes:
    """A fresh generic detractor, encoded as a vendor would send it."""
    return json.dumps(sample_response(nps=2, reasons=["Long wait"])).encode()


def nested(depth: int) -> bytes:
    """A generic response carrying a value nested ``depth`` levels deep."""
    value: object = "x"
    for _ in range(depth):
        value = {"n": value}
    return json.dumps({**sample_response(nps=1, reasons=[]), "extra": value}).encode()


def calls() -> Iterator[tuple[str, Call]]:
    """Every kind of request the webhook path gets, accepted, refused or routed elsewhere."""
    body = detractor()
    yield "accepted", signed(body)
    streamed = signed(detractor())
    yield (
        "accepted, streamed in chunks",
        Call("POST", streamed.path, streamed.body, streamed.headers, chunked=True),
    )
    yield "accepted, form content type declared", signed(detractor(), **{"content-type": FORM})
    yield "unknown source", Call("POST", "/webhooks/nobody", *signed_request(SECRET, {"a": 1}))
    yield "no signature", Call("POST", "/webhooks/survey", body, {"content-type": JSON})
    other = signed_headers(new_secret(), body)
    yield "another secret's signature", Call("POST", "/webhooks/survey", body, other)
    yield (
        "tampered body",
        Call("POST", "/webhooks/survey", body + b" ", signed_headers(SECRET, body)),
    )
    stale = signed_headers(SECRET, body, timestamp=1)
    yield "stale timestamp", Call("POST", "/webhooks/survey", body, stale)
    yield "declared too large", signed(b'{"x": "' + b"y" * LIMIT + b'"}')
    large = b'{"x": "' + b"y" * LIMIT + b'"}'
    yield "streamed too large", Call("POST", "/webhooks/survey", large, {}, chunked=True)
    yield "a form to a JSON source", signed(b"score=2&reason=rude")
    yield "not UTF-8", signed(b'{"comment": "\xff"}')
    yield "NaN", signed(b'{"response_id": "r-1", "score": NaN}')
    yield "not an object", signed(b"[1, 2]")
    yield "too deep", signed(nested(40))
    yield "field too long", signed(json.dumps({"comment": "x" * 1500}).encode())
    yield "empty body", signed(b"")
    yield "no source in the path", signed(body, "/webhooks/")
    yield "trailing slash", signed(body, "/webhooks/survey/")
    yield "two segments", signed(body, "/webhooks/survey/more")
    yield "encoded slash", signed(body, "/webhooks/survey%2Fmore")
    yield "GET", Call("GET", "/webhooks/survey")
    yield "HEAD, configured", Call("HEAD", "/webhooks/survey")
    yield "HEAD, unknown", Call("HEAD", "/webhooks/nobody")
    yield "schema", Call("GET", "/schemas/generic.json")


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
CALLS = list(calls())


async def send(app: FastAPI, call: Call) -> Answer:
    """``call`` in-process to ``app``."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    content: bytes | AsyncIterator[bytes] | None = call.body
    if call.chunked and call.body is not None:
        whole = call.body

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(whole), 512):
                yield whole[start : start + 512]

        content = chunks()
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
        response = await http.request(call.method, call.path, content=content, headers=call.headers)
    return Answer.of(response)


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[name for name, _ in CALLS])
async def test_the_shortcut_answers_as_fastapis_route(name: str, call: Call) -> None:
    shipped = build(settings(), FakeProducer(), shortcut=True)
    before = build(settings(), FakeProducer(), shortcut=False)
    assert await send(shipped, call) == await send(before, call), name


async def test_both_publish_the_same_record() -> None:
    call = signed(detractor())
    producers = {True: FakeProducer(), False: FakeProducer()}
    for shortcut, producer in producers.items():
        answer = await send(build(settings(), producer, shortcut=shortcut), call)
        assert answer.status == 202
    records = []
    for producer in producers.values():
        [(topic, value, key)] = producer.sent
        envelope = SurveyReceived.from_bytes(value)
        records.append((topic, key, envelope.model_dump(exclude={"event_id", "occurred_at"})))
    assert records[0] == records[1]
    assert call.body is not None
    assert records[0][2]["body"] == call.body.decode()


async def test_a_broker_that_does_not_confirm_is_the_same_503() -> None:
    call = signed(detractor())
    answers = [
        await send(build(settings(), FakeProducer(KafkaConnectionError()), shortcut=s), call)
        for s in (True, False)
    ]
    assert answers[0] == answers[1]
    assert answers[0].status == 503
    assert answers[0].headers["winback-delivery"] == "unconfirmed"
    assert answers[0].body["error"]["code"] == "broker_unavailable"


async def test_a_source_over_its_rate_gets_the_same_429() -> None:
    config = settings(rate_burst=1, rate_per_source=0.01)
    apps = [build(config, FakeProducer(), shortcut=s) for s in (True, False)]
    for expected in (202, 429):
        call = signed(detractor())
        answers = [await send(app, call) for app in apps]
        assert answers[0] == answers[1]
        assert answers[0].status == expected
    assert answers[0].headers["retry-after"] == "100"


async def test_a_bug_is_the_same_500_and_still_raised(caplog: pytest.LogCaptureFixture) -> None:
    call = signed(detractor())
    answers = []
    for shortcut in (True, False):
        app = build(settings(), FakeProducer(ValueError("a bug")), shortcut=shortcut)
        transport = httpx.ASGITransport(app=app)  # raises what the app raised, after its answer
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as http:
            with pytest.raises(ValueError, match="a bug"):
                await http.post(call.path, content=call.body, headers=call.headers)
        answers.append(await send(app, call))
    assert answers[0] == answers[1]
    assert answers[0].status == 500
    assert answers[0].body == b"Internal Server Error"


async def test_the_shortcut_is_what_answers_the_webhook() -> None:
    """Without FastAPI's webhook route, the shipped app still takes a delivery."""
    producer = FakeProducer()
    app = build(settings(), producer, shortcut=True)
    app.router.routes[:] = [
        route
        for route in app.router.routes
        if not (isinstance(route, APIRoute) and route.path == "/webhooks/{source}")
    ]
    assert (await send(app, signed(detractor()))).status == 202
    assert len(producer.sent) == 1


@pytest.mark.parametrize(
    ("method", "path", "root_path", "expected"),
    [
        ("POST", "/webhooks/survey", "", "survey"),
        ("POST", "/webhooks/a b", "", "a b"),
        ("POST", "/api/webhooks/survey", "/api", "survey"),
        ("POST", "/webhooks/", "", None),
        ("POST", "/webhooks/survey/", "", None),
        ("POST", "/webhooks/a/b", "", None),
        ("POST", "/webhooksx/survey", "", None),
        ("POST", "/other/webhooks/survey", "", None),
        ("PUT", "/webhooks/survey", "", None),
        ("HEAD", "/webhooks/survey", "", None),
    ],
)
def test_which_requests_take_the_shortcut(
    method: str, path: str, root_path: str, expected: str | None
) -> None:
    scope = {"type": "http", "method": method, "path": path, "root_path": root_path}
    assert webhook_source(scope) == expected


def test_the_receipt_is_what_jsonresponse_rendered() -> None:
    receipt_id = str(uuid4())
    ours, theirs = receipt(receipt_id), JSONResponse({"receipt_id": receipt_id}, status_code=202)
    assert (ours.status_code, ours.body) == (theirs.status_code, theirs.body)
    assert ours.raw_headers == theirs.raw_headers


def delivered(source: str, outcome: str) -> float:
    """``winback_ingest_deliveries_total`` for one source and outcome, as scraped."""
    value = REGISTRY.get_sample_value(
        "winback_ingest_deliveries_total", {"source": source, "outcome": outcome}
    )
    return value or 0.0


async def test_every_answer_is_counted_by_source_and_outcome() -> None:
    app = build(settings(), FakeProducer(), shortcut=True)
    calls = [signed(detractor()), signed(detractor()), Call("POST", "/webhooks/survey", b"{}")]
    calls.append(Call("POST", "/webhooks/nobody", *signed_request(SECRET, {"a": 1})))
    counted = {"202": 2, "401": 1}
    before = {outcome: delivered("survey", outcome) for outcome in counted}
    unknown = delivered("unknown", "404")
    for call in calls:
        await send(app, call)
    assert {o: delivered("survey", o) - before[o] for o in counted} == counted
    assert delivered("unknown", "404") - unknown == 1


async def test_a_sender_that_hangs_up_mid_body_ends_the_read_as_starlette_does() -> None:
    sent: list[Message] = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"},
    ]
    messages = iter(sent)

    async def receive() -> Message:
        return next(messages)

    scope = {"type": "http", "method": "POST", "path": "/webhooks/survey", "headers": []}
    with pytest.raises(ClientDisconnect):
        await read_bounded_body(Request(scope, receive), LIMIT)
