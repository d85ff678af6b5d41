"""Publishing committed case changes to ``case-events``: at once, and again later if Kafka failed.

A change is committed to ``case_history`` first (PostgreSQL is the source of truth), then sent
and, once Kafka acknowledges it, marked ``published_at``. If Kafka is down the request still
succeeds; the outbox sweep sends what stayed unmarked. A change may therefore reach consoles
twice, never zero times; consoles drop the repeat by (case, seq).

Re-codings (``recoded`` entries, written by ``python -m winback_router.recoding``, which talks to
PostgreSQL only) have no request to send them: the sweep is their only way out, so it takes
them without waiting out the grace period.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from aiokafka import AIOKafkaProducer

from winback_notifier.cases.service import Change
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

        A re-coding needs no grace (no request is sending it), but waits while its case's
        opening alert is unconfirmed: that alert must be the first the consoles hear of the
        case, or it would arrive as a repeat of what they already show and never pop up. It
        carries the re-coded reasons anyway (the router reads the current codes).
        """
        sent = 0
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                """
                SELECT h.id, h.seq, h.kind, h.actor, h.occurred_at, h.data,
                       to_jsonb(c) AS card
                FROM case_history h
                JOIN case_cards c ON c.case_id = h.case_id AND c.opened_at = h.case_opened_at
                WHERE h.published_at IS NULL
                  AND CASE WHEN h.kind = $3 THEN c.alerted_at IS NOT NULL
                           ELSE h.occurred_at < now() - make_interval(secs => $1) END
                ORDER BY h.id
                LIMIT $2
                FOR UPDATE OF h SKIP LOCKED
                """,
                SWEEP_GRACE_SECONDS,
                SWEEP_BATCH,
                HistoryKind.RECODED,
            )
            for row in rows:
                moved_from = row["data"].get("from_queue")
                event = CaseChanged(
                    case=CaseCard.model_validate(row["card"]),
                    change=HistoryEntry.model_validate(
                        {key: row[key] for key in ("seq", "kind", "actor", "occurred_at", "data")}
                    ),
                    previous_queue=moved_from if moved_from != row["card"]["queue"] else None,
                )
                async with asyncio.timeout(self._timeout):
                    await self._send(event)
                await conn.execute(
                    "UPDATE case_history SET published_at = now()"
                    " WHERE id = $1 AND occurred_at = $2",
                    row["id"],
                    row["occurred_at"],
                )
                sent += 1
        return sent
