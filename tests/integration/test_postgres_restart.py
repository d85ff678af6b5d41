"""The pipeline rides out PostgreSQL terminating its connections, as a restart does.

A restart (``pg_ctl stop -m fast``) ends every backend with 57P01; ``pg_terminate_backend`` does
the same to chosen ones. The shared test server is never restarted, so this module names its
services' connections (``application_name``) and terminates only those, again and again while
responses flow: mid-query, idle in a pool, and held by the router across its Kafka publish.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from tests.support import Pipeline, eventually
from winback_shared.settings import KafkaTopics
from winback_shared.urls import with_query

RESPONSES = 12


def application(unique: str) -> str:
    return f"winback-restart-{unique}"


@pytest.fixture
def infra_env(
    kafka_bootstrap: str, schema_url: str, topics: KafkaTopics, unique: str
) -> dict[str, object]:
    """As conftest's, with this test's connections named so it can find (and end) them."""
    return {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "database_url": with_query(schema_url, application_name=application(unique)),
        "topics": topics,
    }


async def test_terminated_connections_are_retried_not_fatal(
    pipeline: Pipeline, database_url: str, unique: str, router_failures: list[BaseException]
) -> None:
    admin = await asyncpg.connect(database_url)
    stop = asyncio.Event()
    terminated = 0

    async def restarts() -> None:
        nonlocal terminated
        while not stop.is_set():
            terminated += await admin.fetchval(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1",
                application(unique),
            )
            await asyncio.sleep(0.05)

    killer = asyncio.create_task(restarts())
    try:
        for _ in range(RESPONSES):
            assert (await pipeline.post(pipeline.sample(nps=1))).status_code == 202
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await killer
        await admin.close()

    async def all_alerted() -> bool:
        return bool(
            await pipeline.pool.fetchval(
                "SELECT count(*) = $1 FROM recovery_cases WHERE alerted_at IS NOT NULL", RESPONSES
            )
        )

    assert terminated > RESPONSES
    assert await eventually(all_alerted, timeout=30)
    assert router_failures == []  # and the pipeline fixture checks the notifier's loops
