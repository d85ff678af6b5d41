"""``WINBACK_TOPIC_PARTITIONS`` decides how many partitions the topics a service creates get:
the ceiling on how many routers can share the work (issue 16: e.g. 12 for a cluster)."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from winback_shared.db import create_pool
from winback_shared.settings import CommonSettings, KafkaTopics
from winback_shared.startup import prepare_infrastructure


async def partition_counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
        return {found["topic"]: len(found["partitions"]) for found in described}
    finally:
        await admin.close()


async def test_services_create_topics_with_the_configured_partitions(
    infra_env: dict[str, object], topics: KafkaTopics, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINBACK_TOPIC_PARTITIONS", "12")
    settings = CommonSettings(**infra_env)  # type: ignore[arg-type]
    assert settings.topic_partitions == 12
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        await prepare_infrastructure(settings, pool, as_service=False)
    finally:
        await pool.close()
    names = list(topics.model_dump().values())
    assert await partition_counts(settings.kafka_bootstrap_servers, names) == dict.fromkeys(
        names, 12
    )
