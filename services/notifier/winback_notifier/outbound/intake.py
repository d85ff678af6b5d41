"""From Kafka to the delivery table: a consumer group on ``recovery-alerts`` and ``case-events``.

Why a consumer group feeding a table, rather than either alone: the topics are already the
durable, ordered record of every case event (the notifier's outbox puts each change there at
least once), so outbound needs no second outbox in the case workflow's transactions; but an
offset cannot wait for one slow endpoint without holding up every other, nor keep a delivery's
attempts, dead letter and replay. So the consumer only records: each batch's events become
rows in ``outbound_deliveries`` (one per subscription that takes the event, unique per event),
committed to PostgreSQL, and only then are the offsets committed. A crash in between records
the batch again, which adds nothing. Each endpoint's sender then works from the table at its
own pace.

A record that does not parse is logged and skipped: it is not ours to dead-letter (the
notifier's feed reads the same record and is where such a bug shows first).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from winback_notifier.outbound import store
from winback_notifier.outbound.events import OutboundEvent, from_alert, from_change
from winback_notifier.outbound.metrics import OUTBOUND_RECORDED
from winback_shared.events.case_events import CASE_EVENT, CaseChanged
from winback_shared.events.recovery_alerts import RECOVERY_ALERT, RecoveryCaseOpened
from winback_shared.transient import is_transient

log = logging.getLogger("winback.outbound")

RETRY_SECONDS = 1.0


def outbound_event(topic: str, raw: bytes, *, case_events_topic: str) -> OutboundEvent | None:
    """The outbound event in one record, if it holds one (raises ``ValidationError``)."""
    if topic == case_events_topic:
        event = CASE_EVENT.validate_json(raw)
        return from_change(event) if isinstance(event, CaseChanged) else None
    alert = RECOVERY_ALERT.validate_json(raw)
    return from_alert(alert) if isinstance(alert, RecoveryCaseOpened) else None


class Intake:
    """Records each batch's events, then commits its offsets; ``on_recorded`` wakes senders."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        pool: asyncpg.Pool,
        case_events_topic: str,
        on_recorded: Callable[[], None],
    ) -> None:
        self.consumer = consumer
        self._pool = pool
        self._case_events_topic = case_events_topic
        self._on_recorded = on_recorded

    def events(self, records: list[ConsumerRecord]) -> list[OutboundEvent]:
        """The outbound events of a batch, unreadable records logged and left out."""
        found = []
        for record in records:
            try:
                event = outbound_event(
                    record.topic, record.value, case_events_topic=self._case_events_topic
                )
            except ValidationError as exc:
                log.error(
                    "unreadable case event skipped",
                    extra={
                        "fields": {
                            "topic": record.topic,
                            "offset": record.offset,
                            "error": str(exc)[:300],
                        }
                    },
                )
                continue
            if event is not None:
                found.append(event)
        return found

    async def run(self) -> None:
        """Consume until cancelled; PostgreSQL outages are waited out without committing."""
        while True:
            batches = await self.consumer.getmany(timeout_ms=1000, max_records=500)
            if not batches:
                continue
            events = self.events([record for records in batches.values() for record in records])
            while True:
                try:
                    added = await store.record(self._pool, events) if events else 0
                    break
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    log.warning(
                        "recording deliveries failed; retrying",
                        extra={"fields": {"error": repr(exc)}},
                    )
                    await asyncio.sleep(RETRY_SECONDS)
            OUTBOUND_RECORDED.inc(added)
            try:
                await self.consumer.commit(
                    {partition: records[-1].offset + 1 for partition, records in batches.items()}
                )
            except CommitFailedError:
                # A rebalance took the partitions meanwhile: their new reader records the batch
                # again, which adds nothing.
                log.info("offsets not committed after a rebalance; the batch is read again")
            if added:
                self._on_recorded()
