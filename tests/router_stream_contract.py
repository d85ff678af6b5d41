"""One suite for the router's broker protocols, run on the in-memory backend and on real Kafka.

The unit tests of the batch loop (``tests/unit/test_router_batches.py``) trust the in-memory
broker (``tests/router_memory.py``) to behave as Kafka does where the loop can tell: records per
partition in offset order, a commit names the next offset a restarted member reads, the high
watermark is the next offset, and a publish returns once its messages can be read. This suite
holds both backends to exactly that (getsentry/arroyo keeps its local and Kafka backends honest
the same way): ``tests/unit/test_router_stream_memory.py`` runs it in memory,
``tests/integration/test_router_stream_kafka.py`` on the broker.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from winback_router.stream import Message, Partition, Publisher, Record, RecordSource

Published = list[tuple[bytes | None, bytes, dict[str, bytes]]]
"""(key, value, headers) of each message on a topic, in order."""


class StreamRig(Protocol):
    """A backend under test: a two-partition input topic, a member of one group, a publisher."""

    @property
    def out_topic(self) -> str:
        """A one-partition topic to publish to."""
        ...

    @property
    def publisher(self) -> Publisher:
        """The backend's publisher."""
        ...

    async def produce(self, value: bytes, *, partition: int) -> None:
        """Write a record to the input topic, acknowledged."""
        ...

    async def member(self) -> RecordSource:
        """A subscribed, started member of the group; replaces (restarts) the previous one."""
        ...

    async def published(self, topic: str, count: int) -> Published:
        """What was published on ``topic``, once ``count`` messages can be read."""
        ...


async def fetch_at_least(source: RecordSource, count: int) -> dict[Partition, list[Record]]:
    """Fetch until ``count`` records came (a new member may first wait for its partitions)."""
    found: dict[Partition, list[Record]] = {}
    async with asyncio.timeout(30):
        while sum(len(records) for records in found.values()) < count:
            for partition, records in (await source.fetch(timeout_ms=200, max_records=500)).items():
                found.setdefault(partition, []).extend(records)
    return found


def by_number(batches: dict[Partition, list[Record]]) -> dict[int, list[tuple[int, bytes | None]]]:
    """Offsets and values per partition number."""
    return {p.partition: [(r.offset, r.value) for r in records] for p, records in batches.items()}


class StreamContract:
    """The tests; a subclass provides the ``rig`` fixture."""

    async def test_records_come_per_partition_in_offset_order(self, rig: StreamRig) -> None:
        for value, partition in [(b"a0", 0), (b"b0", 1), (b"a1", 0), (b"a2", 0), (b"b1", 1)]:
            await rig.produce(value, partition=partition)

        found = await fetch_at_least(await rig.member(), 5)

        assert by_number(found) == {
            0: [(0, b"a0"), (1, b"a1"), (2, b"a2")],
            1: [(0, b"b0"), (1, b"b1")],
        }

    async def test_a_restarted_member_resumes_at_the_committed_offset(self, rig: StreamRig) -> None:
        for value in (b"a0", b"a1", b"a2"):
            await rig.produce(value, partition=0)
        first = await rig.member()
        [partition] = await fetch_at_least(first, 3)

        await first.commit({partition: 2})
        found = await fetch_at_least(await rig.member(), 1)

        assert by_number(found) == {0: [(2, b"a2")]}

    async def test_highwater_is_the_offset_of_the_next_record(self, rig: StreamRig) -> None:
        for value in (b"a0", b"a1", b"a2"):
            await rig.produce(value, partition=0)
        source = await rig.member()
        [partition] = await fetch_at_least(source, 3)

        assert source.highwater(partition) == 3

    async def test_publish_returns_once_every_message_can_be_read(self, rig: StreamRig) -> None:
        await rig.publisher.publish(
            [
                Message(rig.out_topic, b"first", key=b"k1"),
                Message(rig.out_topic, b"second", key=b"k2", headers=[("error", b"why")]),
            ]
        )

        assert await rig.published(rig.out_topic, 2) == [
            (b"k1", b"first", {}),
            (b"k2", b"second", {"error": b"why"}),
        ]
