"""A delivery whose text holds half an emoji (an unpaired surrogate escape, valid JSON that UTF-8
cannot hold) becomes a response with U+FFFD in its place, for every vendor, instead of a dead
letter (pydantic's parser) or a router stopped at every restart (the database's encoder).

The end-to-end form (ingest, Kafka, router, PostgreSQL) is the fuzz run's: lone surrogates are
among its weird values (``tests/fuzz_requests.py``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.responses import Response

from tests.support import serve
from winback_ingest.vendors import INTAKES
from winback_ingest.vendors.base import Delivery
from winback_router.adapters import AdapterContext, normalise
from winback_router.adapters.vendor_api import VendorApiClient
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig, Vendor, VendorApi
from winback_shared.survey import SurveyResponse

STANDARD_WEBHOOKS_SECRET = "whsec_MDEyMzQ1Njc4OWFiY2RlZg=="
SELF_CONTAINED = [Vendor.GENERIC, Vendor.TYPEFORM, Vendor.FORMBRICKS, Vendor.DELIGHTED,
                  Vendor.ZENDESK]  # fmt: skip
"""The vendors whose deliveries hold the response (SurveyMonkey's and Qualtrics' answers come
from their API: ``test_an_api_answer_with_half_an_emoji_reads_with_a_replacement``)."""


def source_of(vendor: Vendor) -> SourceConfig:
    secret = STANDARD_WEBHOOKS_SECRET if vendor in (Vendor.GENERIC, Vendor.FORMBRICKS) else "k" * 16
    return SourceConfig.model_validate({"vendor": str(vendor), "secrets": [secret]})


async def normalised(vendor: Vendor, body: str) -> SurveyResponse:
    envelope = SurveyReceived(source="s", vendor=str(vendor), content_type="json", body=body)
    context = AdapterContext(api=VendorApiClient())
    try:
        return await normalise(envelope, {"s": source_of(vendor)}, context)
    finally:
        await context.api.aclose()


@pytest.mark.parametrize("vendor", SELF_CONTAINED, ids=str)
async def test_half_an_emoji_in_a_comment_reads_as_a_replacement(vendor: Vendor) -> None:
    body = json.dumps(INTAKES[vendor].example)  # escapes as a JavaScript sender does
    comment = (await normalised(vendor, body)).comment
    assert comment and len(comment) > 8, "the example has a comment to cut"
    escaped = json.dumps(comment)[1:-1]
    assert escaped in body
    cut = json.dumps(comment[:8])[1:-1] + "\\ud83d" + json.dumps(comment[8:])[1:-1]
    response = await normalised(vendor, body.replace(escaped, cut))
    assert response.comment == comment[:8] + "\ufffd" + comment[8:]
    response.model_dump_json()  # what the router stores and alerts encodes now


@pytest.fixture
async def api_answering_half_an_emoji() -> AsyncIterator[str]:
    app = FastAPI()

    @app.get("/answer")
    async def answer() -> Response:
        return Response(
            b'{"text": "slow \\ud83d", "ok": "\\ud83d\\ude00"}', media_type="application/json"
        )

    async with serve(app) as url:
        yield url


async def test_an_api_answer_with_half_an_emoji_reads_with_a_replacement(
    api_answering_half_an_emoji: str,
) -> None:
    api = VendorApi(base_url=api_answering_half_an_emoji, token_env="UNUSED")
    client = VendorApiClient()
    try:
        answer = await client.get_json(api, "/answer", {})
    finally:
        await client.aclose()
    assert answer == {"text": "slow \ufffd", "ok": "\U0001f600"}


def test_ids_with_half_an_emoji_key_and_envelope_their_delivery() -> None:
    """Ingest answered 500 to every attempt: neither the key nor the envelope could be encoded."""
    cut = Delivery(response_key="R-\ud83d", delivery_id="E-\udc00")
    assert (cut.response_key, cut.delivery_id) == ("R-\ufffd", "E-\ufffd")
    whole = Delivery(response_key="R-\U0001f600", delivery_id=None)
    assert (whole.response_key, whole.delivery_id) == ("R-\U0001f600", None)
