"""What Kafka and PostgreSQL do on their own with the same records: the pipeline's ceilings.

Each ceiling uses the project's own client settings (:mod:`winback_shared.kafka`) and the same
~1 KB bodies the generator sends, so pipeline ÷ ceiling says how much of the infrastructure the
services manage to use, whatever else is loading the machine at the time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from winback_shared.kafka import ensure_topics, manual_commit_consumer, reliable_producer
from winback_shared.startup import DEFAULT_PARTITIONS

INSERT_BATCH = 500
"""Rows per transaction, as one fetched batch of the router's would be."""


async def kafka_passthrough(bootstrap: str, bodies: Sequence[bytes], timeout: float = 120) -> float:
    """Records per second produced (acks=all, idempotent) and consumed back, on a fresh topic."""
    topic = f"bench-ceiling-{uuid4().hex[:12]}"
    await ensure_topics(bootstrap, {topic: DEFAULT_PARTITIONS})
    producer = reliable_producer(bootstrap)
    consumer = manual_commit_consumer(bootstrap, topic, group_id=None)
    try:
        await consumer.start()
        await producer.start()
        async with asyncio.timeout(timeout):
            started = time.perf_counter()
            acks = [
                await producer.send(topic, body, key=str(i).encode())
                for i, body in enumerate(bodies)
            ]
            received = 0
            while received < len(bodies):
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                received += sum(len(records) for records in batches.values())
            await asyncio.gather(*acks)
            return len(bodies) / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()


async def postgres_inserts(database_url: str, bodies: Sequence[bytes]) -> float:
    """Rows per second inserted in batches, one transaction each, into a temporary table."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "CREATE TEMP TABLE bench_responses (response_id text PRIMARY KEY, source text NOT"
            " NULL, received_at timestamptz NOT NULL, payload jsonb NOT NULL)"
        )
        now = datetime.now(UTC)
        rows = [(f"ceiling-{i}", "demo", now, body.decode()) for i, body in enumerate(bodies)]
        started = time.perf_counter()
        for first in range(0, len(rows), INSERT_BATCH):
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO bench_responses VALUES ($1, $2, $3, $4::jsonb)",
                    rows[first : first + INSERT_BATCH],
                )
        return len(rows) / (time.perf_counter() - started)
    finally:
        await conn.close()
