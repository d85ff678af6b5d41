"""The router's broker protocols in memory (suite: ``tests/router_stream_contract.py``)."""

from __future__ import annotations

import asyncio

import pytest

from tests.router_memory import Journal, MemoryPublisher, MemoryRecordSource
from tests.router_stream_contract import Published, StreamContract
from winback_router.stream import RecordSource


class MemoryStreamRig:
    """The in-memory broker: one input topic, one group, one publisher."""

    out_topic = "alerts"

    def __init__(self) -> None:
        journal: Journal = []
        self._records = MemoryRecordSource(journal, topic="responses")
        self.publisher = MemoryPublisher(journal)

    async def produce(self, value: bytes, *, partition: int) -> None:
        """Append to the partition."""
        self._records.append(value, partition=partition)

    async def member(self) -> RecordSource:
        """The same source, restarted from the group's commits."""
        self._records.restart()
        self._records.subscribe("responses", in_flight=asyncio.Lock())
        return self._records

    async def published(self, topic: str, count: int) -> Published:
        """What the publisher acknowledged on ``topic``."""
        messages = self.publisher.on(topic)
        assert len(messages) == count
        return [(m.key, m.value, dict(m.headers)) for m in messages]


class TestMemoryStream(StreamContract):
    """The suite on memory."""

    @pytest.fixture
    def rig(self) -> MemoryStreamRig:
        """A fresh in-memory broker."""
        return MemoryStreamRig()
