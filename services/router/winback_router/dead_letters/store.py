"""Dead letters: authentic deliveries the router could not normalise, kept to be replayed.

Each one is written to the ``dead_letters`` table (in the batch's transaction, so it is never
lost or doubled) and copied to the dead-letter topic for whoever watches the stream. Replaying
puts the original record back on the input topic with its original key, so it takes exactly the
path it took the first time, through the fixed adapter or field map; the idempotent store makes
a replayed response that already succeeded harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from winback_shared.db import Connection

REPLAY_HEADER = "winback-replay-of"
MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class DeadLetter:
    """One record that could not be normalised, and why."""

    id: int
    receipt_id: str | None
    source: str | None
    vendor: str | None
    error: str
    topic: str
    partition: int
    offset: int
    created_at: datetime
    replayed_at: datetime | None
    replay_count: int
    replay_of: int | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> DeadLetter:
        """Build from a ``dead_letters`` row."""
        return cls(
            id=row["id"],
            receipt_id=row["receipt_id"],
            source=row["source"],
            vendor=row["vendor"],
            error=row["error"],
            topic=row["topic"],
            partition=row["kafka_partition"],
            offset=row["kafka_offset"],
            created_at=row["created_at"],
            replayed_at=row["replayed_at"],
            replay_count=row["replay_count"],
            replay_of=row["replay_of"],
        )

    def as_json(self) -> dict[str, Any]:
        """For the ops endpoint and the CLI's ``--json``."""
        data = self.__dict__.copy()
        for name in ("created_at", "replayed_at"):
            data[name] = data[name].isoformat() if data[name] else None
        return data


@dataclass(frozen=True)
class Failure:
    """Where a failed record came from and what is known about it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    record: bytes
    error: str
    receipt_id: str | None
    source: str | None
    vendor: str | None
    replay_of: int | None


async def record_dead_letters(conn: Connection, failures: Sequence[Failure]) -> None:
    """Keep every failed record with why; a Kafka position already kept is kept once."""
    if not failures:
        return
    await conn.execute(
        """
        INSERT INTO dead_letters (topic, kafka_partition, kafka_offset, record, record_key, error,
                                  receipt_id, source, vendor, replay_of)
        SELECT topic, kafka_partition, kafka_offset, record, record_key, error,
               receipt_id, source, vendor, replay_of
        FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::bytea[], $5::bytea[],
                    $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
             WITH ORDINALITY AS f(topic, kafka_partition, kafka_offset, record, record_key,
                                  error, receipt_id, source, vendor, replay_of, position)
        ORDER BY position
        ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
        """,
        [failure.topic for failure in failures],
        [failure.partition for failure in failures],
        [failure.offset for failure in failures],
        [failure.record for failure in failures],
        [failure.key for failure in failures],
        [failure.error[:MAX_ERROR_CHARS] for failure in failures],
        [failure.receipt_id for failure in failures],
        [failure.source for failure in failures],
        [failure.vendor for failure in failures],
        [failure.replay_of for failure in failures],
    )


async def list_dead_letters(
    conn: Connection | asyncpg.Pool,
    *,
    pending_only: bool = True,
    source: str | None = None,
    limit: int = 100,
) -> list[DeadLetter]:
    """Newest first; by default only those not replayed yet."""
    rows = await conn.fetch(
        """
        SELECT * FROM dead_letters
        WHERE ($1::boolean IS FALSE OR replayed_at IS NULL)
          AND ($2::text IS NULL OR source = $2)
        ORDER BY id DESC LIMIT $3
        """,
        pending_only,
        source,
        limit,
    )
    return [DeadLetter.from_row(row) for row in rows]


async def get_dead_letter(
    conn: Connection | asyncpg.Pool, letter_id: int
) -> tuple[DeadLetter, bytes] | None:
    """One dead letter with its original record."""
    row = await conn.fetchrow("SELECT * FROM dead_letters WHERE id = $1", letter_id)
    return None if row is None else (DeadLetter.from_row(row), bytes(row["record"]))


async def replay_dead_letters(
    pool: asyncpg.Pool, producer: AIOKafkaProducer, topic: str, ids: list[int]
) -> list[int]:
    """Put these records back on the input topic; returns the ids replayed.

    The publish is acknowledged before the row is marked, so a crash in between replays again,
    which the idempotent store absorbs. Rows are locked while replaying so two operators
    replaying at once do not both publish.
    """
    replayed: list[int] = []
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT id, record, record_key FROM dead_letters WHERE id = ANY($1::bigint[])"
            " ORDER BY id FOR UPDATE",
            ids,
        )
        for row in rows:
            await producer.send_and_wait(
                topic,
                bytes(row["record"]),
                key=bytes(row["record_key"]) if row["record_key"] is not None else None,
                headers=[(REPLAY_HEADER, str(row["id"]).encode())],
            )
            replayed.append(row["id"])
        await conn.execute(
            "UPDATE dead_letters SET replayed_at = now(), replay_count = replay_count + 1"
            " WHERE id = ANY($1::bigint[])",
            replayed,
        )
    return replayed
