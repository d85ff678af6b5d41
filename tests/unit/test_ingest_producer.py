"""Ingest's Kafka producer: the shared reliable settings, room for a round trip's records, the
faster partitioner."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner

from tests.support import generic_source
from winback_ingest import app as ingest_app
from winback_ingest.partitioner import KeyPartitioner
from winback_ingest.publisher import PRODUCE_BATCH_BYTES, DeliveryPublisher
from winback_ingest.settings import IngestSettings
from winback_shared.kafka import DEFAULT_BATCH_BYTES, reliable_producer

BROKER_BATCH_LIMIT = 1_048_588
"""Kafka's default ``message.max.bytes``: the largest batch a broker takes."""


async def test_the_reliable_producer_caps_each_batch_as_asked() -> None:
    """Built, never started: no broker is reached."""
    larger = reliable_producer(
        "127.0.0.1:9", max_batch_bytes=PRODUCE_BATCH_BYTES, partitioner=KeyPartitioner()
    )
    default = reliable_producer("127.0.0.1:9")
    try:
        assert larger._message_accumulator._batch_size == PRODUCE_BATCH_BYTES
        assert default._message_accumulator._batch_size == DEFAULT_BATCH_BYTES
        assert isinstance(larger._partitioner, KeyPartitioner)
        assert isinstance(default._partitioner, DefaultPartitioner)
        # The guarantees stay: idempotent, every replica acknowledges, nothing waits to batch.
        for producer in (larger, default):
            assert producer._txn_manager is not None
            assert producer._sender._acks == -1
            assert producer._message_accumulator._linger_time == 0
    finally:
        await larger.stop()
        await default.stop()


async def test_ingest_publishes_with_its_larger_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: dict[str, Any] = {}

    class Producer:
        async def start(self) -> None:
            asked["started"] = True

        async def stop(self) -> None:
            asked["stopped"] = True

    def producer(bootstrap_servers: str, **options: Any) -> Producer:
        asked.update(options, bootstrap_servers=bootstrap_servers)
        return Producer()

    monkeypatch.setattr(ingest_app, "reliable_producer", producer)
    settings = IngestSettings(sources={"survey": generic_source("whsec_" + "A" * 32)})
    app = ingest_app.create_app(settings)
    async with app.router.lifespan_context(app):
        assert isinstance(app.state.publisher, DeliveryPublisher)
    assert isinstance(asked.pop("partitioner"), KeyPartitioner)
    assert asked == {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "max_batch_bytes": PRODUCE_BATCH_BYTES,
        "started": True,
        "stopped": True,
    }
    assert DEFAULT_BATCH_BYTES < PRODUCE_BATCH_BYTES < BROKER_BATCH_LIMIT
