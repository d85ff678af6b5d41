"""Kafka helpers: the producer and consumer settings every service must agree on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import TopicAlreadyExistsError

from winback_shared.transient import is_transient

log = logging.getLogger(__name__)


Partitioner = Callable[[bytes | None, list[int], list[int]], int]
"""aiokafka's partitioner: (key, all partitions, available partitions) -> partition."""

DEFAULT_BATCH_BYTES = 16 * 1024
"""aiokafka's own cap on one partition's batch."""


def reliable_producer(
    bootstrap_servers: str,
    *,
    request_timeout_ms: int = 10_000,
    max_batch_bytes: int = DEFAULT_BATCH_BYTES,
    partitioner: Partitioner | None = None,
) -> AIOKafkaProducer:
    """A producer whose acknowledged writes survive broker restarts and are never duplicated.

    ``enable_idempotence`` implies ``acks="all"`` and keeps one batch in flight per partition, so
    records with the same key stay in order. With ``linger_ms=0`` a record is sent at once if
    nothing is in flight, and the records that arrive meanwhile wait, in the partition's next
    batch, for the one in flight; ``max_batch_bytes`` caps that batch, and a record that finds
    it full waits a further round trip (ingest raises it: docs/performance.md, section 6).
    A ``partitioner`` must put each key where aiokafka's default does (murmur2), or records of
    one key written before and after it would be on two partitions.
    """
    options: dict[str, Any] = {} if partitioner is None else {"partitioner": partitioner}
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=0,
        max_batch_size=max_batch_bytes,
        request_timeout_ms=request_timeout_ms,
        **options,
    )


FETCH_BYTES_PER_PARTITION = 256 * 1024
"""How much of one partition a fetch brings at most (aiokafka's default is 1 MB). The consumer
keeps a fetched response twice while it decodes it (the bytes read and the records' copy), for
every partition it reads: with 1 MB a router reading six partitions behind held 12.6 MB for
records it would take 25 batches of 200 to use (docs/performance.md, section 37). A quarter
still brings about a batch a partition; a record larger than this still comes, alone."""


def manual_commit_consumer(
    bootstrap_servers: str,
    *topics: str,
    group_id: str | None,
    offset_reset: str = "earliest",
    group_instance_id: str | None = None,
    session_timeout_seconds: float = 10.0,
) -> AIOKafkaConsumer:
    """A consumer that never commits on its own: offsets move only after work is durable.

    ``group_instance_id`` makes it a static member of its group (KIP-345): restarted under the
    same id within ``session_timeout_seconds``, it gets its partitions back without a
    rebalance. Heartbeats go at a third of the session timeout (at most every 3 s), as Kafka
    advises.
    """
    session_ms = int(session_timeout_seconds * 1000)
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        group_instance_id=group_instance_id,
        session_timeout_ms=session_ms,
        heartbeat_interval_ms=min(3000, session_ms // 3),
        enable_auto_commit=False,
        auto_offset_reset=offset_reset,
        isolation_level="read_committed",
        max_partition_fetch_bytes=FETCH_BYTES_PER_PARTITION,
    )


REPLICATION_FACTOR_CONFIG = "default.replication.factor"


async def ensure_topics(bootstrap_servers: str, topics: dict[str, int]) -> None:
    """Create missing topics (name → partitions); existing ones are left as they are.

    New topics get the cluster's own ``default.replication.factor`` (1 on a single local broker,
    3 on the local three-broker cluster), so the replication of the data is the cluster's
    decision, not a number each service must be told.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        names = [name for name in topics if name not in existing]
        if names:
            replicas = await _default_replication_factor(admin)
            missing = [
                NewTopic(name=name, num_partitions=topics[name], replication_factor=replicas)
                for name in names
            ]
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another service created it first
            await _wait_for_leaders(admin, names)
    finally:
        await admin.close()


async def _default_replication_factor(admin: AIOKafkaAdminClient) -> int:
    """The replication factor the cluster gives topics created without one."""
    metadata = await admin._client.fetch_all_metadata()
    broker = min(b.nodeId for b in metadata.brokers())
    wanted = ConfigResource(
        ConfigResourceType.BROKER, str(broker), {REPLICATION_FACTOR_CONFIG: None}
    )
    responses = await admin.describe_configs([wanted])
    return replication_factor_from(responses[0].to_object())


def replication_factor_from(described: dict[str, Any]) -> int:
    """``default.replication.factor`` out of a broker's DescribeConfigs answer (1 if absent)."""
    for resource in described["resources"]:
        for entry in resource["config_entries"]:
            if entry["config_names"] == REPLICATION_FACTOR_CONFIG:
                return int(entry["config_value"])
    return 1


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """A topic is usable only once each partition has a leader; creation returns before that."""
    for _ in range(100):
        described = await admin.describe_topics(names)
        if all(
            t.get("error_code", 0) == 0
            and t["partitions"]
            and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.05)
    log.warning("topics created but leaders not yet elected", extra={"fields": {"topics": names}})


async def broker_answers(client: AIOKafkaClient, timeout_seconds: float = 2.0) -> bool:
    """Readiness probe: does a broker answer a metadata request within the timeout?

    An outage (:mod:`winback_shared.transient`) answers ``False``; anything else is raised, so
    ``/readyz`` fails with the error in the logs.
    """
    try:
        async with asyncio.timeout(timeout_seconds):
            metadata = await client.fetch_all_metadata()
    except Exception as exc:
        if not is_transient(exc):
            raise
        return False
    return bool(metadata.brokers())
