"""What the router's batch logic needs from a broker: records in, messages out, offsets committed.

The consumer loop (``consumer.py``) is written against these protocols only, so the order it
promises (store, publish and wait for the acknowledgement, mark alerted, then commit) can be
tested without Kafka. ``kafka_stream.py`` satisfies them with aiokafka in production;
``tests/router_memory.py`` satisfies them in memory for the unit tests. The shapes follow
aiokafka's own (``TopicPartition``, ``ConsumerRecord``), so the Kafka side is a thin adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Partition(Protocol):
    """One partition of a topic; a dictionary key, so equal partitions must hash alike."""

    @property
    def topic(self) -> str:
        """The topic it belongs to."""
        ...

    @property
    def partition(self) -> int:
        """Its number within the topic."""
        ...


class Record(Protocol):
    """One record as fetched: where it sits, and what it carries."""

    @property
    def topic(self) -> str:
        """The topic it was read from."""
        ...

    @property
    def partition(self) -> int:
        """The partition it was read from."""
        ...

    @property
    def offset(self) -> int:
        """Its position in that partition."""
        ...

    @property
    def key(self) -> bytes | None:
        """The record's key, if it has one."""
        ...

    @property
    def value(self) -> bytes | None:
        """The record's payload."""
        ...

    @property
    def headers(self) -> Sequence[tuple[str, bytes]]:
        """The record's headers, in order."""
        ...


Batches = Mapping[Partition, Sequence[Record]]
"""Records fetched at once, per partition, each partition's in offset order."""


class RecordSource(Protocol):
    """Where records come from and where progress is recorded (a consumer group member)."""

    def subscribe(self, topic: str, *, in_flight: asyncio.Lock) -> None:
        """Join the group on ``topic``; a partition is only given up while ``in_flight`` is free.

        The loop holds ``in_flight`` from storing a batch until its commit, so a rebalance
        never hands a partition over with a batch stored but not yet committed.
        """
        ...

    @property
    def revocations(self) -> int:
        """How many times a rebalance took this member's partitions (counted while holding
        ``in_flight``): a batch fetched before the count changed must not be stored."""
        ...

    async def fetch(self, *, timeout_ms: int, max_records: int) -> Batches:
        """The next records, waiting up to ``timeout_ms`` for some; empty if none came."""
        ...

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Record, per partition, the offset of the next record to read after a restart."""
        ...

    def highwater(self, partition: Partition) -> int | None:
        """The offset the partition's next record will get, if known (for the lag metric)."""
        ...


@dataclass(frozen=True)
class Message:
    """One record to publish."""

    topic: str
    value: bytes
    key: bytes | None
    headers: Sequence[tuple[str, bytes]] = field(default_factory=tuple)


class Publisher(Protocol):
    """Where alerts and dead-letter copies go."""

    async def publish(self, messages: Sequence[Message]) -> None:
        """Send every message and return only once the broker has acknowledged all of them.

        Raises if any is refused or not acknowledged in time. The batch is then retried, so a
        message may be written twice; consoles dedupe alerts by case and ``seq``.
        """
        ...
