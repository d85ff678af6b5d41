"""Thousands of malformed deliveries: no 5xx, no crash, and every accepted one either becomes a
stored response or a dead letter.

CI sends 2,500 of them; the full form, ten thousand, is one variable away:
``WINBACK_FUZZ_INTAKE_REQUESTS=10000 .venv/bin/pytest tests/integration/test_fuzz_intake.py``.
The requests come from one seeded generator, so the short form is the full one's first quarter:
the same kinds of damage, to every vendor (``test_the_short_form_damages_every_vendor_every_way``
in ``tests/unit/test_fuzz_requests.py`` keeps it so).

Ingest runs in-process (ASGI, no socket: the point is volume, not HTTP framing) with a real
Kafka producer; the router runs for real on the same topic. The expected fate of each accepted
delivery is computed independently by normalising it offline with the same adapters.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from tests.fuzz_requests import SEED, SHORT_FORM, FuzzRequest, every_vendor, fuzz_requests
from tests.role_support import ROUTER, service_env
from tests.support import eventually, group_caught_up, serve
from winback_ingest.app import create_app as create_ingest_app
from winback_ingest.publisher import DELIVERY_HEADER, UNCONFIRMED, DeliveryPublisher
from winback_ingest.settings import IngestSettings
from winback_ingest.vendors import INTAKES, Signed
from winback_router.adapters import (
    ADAPTER_BUG,
    AdapterContext,
    InvalidPayload,
    NotASurveyResponse,
    normalise,
)
from winback_router.adapters.vendor_api import VendorApiClient
from winback_router.app import create_app as create_router_app
from winback_router.settings import RouterSettings
from winback_shared.db import create_pool
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.kafka import ensure_topics, reliable_producer
from winback_shared.settings import KafkaTopics
from winback_shared.sources import SourceConfig, Sources, Vendor

REQUESTS = int(os.environ.get("WINBACK_FUZZ_INTAKE_REQUESTS", SHORT_FORM))
IN_FLIGHT = 64
ATTEMPTS = 5
"""How often the sender tries a delivery answered 503 "unconfirmed", as a vendor would retry it.

That 503 is ingest's documented answer when Kafka does not acknowledge in time (the delivery
is the same opaque record whatever its damage): on a loaded machine the shared broker was once
that slow, and the test failed on broker latency, which is not what it is about. Every other
5xx still fails at once, and a delivery still unconfirmed after five tries fails too."""
RETRY_AFTER_SECONDS = 1
API_TOKEN_ENV = "WINBACK_FUZZ_API_TOKEN"


@pytest.fixture
async def vendor_api() -> AsyncIterator[str]:
    """A vendor API that knows no response at all: every fetch is a clean 404."""
    app = FastAPI()

    @app.get("/{path:path}")
    async def nothing(path: str) -> JSONResponse:
        return JSONResponse({"error": {"message": "not found"}}, status_code=404)

    async with serve(app) as url:
        yield url


@pytest.fixture
def fuzz_sources(
    vendor_api: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, tuple[Vendor, str, dict[str, Any]]]:
    """One source per registered vendor: name -> (vendor, secret, documented example)."""
    monkeypatch.setenv(API_TOKEN_ENV, "fuzz-token")
    return every_vendor()


@pytest.fixture
def sources(
    fuzz_sources: dict[str, tuple[Vendor, str, dict[str, Any]]], vendor_api: str
) -> Sources:
    configured = {}
    for name, (vendor, secret, _) in fuzz_sources.items():
        config: dict[str, Any] = {"vendor": vendor.value, "secrets": [secret]}
        if vendor in (Vendor.SURVEYMONKEY, Vendor.QUALTRICS):
            config["api"] = {"base_url": vendor_api, "token_env": API_TOKEN_ENV, "attempts": 1}
        configured[name] = SourceConfig.model_validate(config)
    return configured


async def send_all(
    settings: IngestSettings, requests: list[FuzzRequest]
) -> list[tuple[FuzzRequest, httpx.Response]]:
    producer = reliable_producer(settings.kafka_bootstrap_servers)
    await producer.start()
    publisher = DeliveryPublisher(producer, settings.topics.survey_responses, 10.0)
    app = create_ingest_app(settings, publisher=publisher)
    app.state.publisher = publisher  # ASGITransport runs no lifespan
    limit = asyncio.Semaphore(IN_FLIGHT)
    retries = 0
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:

            async def post(request: FuzzRequest) -> httpx.Response:
                return await client.post(
                    f"/webhooks/{request.source}", content=request.body, headers=request.headers
                )

            async def one(request: FuzzRequest) -> tuple[FuzzRequest, httpx.Response]:
                nonlocal retries
                async with limit:
                    answer = await post(request)
                    for _ in range(ATTEMPTS - 1):
                        if not unconfirmed(answer):
                            break
                        retries += 1
                        await asyncio.sleep(int(answer.headers["Retry-After"]))
                        answer = await post(request)
                    return request, answer

            answers = await asyncio.gather(*(one(r) for r in requests))
    finally:
        await producer.stop()
    print(f"fuzz: {retries} retries of an unconfirmed delivery")
    return answers


def unconfirmed(answer: httpx.Response) -> bool:
    """Ingest's 503 for a delivery Kafka did not acknowledge in time: retry it unchanged."""
    return answer.status_code == 503 and answer.headers.get(DELIVERY_HEADER) == UNCONFIRMED


