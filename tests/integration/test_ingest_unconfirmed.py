"""A 503 from ingest means "unconfirmed", and says so: with the broker gone, the delivery the
vendor was told to retry may still be stored once the broker is back (it was, 114 times, in a
fault run), and the retry the answer asks for is the same response again.

This test stops a broker, so it starts its own on free ports (the shared one is never stopped).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from tests.support import generic_source, serve
from winback_ingest.app import create_app
from winback_ingest.settings import IngestSettings
from winback_local.kafka import LocalKafka, free_port
from winback_local.signing import new_secret, sample_response, signed_request
from winback_shared.kafka import ensure_topics
from winback_shared.settings import KafkaTopics

pytestmark = pytest.mark.integration

TOPIC = "survey-responses"


async def records_with_key(bootstrap: str, key: bytes) -> int:
    """How many records of the topic carry ``key`` (read from the start, no group)."""
    consumer = AIOKafkaConsumer(
        TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        found = 0
        while batches := await consumer.getmany(timeout_ms=2000):
            found += sum(r.key == key for records in batches.values() for r in records)
        return found
    finally:
        await consumer.stop()


@pytest.mark.timeout(300)  # the suite's 120 s is for hangs; two JVM starts took 46-98 s in CI
async def test_a_503_is_unconfirmed_the_delivery_may_land_and_its_retry_is_the_same_response(
    tmp_path: Path,
) -> None:
    kafka = LocalKafka(tmp_path / "kafka", free_port(), free_port())
    await asyncio.to_thread(kafka.start)
    try:
        bootstrap = kafka.bootstrap_servers
        await ensure_topics(bootstrap, {TOPIC: 1})
        secret = new_secret()
        settings = IngestSettings(
            kafka_bootstrap_servers=bootstrap,
            topics=KafkaTopics(survey_responses=TOPIC),
            sources={"survey": generic_source(secret)},
            publish_timeout_seconds=2.0,
        )
        payload = sample_response(nps=1, reasons=["long wait"])
        key = f"survey:{payload['response_id']}".encode()
        async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as http:

            async def post() -> httpx.Response:
                body, headers = signed_request(secret, payload)  # signed afresh, same response
                return await http.post("/webhooks/survey", content=body, headers=headers)

            warm = sample_response(nps=9, reasons=[])
            body, headers = signed_request(secret, warm)
            assert (await http.post("/webhooks/survey", content=body, headers=headers)).is_success

            await asyncio.to_thread(kafka.stop)
            refused = await post()
            assert refused.status_code == 503
            assert refused.headers["winback-delivery"] == "unconfirmed"
            assert refused.headers["retry-after"] == str(settings.retry_after_seconds)
            error = refused.json()["error"]
            assert error["code"] == "broker_unavailable"
            assert "may still be stored" in error["message"]

            await asyncio.to_thread(kafka.start)
            # Nobody retried, yet the delivery answered 503 is stored: "unconfirmed" is true.
            stored = 0
            for _ in range(30):
                stored = await records_with_key(bootstrap, key)
                if stored:
                    break
            assert stored == 1

            retried = await post()  # what the 503 asked for
            assert retried.status_code == 202, retried.text
        # Two records of one response: the router keeps one response and one case per
        # (source, response id), see test_revisions / test_end_to_end's repeated delivery.
        assert await records_with_key(bootstrap, key) == 2
    finally:
        kafka.kill()  # its data is thrown away: no need to wait for a graceful shutdown


def test_the_503_is_documented_in_the_openapi() -> None:
    settings = IngestSettings(sources={"survey": generic_source(new_secret())})
    schema = create_app(settings).openapi()
    answer = schema["paths"]["/webhooks/{source}"]["post"]["responses"]["503"]
    assert "may still be stored" in answer["description"]
    assert "Winback-Delivery" in answer["headers"]
    assert json.dumps(answer).count("unconfirmed") >= 2
