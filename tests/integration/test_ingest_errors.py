"""Every way ingest refuses a delivery, each with its status and the common error shape."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support import generic_source, serve
from winback_ingest.app import create_app
from winback_ingest.settings import IngestSettings
from winback_local.signing import new_secret, sample_response, signed_headers, signed_request
from winback_shared.kafka import ensure_topics


@pytest.fixture
async def ingest(ingest_settings: IngestSettings) -> AsyncIterator[httpx.AsyncClient]:
    """An ingest server on real Kafka; its source ``survey`` signs with ``source_secret``."""
    limited = ingest_settings.model_copy(update={"max_body_bytes": 4096})
    async with serve(create_app(limited)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


async def test_unknown_source_is_404(ingest: httpx.AsyncClient, source_secret: str) -> None:
    body, headers = signed_request(source_secret, sample_response(nps=1, reasons=[]))
    answer = await ingest.post("/webhooks/nobody", content=body, headers=headers)
    assert_error(answer, 404, "unknown_source")


async def test_missing_signature_is_401(ingest: httpx.AsyncClient) -> None:
    answer = await ingest.post("/webhooks/survey", json=sample_response(nps=1, reasons=[]))
    assert_error(answer, 401, "bad_signature")


async def test_signature_from_another_secret_is_401(ingest: httpx.AsyncClient) -> None:
    body, headers = signed_request(new_secret(), sample_response(nps=1, reasons=[]))
    answer = await ingest.post("/webhooks/survey", content=body, headers=headers)
    assert_error(answer, 401, "bad_signature")


async def test_tampered_body_is_401(ingest: httpx.AsyncClient, source_secret: str) -> None:
    body, headers = signed_request(source_secret, sample_response(nps=10, reasons=[]))
    tampered = body.replace(b'"value": 10', b'"value": 0')
    assert tampered != body
    answer = await ingest.post("/webhooks/survey", content=tampered, headers=headers)
    assert_error(answer, 401, "bad_signature")


async def test_stale_timestamp_is_401(ingest: httpx.AsyncClient, source_secret: str) -> None:
    body = json.dumps(sample_response(nps=1, reasons=[])).encode()
    headers = signed_headers(source_secret, body, timestamp=int(time.time()) - 301)
    answer = await ingest.post("/webhooks/survey", content=body, headers=headers)
    assert_error(answer, 401, "bad_signature")
    assert "window" in answer.json()["error"]["message"]


async def test_body_not_json_is_400(ingest: httpx.AsyncClient, source_secret: str) -> None:
    body = b"score=2&reason=rude"
    headers = signed_headers(source_secret, body)
    answer = await ingest.post("/webhooks/survey", content=body, headers=headers)
    assert_error(answer, 400, "invalid_json")


async def test_body_over_limit_is_413(ingest: httpx.AsyncClient, source_secret: str) -> None:
    payload = sample_response(nps=1, reasons=[], comment="x" * 5000)
    body, headers = signed_request(source_secret, payload)
    answer = await ingest.post("/webhooks/survey", content=body, headers=headers)
    assert_error(answer, 413, "body_too_large")


async def test_body_over_limit_without_content_length_is_413(
    ingest: httpx.AsyncClient, source_secret: str
) -> None:
    body, headers = signed_request(
        source_secret, sample_response(nps=1, reasons=[], comment="y" * 5000)
    )

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    answer = await ingest.post("/webhooks/survey", content=chunked(), headers=headers)
    assert_error(answer, 413, "body_too_large")


async def test_broker_that_cannot_take_the_write_is_503_with_retry_after(
    ingest_settings: IngestSettings, source_secret: str
) -> None:
    # The broker refuses to auto-create topics, so a write to a missing topic never gets acked.
    settings = ingest_settings.model_copy(
        update={
            "publish_timeout_seconds": 1.0,
            "topics": ingest_settings.topics.model_copy(update={"survey_responses": "absent"}),
        }
    )
    body, headers = signed_request(source_secret, sample_response(nps=1, reasons=[]))
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        answer = await client.post("/webhooks/survey", content=body, headers=headers)
    assert_error(answer, 503, "broker_unavailable")
    assert answer.headers["retry-after"] == str(settings.retry_after_seconds)


async def test_rotated_secrets_both_verify(infra_env: dict[str, object]) -> None:
    old, new = new_secret(), new_secret()
    settings = IngestSettings(
        **infra_env,  # type: ignore[arg-type]
        sources={"survey": generic_source(new, old)},
    )
    await ensure_topics(settings.kafka_bootstrap_servers, {settings.topics.survey_responses: 1})
    async with serve(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
        for secret in (old, new):
            body, headers = signed_request(secret, sample_response(nps=9, reasons=[]))
            answer = await client.post("/webhooks/survey", content=body, headers=headers)
            assert answer.status_code == 202, answer.text


async def test_refusals_are_logged_at_info_and_accepted_deliveries_only_at_debug(
    ingest: httpx.AsyncClient,
    ingest_settings: IngestSettings,
    source_secret: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic = ingest_settings.topics.survey_responses
    await ensure_topics(ingest_settings.kafka_bootstrap_servers, {topic: 1})
    body, headers = signed_request(source_secret, sample_response(nps=1, reasons=[]))
    with caplog.at_level(logging.DEBUG, logger="winback.ingest"):
        accepted = await ingest.post("/webhooks/survey", content=body, headers=headers)
        refused = await ingest.post("/webhooks/survey", json=sample_response(nps=1, reasons=[]))

    assert (accepted.status_code, refused.status_code) == (202, 401)
    outcomes = {
        record.fields["outcome"]: record.levelname
        for record in caplog.records
        if record.name == "winback.ingest" and hasattr(record, "fields")
    }
    assert outcomes == {"202": "DEBUG", "401": "INFO"}
