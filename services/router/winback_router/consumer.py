"""The router's consumer loop: records in, durable cases and acknowledged alerts out.

Contract: an offset is committed only after every record before it is stored in PostgreSQL and
every alert it produced is acknowledged by Kafka. A crash anywhere replays from the last commit;
the idempotent store makes the replay harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError

from winback_router.coding import code_chosen_reasons
from winback_router.decision import decide
from winback_router.normalise import InvalidPayload, normalise
from winback_router.store import mark_alerted, record_dead_letter, store_outcome
from winback_shared.db import Connection
from winback_shared.events.recovery_alerts import CaseSummary, RecoveryCaseOpened
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.taxonomy import Taxonomy

log = logging.getLogger("winback.router")

TRANSIENT_ERRORS = (OSError, asyncpg.PostgresConnectionError, KafkaError, TimeoutError)
"""Failures worth retrying in place: the same record will likely succeed once the peer is back."""

Record: TypeAlias = "ConsumerRecord[bytes, bytes]"
BatchWork = Callable[[Sequence[Record]], Awaitable[None]]


class _FinishBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Waits for the batch in flight (and its commit) before partitions move elsewhere."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info(
            "partitions assigned",
            extra={"fields": {"partitions": sorted(str(tp) for tp in assigned)}},
        )


class RecoveryRouter:
    """Consumes ``survey-responses``; writes responses and cases; publishes ``recovery-alerts``."""

    def __init__(
        self,
        *,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        pool: asyncpg.Pool,
        taxonomy: Taxonomy,
        alerts_topic: str,
        input_topic: str,
    ) -> None:
        self._consumer = consumer
        self._producer = producer
        self._pool = pool
        self._taxonomy = taxonomy
        self._alerts_topic = alerts_topic
        self._input_topic = input_topic
        self._batch_lock = asyncio.Lock()

    def subscribe(self) -> None:
        """Join the group; call before the consumer starts fetching."""
        self._consumer.subscribe(
            [self._input_topic], listener=_FinishBeforeRevoke(self._batch_lock)
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Process batches until ``stop`` is set; the batch in flight finishes and commits."""
        while not stop.is_set():
            batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
            if not batches:
                continue
            async with self._batch_lock:
                records = [record for partition in batches.values() for record in partition]
                await self._with_retries(self.process_batch, records, stop=stop)
                await self._consumer.commit(
                    {partition: batch[-1].offset + 1 for partition, batch in batches.items()}
                )

    async def process_batch(self, records: Sequence[Record]) -> None:
        """Store every record, then publish and confirm the alerts they produced.

        One transaction covers the whole batch: one commit (and one disk flush) per batch instead
        of per record is what lets the router keep up with a burst. Replaying a batch after a
        failure is harmless because every write is idempotent.
        """
        cases: dict[int, CaseSummary] = {}  # a retry inside the batch must not alert twice
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                for record in records:
                    case = await self._store_record(conn, record)
                    if case is not None:
                        cases.setdefault(case.case_id, case)
            to_alert = list(cases.values())
            if to_alert:
                pending = [
                    await self._producer.send(
                        self._alerts_topic,
                        RecoveryCaseOpened(case=case).to_bytes(),
                        key=str(case.case_id).encode(),
                    )
                    for case in to_alert
                ]
                await asyncio.gather(*pending)
                await mark_alerted(conn, [case.case_id for case in to_alert])
        log.info(
            "batch routed",
            extra={"fields": {"records": len(records), "alerts": len(to_alert)}},
        )

    async def _store_record(self, conn: Connection, record: Record) -> CaseSummary | None:
        value = record.value or b""
        envelope: SurveyReceived | None = None
        try:
            envelope = SurveyReceived.from_bytes(value)
            response = normalise(envelope)
        except (ValidationError, InvalidPayload) as exc:
            await record_dead_letter(
                conn,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                record=value,
                error=str(exc),
                receipt_id=envelope.receipt_id if envelope else None,
                source=envelope.source if envelope else None,
            )
            log.warning(
                "record dead-lettered",
                extra={
                    "fields": {
                        "receipt_id": envelope.receipt_id if envelope else None,
                        "offset": record.offset,
                    }
                },
            )
            return None
        reasons = code_chosen_reasons(response, self._taxonomy)
        decision = decide(response, reasons)
        case = await store_outcome(conn, response, reasons, decision)
        log.debug(
            "response routed",
            extra={
                "fields": {
                    "receipt_id": response.receipt_id,
                    "source": response.source,
                    "needs_recovery": decision.needs_recovery,
                    "case_id": case.case_id if case else None,
                }
            },
        )
        return case

    @staticmethod
    async def _with_retries(
        work: BatchWork, records: Sequence[Record], *, stop: asyncio.Event
    ) -> None:
        """Retry transient failures with capped backoff; anything else stops the router."""
        delay = 0.2
        while True:
            try:
                await work(records)
                return
            except TRANSIENT_ERRORS as exc:
                if stop.is_set():
                    raise
                log.warning(
                    "transient failure, retrying batch",
                    extra={"fields": {"error": repr(exc), "retry_in": delay}},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
