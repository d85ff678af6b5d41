"""The router's Kafka producer: the shared reliable settings, with room for a batch's alerts."""

from __future__ import annotations

from winback_router.kafka_stream import ALERT_BATCH_BYTES, alert_producer

BROKER_BATCH_LIMIT = 1_048_588
"""Kafka's default ``message.max.bytes``: the largest batch a broker takes."""


async def test_the_alert_producer_has_room_for_a_batch_and_keeps_the_guarantees() -> None:
    """Built, never started: no broker is reached."""
    producer = alert_producer("127.0.0.1:9")
    try:
        assert producer._message_accumulator._batch_size == ALERT_BATCH_BYTES
        assert 16 * 1024 < ALERT_BATCH_BYTES < BROKER_BATCH_LIMIT
        # Idempotent, every replica acknowledges, nothing waits for a batch to fill.
        assert producer._txn_manager is not None
        assert producer._sender._acks == -1
        assert producer._message_accumulator._linger_time == 0
    finally:
        await producer.stop()
