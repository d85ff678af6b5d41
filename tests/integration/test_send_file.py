"""``winback send --file``: each vendor's ``/docs`` example, signed for a source of that vendor,
is accepted by a real ingest (on real Kafka), so the local runner's signing and ingest's
verification cannot drift apart unnoticed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx

from tests.support import serve
from winback_ingest.app import create_app
from winback_ingest.settings import IngestSettings
from winback_ingest.vendors import INTAKES
from winback_local.commands import send
from winback_local.signing import new_secret
from winback_local.stack import StackInfo
from winback_shared.kafka import ensure_topics
from winback_shared.sources import STANDARD_WEBHOOKS_VENDORS, Vendor

API = {"base_url": "https://vendor.example", "token_env": "VENDOR_TOKEN"}


def source_of(vendor: Vendor) -> dict[str, object]:
    """A user's source of ``vendor``, as WINBACK_SOURCES would hold it."""
    secret = new_secret() if vendor in STANDARD_WEBHOOKS_VENDORS else f"{vendor}-secret-1"
    needs_api = vendor in (Vendor.SURVEYMONKEY, Vendor.QUALTRICS)
    return {"vendor": str(vendor), "secrets": [secret], **({"api": API} if needs_api else {})}


async def test_each_vendors_example_sent_from_a_file_is_accepted(
    infra_env: dict[str, object], tmp_path: Path
) -> None:
    sources = {f"my-{vendor}": source_of(vendor) for vendor in Vendor}
    settings = IngestSettings(**infra_env, sources=sources)  # type: ignore[arg-type]
    await ensure_topics(settings.kafka_bootstrap_servers, {settings.topics.survey_responses: 1})
    environ = {"WINBACK_SOURCES": json.dumps(sources)}
    async with serve(create_app(settings)) as url, httpx.AsyncClient() as client:
        stack = StackInfo(
            ingest_url=url,
            notifier_url=url,
            router_url=url,
            source=None,
            secret=None,
            agent_token="unused",
            kafka_bootstrap_servers=settings.kafka_bootstrap_servers,
            database_url="unused",
        )
        for vendor in Vendor:
            path = tmp_path / f"{vendor}.json"
            path.write_text(json.dumps(INTAKES[vendor].example, indent=2))
            posting = send.file_request(stack, str(path), io.StringIO(), f"my-{vendor}", environ)
            answer = await client.post(posting.url, content=posting.body, headers=posting.headers)
            assert answer.status_code == 202, f"{vendor}: {answer.text}"
