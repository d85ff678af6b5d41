"""Noticing that nobody watches a queue while P1 cases wait in it, and that it is covered again.

Every ``outbound_watch_seconds`` one outbound instance (a transaction-scoped advisory lock
keeps the others out) compares the queues that have a P1 case waiting (not finished, never
tried, open for at least ``outbound_unwatched_after_seconds``) with the consoles the notifiers
report (``console_presence``, fresh rows only; :mod:`winback_notifier.live.presence`). A queue
newly unwatched is written to ``unwatched_queues`` and announced as ``queue.unwatched``; one
covered again (a console, or no P1 case waiting any more) is removed and announced as
``queue.watched``. The announcements are recorded as deliveries in the same transaction, so a
crash cannot raise a page without recording it or the other way round.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from winback_notifier.outbound import store
from winback_notifier.outbound.events import EventType, OutboundEvent, queue_event
from winback_shared.case_vocabulary import FINISHED_STATUSES

_LOCK_KEY = 0x77626F7574  # "wbout"

_UNWATCHED = """
WITH waiting AS (
    SELECT queue, count(*) AS waiting FROM recovery_cases
    WHERE priority = 1 AND status <> ALL($1::text[]) AND first_attempt_at IS NULL
      AND opened_at < now() - make_interval(secs => $3)
    GROUP BY queue
), watched AS (
    SELECT queue, sum(consoles) AS consoles FROM console_presence
    WHERE seen_at > now() - make_interval(secs => $2)
    GROUP BY queue
)
SELECT w.queue, w.waiting FROM waiting w LEFT JOIN watched c USING (queue)
WHERE coalesce(c.consoles, 0) = 0
"""


def changes(unwatched: dict[str, int], raised: set[str]) -> tuple[dict[str, int], set[str]]:
    """The queues to announce as unwatched (with how many P1 cases wait) and as covered."""
    return {q: n for q, n in unwatched.items() if q not in raised}, raised - unwatched.keys()


class FloorWatch:
    """One ``check`` per round; returns how many announcements it recorded."""

    def __init__(
        self, pool: asyncpg.Pool, *, stale_seconds: float, waiting_after_seconds: float
    ) -> None:
        self._pool = pool
        self._stale_seconds = stale_seconds
        self._waiting_after_seconds = waiting_after_seconds

    async def check(self) -> int:
        """Compare, record what changed, and return how many events that made."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            rows = await conn.fetch(
                _UNWATCHED,
                sorted(FINISHED_STATUSES),
                self._stale_seconds,
                self._waiting_after_seconds,
            )
            raised = {
                row["queue"]: row
                for row in await conn.fetch("SELECT queue, since, waiting FROM unwatched_queues")
            }
            newly, covered = changes({r["queue"]: r["waiting"] for r in rows}, set(raised))
            now = datetime.now(UTC)
            events: list[OutboundEvent] = []
            for queue, waiting in sorted(newly.items()):
                since = await conn.fetchval(
                    "INSERT INTO unwatched_queues (queue, waiting) VALUES ($1, $2) RETURNING since",
                    queue,
                    waiting,
                )
                events.append(
                    queue_event(
                        EventType.QUEUE_UNWATCHED,
                        queue=queue,
                        since=since,
                        waiting=waiting,
                        occurred_at=now,
                    )
                )
            for queue in sorted(covered):
                await conn.execute("DELETE FROM unwatched_queues WHERE queue = $1", queue)
                events.append(
                    queue_event(
                        EventType.QUEUE_WATCHED,
                        queue=queue,
                        since=raised[queue]["since"],
                        waiting=raised[queue]["waiting"],
                        occurred_at=now,
                    )
                )
            if events:
                await store.record(conn, events)
            return len(events)
