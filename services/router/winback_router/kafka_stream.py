"""The router's stream protocols (``stream.py``) on aiokafka: nothing here but translation.

aiokafka's ``TopicPartition`` and ``ConsumerRecord`` already have the shapes the protocols ask
for, so fetched batches pass through untouched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from winback_router.stream import Batches, Message, Partition
from winback_shared.kafka import reliable_producer

log = logging.getLogger("winback.router")

ALERT_BATCH_BYTES = 256 * 1024
"""The most one partition's next batch of alerts may hold (aiokafka's default is 16 KB).

A batch's alerts are queued at once and waited for together. The idempotent producer keeps one
request in flight per broker connection, and a message that finds its partition's batch full
waits until that batch is sent: at 16 KB (about six of the bench's alerts) a batch of 200
alerts took several round trips in turn, each also waiting for the GIL behind the coding
thread (docs/performance.md, section 23). 256 KB holds a batch's alerts for a partition in one
round trip, as ingest's ``PRODUCE_BATCH_BYTES`` does for its deliveries, well under the
broker's 1 MB limit on one batch; ``linger_ms`` stays 0, so nothing waits for a batch to fill.
"""


def alert_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    """The router's producer: the shared reliable settings, with room for a batch's alerts."""
    return reliable_producer(bootstrap_servers, max_batch_bytes=ALERT_BATCH_BYTES)


class _FinishBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Waits for the batch in flight (and its commit) before partitions move elsewhere."""

    def __init__(self, lock: asyncio.Lock, source: KafkaRecordSource) -> None:
        self._lock = lock
        self._source = source

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            if revoked:
                self._source.revocations += 1

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info(
            "partitions assigned",
            extra={"fields": {"partitions": sorted(str(tp) for tp in assigned)}},
        )


class KafkaRecordSource:
    """A ``RecordSource`` over an ``AIOKafkaConsumer`` with auto-commit off."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self.revocations = 0
        """Rebalances that took partitions from this member (``RecordSource.revocations``)."""

    def subscribe(self, topic: str, *, in_flight: asyncio.Lock) -> None:
        """Join the group; revocation waits for ``in_flight``."""
        self._consumer.subscribe([topic], listener=_FinishBeforeRevoke(in_flight, self))

    async def fetch(self, *, timeout_ms: int, max_records: int) -> Batches:
        """``getmany``: aiokafka's records and partitions as they are."""
        batches: Batches = await self._consumer.getmany(
            timeout_ms=timeout_ms, max_records=max_records
        )
        return batches

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Commit synchronously: returns once the group coordinator has the offsets."""
        await self._consumer.commit(dict(offsets))

    def highwater(self, partition: Partition) -> int | None:
        """The last fetched high watermark of ``partition``."""
        highwater: int | None = self._consumer.highwater(partition)
        return highwater


class KafkaPublisher:
    """A ``Publisher`` over a started ``AIOKafkaProducer`` (``acks=all``, idempotent)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def publish(self, messages: Sequence[Message]) -> None:
        """Queue every message first, then wait for every acknowledgement together."""
        pending = [
            await self._producer.send(
                message.topic,
                message.value,
                key=message.key,
                headers=list(message.headers) or None,
            )
            for message in messages
        ]
        await asyncio.gather(*pending)