async def expected_fate(
    request: FuzzRequest, vendor: Vendor, sources: Sources, context: AdapterContext
) -> tuple[str, str] | str | None:
    """(source, response_id) if the adapters can normalise it offline, ``None`` if it must be
    dead-lettered, ``"skipped"`` if it is an authentic event that is no survey response."""
    content_type = INTAKES[vendor].content_type_for(
        Signed(headers=request.headers, body=request.body, now=0, tolerance_seconds=0)
    )
    envelope = SurveyReceived(
        source=request.source,
        vendor=vendor.value,
        content_type=content_type,
        body=request.body.decode(),
    )
    try:
        response = await normalise(envelope, sources, context)
    except InvalidPayload as exc:
        assert ADAPTER_BUG not in str(exc), (request.mutation, str(exc))
        return None
    except NotASurveyResponse:
        return "skipped"
    return response.source, response.response_id


# Sending, then up to 120 s for the router: the suite's 120 s in all ran out once at load 16.
@pytest.mark.timeout(max(300, REQUESTS // 40))
async def test_thousands_of_malformed_deliveries(
    infra_env: dict[str, object],
    unique: str,
    sources: Sources,
    fuzz_sources: dict[str, tuple[Vendor, str, dict[str, Any]]],
    topics: KafkaTopics,
    schema_url: str,
) -> None:
    settings = IngestSettings(
        **infra_env,  # type: ignore[arg-type]
        sources=sources,
        rate_per_source=1e6,
        rate_burst=1_000_000,
        retry_after_seconds=RETRY_AFTER_SECONDS,
    )
    await ensure_topics(
        settings.kafka_bootstrap_servers, dict.fromkeys(topics.model_dump().values(), 1)
    )
    requests = fuzz_requests(random.Random(SEED), REQUESTS, fuzz_sources)

    answers = await send_all(settings, requests)

    statuses = Counter(answer.status_code for _, answer in answers)
    server_errors = [
        (r.mutation, a.status_code, a.text[:200]) for r, a in answers if a.status_code >= 500
    ]
    assert not server_errors, server_errors[:5]
    unclear = [a.text[:200] for _, a in answers if a.status_code >= 400 and "error" not in a.json()]
    assert not unclear, unclear[:5]
    accepted = [(r, a.json()["receipt_id"]) for r, a in answers if a.status_code == 202]
    assert len(accepted) > REQUESTS // 10, statuses  # enough reach the router to mean something

    failures: list[BaseException] = []
    router = RouterSettings(
        **await service_env(infra_env, ROUTER),  # type: ignore[arg-type]
        router_group=f"router-{unique}",
        sources=sources,
        flood_max_ratio=1.0,  # fuzzing dead-letters most of what it sends, on purpose
    )
    pool = await create_pool(schema_url, min_size=1, max_size=2)
    api = VendorApiClient()
    try:
        async with serve(create_router_app(router, failures.append)):

            async def all_processed() -> bool:
                return bool(failures) or await group_caught_up(
                    router.kafka_bootstrap_servers, router.router_group, topics.survey_responses
                )

            assert await eventually(all_processed, timeout=120)
        assert not failures, failures
        dead = {
            row["receipt_id"] for row in await pool.fetch("SELECT receipt_id FROM dead_letters")
        }
        stored = {
            (row["source"], row["response_id"])
            for row in await pool.fetch("SELECT source, response_id FROM survey_responses")
        }
        context = AdapterContext(api=api)
        lost = []
        for request, receipt in accepted:
            vendor = fuzz_sources[request.source][0]
            fate = await expected_fate(request, vendor, sources, context)
            if fate == "skipped":
                continue
            if (fate is None and receipt not in dead) or (fate is not None and fate not in stored):
                lost.append((request.mutation, receipt, fate))
        assert not lost, (len(lost), len(accepted), lost[:5])
    finally:
        await api.aclose()
        await pool.close()
    print(f"fuzz: {dict(statuses)}; accepted {len(accepted)}")
    print(f"fuzz: dead letters {len(dead)}, stored responses {len(stored)}")
