"""Publishing committed case changes to ``case-events``: at once, and again later if Kafka failed.

A change is committed to ``case_history`` first (PostgreSQL is the source of truth), then sent
and, once Kafka acknowledges it, marked ``published_at``. If Kafka is down the request still
succeeds; the outbox sweep sends what stayed unmarked. A change may therefore reach consoles
twice, never zero times; consoles drop the repeat by (case, seq).

Re-codings (``recoded`` entries, written by ``python -m winback_router.recoding``, which talks to
PostgreSQL only) have no request to send them: the sweep is their only way out, so it takes
them without waiting out the grace period.

A change the sweep cannot build an event from (a history kind or a card field this version does
not know: a newer notifier's, written during a rolling upgrade) is logged, counted and left
unsent, and this notifier's later sweeps pass it by. The sweep failing on it instead would be a
bug the next round meets again: every notifier of this version would stop at every restart,
and every console with it.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from aiokafka import AIOKafkaProducer

from winback_notifier.cases.service import Change
from winback_notifier.metrics import OUTBOX_UNSENDABLE
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.events.case_events import CaseCard, CaseChanged, HistoryEntry
from winback_shared.transient import is_transient

log = logging.getLogger("winback.notifier")

SWEEP_GRACE_SECONDS = 5.0
"""An unmarked change younger than this is probably still being sent by its request."""
SWEEP_BATCH = 200
"""Changes sent per sweep at most. It also paces a re-coding run's burst of changes (one batch
per ``outbox_interval_seconds``), so consoles are not flooded into falling behind."""


class CaseEventPublisher:
    """Sends ``CaseChanged`` events keyed by case id, so one case's events stay in order."""

    def __init__(
        self, producer: AIOKafkaProducer, pool: asyncpg.Pool, topic: str, timeout: float
    ) -> None:
        self._producer = producer
        self._pool = pool
        self._topic = topic
        self._timeout = timeout
        self._unsendable: set[int] = set()
        """``case_history`` ids whose event this notifier cannot build, left for another."""

    async def publish(self, change: Change) -> bool:
        """Send one change and mark it published; ``False`` leaves it to the sweep.

        Only a transient failure (:mod:`winback_shared.transient`) is left to the sweep; any
        other error is raised, because the sweep would only meet it again.
        """
        event = CaseChanged(
            case=change.card, change=change.entry, previous_queue=change.previous_queue
        )
        try:
            async with asyncio.timeout(self._timeout):
                await self._send(event)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(
                "case change not yet published; the outbox will retry",
                extra={"fields": {"case_id": change.card.case_id, "error": repr(exc)}},
            )
            return False
        # occurred_at is the partition key (migration 0024): with it, one partition is probed.
        await self._pool.execute(
            "UPDATE case_history SET published_at = now()"
            " WHERE case_id = $1 AND seq = $2 AND occurred_at = $3",
            change.card.case_id,
            change.entry.seq,
            change.entry.occurred_at,
        )
        return True

    async def _send(self, event: CaseChanged) -> None:
        future = await self._producer.send(
            self._topic, event.to_bytes(), key=str(event.case.case_id).encode()
        )
        await future

    async def sweep(self) -> int:
        """Send changes left unpublished (oldest first); returns how many went out.

        ``SKIP LOCKED`` lets several notifiers sweep at once without sending a change twice.
        The card sent is the case's current one, which is at least as new as the change.

        The sweep's events are all handed to the producer before any acknowledgement is awaited
        (one case's stay in order: one key, one partition, an idempotent producer), then marked
        in one statement: a burst of re-codings reaches Kafka, and the consoles' feed, together,
        so the feed sends it on as one frame per view (``live.coalesce``). A failure rolls the
        marks back: the next sweep sends the lot again, as a repeat consoles drop by seq.

        A re-coding needs no grace (no request is sending it), but waits while its case's
        opening alert is unconfirmed: that alert must be the first the consoles hear of the
        case, or it would arrive as a repeat of what they already show and never pop up. It
        carries the re-coded reasons anyway (the router reads the current codes).
        """
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """
                SELECT h.id, h.seq, h.kind, h.actor, h.occurred_at, h.data,
                       to_jsonb(c) AS card
                FROM case_history h
                JOIN case_cards c ON c.case_id = h.case_id AND c.opened_at = h.case_opened_at
                WHERE h.published_at IS NULL
                  AND h.id <> ALL($4::bigint[])
                  AND CASE WHEN h.kind = $3 THEN c.alerted_at IS NOT NULL
                           ELSE h.occurred_at < now() - make_interval(secs => $1) END
                ORDER BY h.id
                LIMIT $2
                FOR UPDATE OF h SKIP LOCKED
                """,
                SWEEP_GRACE_SECONDS,
                SWEEP_BATCH,
                HistoryKind.RECODED,
                sorted(self._unsendable),
            )
            events = [(row, event) for row in rows if (event := self._built(row)) is not None]
            rows = [row for row, _ in events]
            if not rows:
                return 0
            async with asyncio.timeout(self._timeout):
                acks = [await self._enqueue(event) for _, event in events]
                await asyncio.gather(*acks)
            await conn.execute(
                "UPDATE case_history SET published_at = now()"
                " FROM unnest($1::bigint[], $2::timestamptz[]) AS sent(id, occurred_at)"
                " WHERE case_history.id = sent.id AND case_history.occurred_at = sent.occurred_at",
                [row["id"] for row in rows],
                [row["occurred_at"] for row in rows],
            )
        return len(rows)

    def _built(self, row: asyncpg.Record) -> CaseChanged | None:
        """The event for ``row``, or ``None`` (logged, counted, remembered) if this version
        cannot build one."""
        try:
            return _event_of(row)
        except (ValueError, KeyError, TypeError) as error:  # pydantic's ValidationError too
            self._unsendable.add(row["id"])
            OUTBOX_UNSENDABLE.inc()
            log.error(
                "case change left unsent: this notifier cannot build its event",
                extra={
                    "fields": {
                        "case_id": row["card"].get("case_id") if row["card"] else None,
                        "seq": row["seq"],
                        "kind": row["kind"],
                        "error": str(error)[:500],
                    }
                },
            )
            return None

    async def _enqueue(self, event: CaseChanged) -> asyncio.Future[object]:
        """Hand one event to the producer; the future is its acknowledgement."""
        future: asyncio.Future[object] = await self._producer.send(
            self._topic, event.to_bytes(), key=str(event.case.case_id).encode()
        )
        return future


def _event_of(row: asyncpg.Record) -> CaseChanged:
    """The event for one unpublished ``case_history`` row joined to its case's current card."""
    moved_from = row["data"].get("from_queue")
    return CaseChanged(
        case=CaseCard.model_validate(row["card"]),
        change=HistoryEntry.model_validate(
            {key: row[key] for key in ("seq", "kind", "actor", "occurred_at", "data")}
        ),
        previous_queue=moved_from if moved_from != row["card"]["queue"] else None,
    )
