"""Which responses a run re-codes: those named by the input topic, or those stored.

The Kafka replay reads ``survey-responses`` with no consumer group, assigning itself every
partition, so it commits nothing and never joins (or rebalances) the routers' group. It reads
up to the end offsets it found when it started, so a run ends even while traffic flows; what
arrives later is coded by the routers themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeAlias

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from winback_router.adapters import AdapterContext, InvalidPayload, NotASurveyResponse, normalise
from winback_router.adapters.vendor_api import VendorUnavailable
from winback_router.recoding.report import ReplayCounts
from winback_router.recoding.store import count_in_window, ids_in_window
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.kafka import manual_commit_consumer
from winback_shared.sources import Sources

Key: TypeAlias = tuple[str, str]
"""(source, response id): what identifies a stored response."""
Record: TypeAlias = "ConsumerRecord[bytes, bytes]"

NORMALISE_CONCURRENCY = 8


class ReplayStalled(Exception):
    """Kafka stopped returning records before the replay reached the end it set out for."""


@dataclass(frozen=True)
class Window:
    """Which responses to re-code: received in ``[since, until)``, from ``source`` if given.

    From Kafka the time is the record's timestamp (any delivery of a response in the window
    names it); from PostgreSQL it is the response's ``received_at`` (its first delivery).
    """

    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None

    def holds(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside the window."""
        return (self.since is None or moment >= self.since) and (
            self.until is None or moment < self.until
        )


class KafkaReplay:
    """Reads the input topic from the window's start and names the responses in it."""

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        sources: Sources,
        context: AdapterContext,
        stall_seconds: float = 30.0,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._sources = sources
        self._context = context
        self._stall_seconds = stall_seconds

    async def keys(
        self, window: Window, counts: ReplayCounts, *, batch: int = 500
    ) -> AsyncIterator[list[Key]]:
        """Yield the keys of each fetched batch of records, in offset order per partition.

        Records that cannot be normalised (dead letters), events that are no survey response
        and responses whose vendor API is down are counted in ``counts`` and skipped.
        """
        consumer = manual_commit_consumer(self._bootstrap_servers, group_id=None)
        await consumer.start()
        try:
            ends = await self._assign_and_seek(consumer, window, counts)
            remaining = {tp for tp, end in ends.items() if await consumer.position(tp) < end}
            loop = asyncio.get_running_loop()
            idle_since = loop.time()
            while remaining:
                fetched = await consumer.getmany(*remaining, timeout_ms=500, max_records=batch)
                records = [
                    record
                    for tp, found in fetched.items()
                    for record in found
                    if record.offset < ends[tp]
                ]
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
                if not records:
                    if remaining and loop.time() - idle_since > self._stall_seconds:
                        raise ReplayStalled(
                            f"no records from {self._topic} for {self._stall_seconds:g}s "
                            f"with {len(remaining)} partition(s) unfinished; is Kafka up?"
                        )
                    continue
                idle_since = loop.time()
                counts.records_read += len(records)
                yield await self._keys_of(records, window, counts)
        finally:
            await consumer.stop()

    async def _assign_and_seek(
        self, consumer: AIOKafkaConsumer, window: Window, counts: ReplayCounts
    ) -> dict[TopicPartition, int]:
        """Assign every partition, seek to the window's start; return where each ends now."""
        # The public ``partitions_for_topic`` only knows topics already in the client's cached
        # metadata; a fresh fetch is the one way to learn a topic's partitions without a group.
        cluster = await consumer._client.fetch_all_metadata()
        numbers = cluster.partitions_for_topic(self._topic)
        if not numbers:
            raise ValueError(f"topic {self._topic!r} does not exist or has no partitions")
        partitions = [TopicPartition(self._topic, number) for number in sorted(numbers)]
        consumer.assign(partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        starts: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
        if window.since is not None:
            moment = int(window.since.timestamp() * 1000)
            found = await consumer.offsets_for_times(dict.fromkeys(partitions, moment))
            starts = {tp: found[tp].offset if found[tp] else ends[tp] for tp in partitions}
        for tp in partitions:
            consumer.seek(tp, starts[tp])
        counts.records_total += sum(ends[tp] - starts[tp] for tp in partitions)
        return ends

    async def _keys_of(
        self, records: list[Record], window: Window, counts: ReplayCounts
    ) -> list[Key]:
        limit = asyncio.Semaphore(NORMALISE_CONCURRENCY)

        async def key_of(record: Record) -> Key | None:
            async with limit:
                return await self._key_of(record, window, counts)

        keys = await asyncio.gather(*(key_of(record) for record in records))
        return [key for key in keys if key is not None]

    async def _key_of(self, record: Record, window: Window, counts: ReplayCounts) -> Key | None:
        if not window.holds(datetime.fromtimestamp(record.timestamp / 1000, UTC)):
            counts.outside_filter += 1
            return None
        try:
            envelope = SurveyReceived.from_bytes(record.value or b"")
        except (ValidationError, ValueError):
            counts.not_normalised += 1
            return None
        if window.source is not None and envelope.source != window.source:
            counts.outside_filter += 1
            return None
        try:
            response = await normalise(envelope, self._sources, self._context)
        except NotASurveyResponse:
            counts.not_a_response += 1
            return None
        except (ValidationError, InvalidPayload):
            counts.not_normalised += 1
            return None
        except VendorUnavailable:
            counts.unresolved += 1
            return None
        return response.source, response.response_id


async def stored_ids(
    pool: asyncpg.Pool, window: Window, counts: ReplayCounts, *, batch: int = 200
) -> AsyncIterator[list[int]]:
    """Yield pages of stored response row ids first received in the window, oldest id first."""
    async with pool.acquire() as conn:
        counts.records_total += await count_in_window(
            conn, since=window.since, until=window.until, source=window.source
        )
    after = 0
    while True:
        async with pool.acquire() as conn:
            ids = await ids_in_window(
                conn,
                after_id=after,
                limit=batch,
                since=window.since,
                until=window.until,
                source=window.source,
            )
        if not ids:
            return
        counts.records_read += len(ids)
        after = ids[-1]
        yield ids
