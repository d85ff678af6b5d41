"""Intake limits: nesting, string lengths, encodings, rate per source. Each refusal is a 4xx in
the common shape, and a refused delivery is never published."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.integration.test_ingest_errors import assert_error
from tests.support import serve
from winback_ingest.app import create_app
from winback_ingest.settings import IngestSettings
from winback_local.signing import sample_response, signed_headers
from winback_shared.kafka import ensure_topics


@pytest.fixture
async def ingest(ingest_settings: IngestSettings) -> AsyncIterator[httpx.AsyncClient]:
    """Ingest with small limits so each is easy to cross (its topic exists: 202s are real)."""
    await ensure_topics(
        ingest_settings.kafka_bootstrap_servers, {ingest_settings.topics.survey_responses: 1}
    )
    limited = ingest_settings.model_copy(
        update={
            "max_json_depth": 8,
            "max_string_chars": 300,
            "rate_burst": 3,
            "rate_per_source": 0.5,
        }
    )
    async with serve(create_app(limited)) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def post_signed(client: httpx.AsyncClient, secret: str, body: bytes) -> httpx.Response:
    return await client.post("/webhooks/survey", content=body, headers=signed_headers(secret, body))


async def test_deep_nesting_is_400(ingest: httpx.AsyncClient, source_secret: str) -> None:
    nested: object = "x"
    for _ in range(9):
        nested = {"n": nested}
    body = json.dumps({**sample_response(nps=1, reasons=[]), "extra": nested}).encode()
    assert_error(await post_signed(ingest, source_secret, body), 400, "too_deep")


async def test_nesting_beyond_the_parsers_own_limit_is_400_not_500(
    ingest: httpx.AsyncClient, source_secret: str
) -> None:
    body = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    answer = await ingest.post(
        "/webhooks/survey", content=body, headers=signed_headers(source_secret, body)
    )
    # The body is over the size limit too; either refusal is a clear 4xx.
    assert answer.status_code in (400, 413), answer.text


async def test_long_string_is_400(ingest: httpx.AsyncClient, source_secret: str) -> None:
    body = json.dumps(sample_response(nps=1, reasons=[], comment="x" * 301)).encode()
    assert_error(await post_signed(ingest, source_secret, body), 400, "field_too_long")


async def test_long_key_is_400(ingest: httpx.AsyncClient, source_secret: str) -> None:
    body = json.dumps({**sample_response(nps=1, reasons=[]), "k" * 301: 1}).encode()
    assert_error(await post_signed(ingest, source_secret, body), 400, "field_too_long")


async def test_body_that_is_not_utf8_is_400(ingest: httpx.AsyncClient, source_secret: str) -> None:
    body = '{"response_id": "caf\u00e9"}'.encode("latin-1")
    assert_error(await post_signed(ingest, source_secret, body), 400, "invalid_encoding")


async def test_source_over_its_rate_gets_429_with_retry_after(
    ingest: httpx.AsyncClient, source_secret: str
) -> None:
    answers = []
    for _ in range(5):
        body = json.dumps(sample_response(nps=9, reasons=[])).encode()
        answers.append(await post_signed(ingest, source_secret, body))

    assert [a.status_code for a in answers[:3]] == [202, 202, 202]
    limited = answers[3]
    assert_error(limited, 429, "rate_limited")
    assert int(limited.headers["retry-after"]) >= 1


async def test_unauthenticated_requests_do_not_spend_the_sources_budget(
    ingest: httpx.AsyncClient, source_secret: str
) -> None:
    for _ in range(5):
        forged = await ingest.post("/webhooks/survey", json=sample_response(nps=1, reasons=[]))
        assert forged.status_code == 401
    body = json.dumps(sample_response(nps=9, reasons=[])).encode()
    assert (await post_signed(ingest, source_secret, body)).status_code == 202


async def test_head_confirms_a_configured_source_only(ingest: httpx.AsyncClient) -> None:
    assert (await ingest.head("/webhooks/survey")).status_code == 200
    assert (await ingest.head("/webhooks/nobody")).status_code == 404


async def test_generic_json_schema_is_published(ingest: httpx.AsyncClient) -> None:
    schema = (await ingest.get("/schemas/generic.json")).json()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "response_id" in schema["required"]
    assert "scores" in schema["properties"]


async def test_openapi_shows_an_example_per_vendor(ingest: httpx.AsyncClient) -> None:
    spec = (await ingest.get("/openapi.json")).json()
    body = spec["paths"]["/webhooks/{source}"]["post"]["requestBody"]
    examples = {name for media in body["content"].values() for name in media.get("examples", {})}
    assert "generic" in examples
    assert "429" in spec["paths"]["/webhooks/{source}"]["post"]["responses"]


async def test_nan_is_not_json_and_is_refused(
    ingest: httpx.AsyncClient, source_secret: str
) -> None:
    body = b'{"response_id": "r-nan", "scores": [{"kind": "nps", "value": NaN}]}'
    answer = await post_signed(ingest, source_secret, body)
    assert_error(answer, 400, "invalid_json")
    assert "NaN" in answer.json()["error"]["message"]
