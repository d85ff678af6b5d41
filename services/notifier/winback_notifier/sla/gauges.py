"""The floor's SLA state as Prometheus gauges, for alert rules that work without a console.

Counted in PostgreSQL (the source of truth, shared by every notifier) every few seconds rather
than kept up to date from events: a count is always right after one refresh, whereas gauges
moved by events drift with every missed or replayed one. Every notifier reports the same
figures, so rules take ``max`` across instances. How many consoles show each queue is this
notifier's own count (rules ``sum`` it), read from the hub through ``watching`` so this room
does not import the live room.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import asyncpg

from winback_notifier.metrics import CASES_AT_RISK, CASES_BREACHED, OPEN_CASES, QUEUE_CONSOLES
from winback_shared.case_vocabulary import FINISHED_STATUSES

PRIORITIES = (1, 2, 3, 4)

_COUNTS = """
SELECT q.name AS queue, c.priority,
       count(c.id) AS open,
       count(c.id) FILTER (WHERE c.sla_warned_at IS NOT NULL AND c.sla_breached_at IS NULL
                             AND c.first_attempt_at IS NULL) AS at_risk,
       count(c.id) FILTER (WHERE c.sla_breached_at IS NOT NULL
                             AND c.first_attempt_at IS NULL) AS breached
FROM (
    -- A case's queue need not have been created as a queue (a routing rule may name it).
    SELECT name FROM queues
    UNION SELECT queue FROM recovery_cases WHERE status <> ALL($1::text[])
) AS q
LEFT JOIN recovery_cases c ON c.queue = q.name AND c.status <> ALL($1::text[])
GROUP BY 1, 2
"""


class FloorGauges:
    """Refreshes the floor gauges from PostgreSQL and the console counts from the hub."""

    def __init__(
        self, pool: asyncpg.Pool, watching: Callable[[Iterable[str]], dict[str, int]]
    ) -> None:
        self._pool = pool
        self._watching = watching

    async def refresh(self) -> int:
        """Set every gauge (zero for queues and priorities with no case); returns 0, as a
        sweep does when it had nothing to send late."""
        rows = await self._pool.fetch(_COUNTS, sorted(FINISHED_STATUSES))
        queues = sorted({str(row["queue"]) for row in rows})
        # Nothing below awaits, so a scrape sees the old figures or the new, never a mixture.
        for gauge in (OPEN_CASES, CASES_AT_RISK, CASES_BREACHED, QUEUE_CONSOLES):
            gauge.clear()
        for queue in queues:
            for priority in PRIORITIES:
                OPEN_CASES.labels(queue=queue, priority=str(priority)).set(0)
            CASES_AT_RISK.labels(queue=queue).set(0)
            CASES_BREACHED.labels(queue=queue).set(0)
        for row in rows:
            if row["priority"] is None:
                continue  # a queue without open cases: its zeros are set above
            queue = str(row["queue"])
            OPEN_CASES.labels(queue=queue, priority=str(row["priority"])).set(row["open"])
            CASES_AT_RISK.labels(queue=queue).inc(row["at_risk"])
            CASES_BREACHED.labels(queue=queue).inc(row["breached"])
        for queue, consoles in self._watching(queues).items():
            QUEUE_CONSOLES.labels(queue=queue).set(consoles)
        return 0
