"""The router's broker protocols on the real broker (suite: ``tests/router_stream_contract.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer

from tests.router_stream_contract import Published, StreamContract
from winback_router.kafka_stream import KafkaPublisher, KafkaRecordSource
from winback_router.stream import RecordSource
from winback_shared.kafka import ensure_topics, manual_commit_consumer, reliable_producer


class KafkaStreamRig:
    """Fresh topics and a fresh group on the test broker; members restart by replacement."""

    def __init__(self, bootstrap_servers: str, unique: str) -> None:
        self._bootstrap = bootstrap_servers
        self.topic = f"responses-{unique}"
        self.out_topic = f"alerts-{unique}"
        self._group = f"stream-{unique}"
        self._producer = reliable_producer(bootstrap_servers)
        self.publisher = KafkaPublisher(self._producer)
        self._member: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Create the topics and start the producer."""
        await ensure_topics(self._bootstrap, {self.topic: 2, self.out_topic: 1})
        await self._producer.start()

    async def stop(self) -> None:
        """Stop the member and the producer."""
        if self._member is not None:
            await self._member.stop()
        await self._producer.stop()

    async def produce(self, value: bytes, *, partition: int) -> None:
        """Write and wait for the acknowledgement."""
        await self._producer.send_and_wait(self.topic, value, partition=partition)

    async def member(self) -> RecordSource:
        """Stop the previous member (leaving the group) and start a new one, as a restart does."""
        if self._member is not None:
            await self._member.stop()
        self._member = manual_commit_consumer(self._bootstrap, group_id=self._group)
        source = KafkaRecordSource(self._member)
        source.subscribe(self.topic, in_flight=asyncio.Lock())
        await self._member.start()
        return source

    async def published(self, topic: str, count: int) -> Published:
        """Read ``topic`` from the start, with no group, until ``count`` messages came."""
        reader = manual_commit_consumer(self._bootstrap, topic, group_id=None)
        await reader.start()
        found: Published = []
        try:
            async with asyncio.timeout(30):
                while len(found) < count:
                    for batch in (await reader.getmany(timeout_ms=200)).values():
                        found += [(r.key, r.value, dict(r.headers)) for r in batch]
        finally:
            await reader.stop()
        return found


class TestKafkaStream(StreamContract):
    """The suite on the broker."""

    @pytest.fixture
    async def rig(self, kafka_bootstrap: str, unique: str) -> AsyncIterator[KafkaStreamRig]:
        """Fresh topics and group for this test."""
        rig = KafkaStreamRig(kafka_bootstrap, unique)
        await rig.start()
        try:
            yield rig
        finally:
            await rig.stop()


async def test_a_rebalance_that_takes_partitions_waits_for_the_batch_in_flight_and_counts(
    kafka_bootstrap: str, unique: str
) -> None:
    """The loop drops a batch fetched before a revocation (``RecordSource.revocations``); the
    count moves only once the batch in flight (``in_flight``) is done."""
    topic, group = f"responses-{unique}", f"revoke-{unique}"
    await ensure_topics(kafka_bootstrap, {topic: 2})
    first = manual_commit_consumer(kafka_bootstrap, group_id=group)
    second = manual_commit_consumer(kafka_bootstrap, group_id=group)
    in_flight = asyncio.Lock()
    source = KafkaRecordSource(first)
    source.subscribe(topic, in_flight=in_flight)
    await first.start()
    try:
        async with asyncio.timeout(30):
            while not first.assignment():
                await source.fetch(timeout_ms=200, max_records=10)
        assert source.revocations == 0
        await in_flight.acquire()  # a batch in flight
        second.subscribe([topic])
        joining = asyncio.create_task(second.start())
        fetching = asyncio.create_task(source.fetch(timeout_ms=3000, max_records=10))
        await asyncio.sleep(1)
        assert source.revocations == 0  # the rebalance waits for the batch
        in_flight.release()
        async with asyncio.timeout(30):
            while source.revocations == 0:
                await source.fetch(timeout_ms=200, max_records=10)
        await fetching
        await joining
        assert source.revocations == 1
    finally:
        await second.stop()
        await first.stop()
