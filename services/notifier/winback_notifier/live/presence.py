"""How many consoles this notifier has per queue, written to PostgreSQL for the pager.

Consoles are held in each notifier's memory, so whether *anyone* watches a queue is a sum across
instances that no single one knows. Each notifier writes its own counts (``console_presence``,
one row per instance and queue, with ``seen_at``); the outbound process sums the fresh rows to
page when P1 cases wait in a queue nobody watches (``winback_notifier.outbound.floor_watch``).
A notifier that dies stops refreshing its rows, and stale rows count for nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

import asyncpg

from winback_shared.case_vocabulary import FINISHED_STATUSES

_QUEUES = """
SELECT name FROM queues
UNION SELECT DISTINCT queue FROM recovery_cases WHERE status <> ALL($1::text[])
"""


class ConsolePresence:
    """Writes this instance's consoles per queue; ``report`` is one refresh."""

    def __init__(
        self, pool: asyncpg.Pool, watching: Callable[[Iterable[str]], dict[str, int]]
    ) -> None:
        self._pool = pool
        self._watching = watching
        self.instance = f"notifier-{uuid.uuid4().hex[:12]}"

    async def report(self) -> int:
        """Write the current counts (every queue, zeros included); returns 0 like a sweep."""
        queues = [row["name"] for row in await self._pool.fetch(_QUEUES, sorted(FINISHED_STATUSES))]
        counts = self._watching(queues)
        await self._pool.execute(
            """
            INSERT INTO console_presence (instance, queue, consoles, seen_at)
            SELECT $1, queue, consoles, now()
            FROM unnest($2::text[], $3::int[]) AS c(queue, consoles)
            ON CONFLICT (instance, queue)
            DO UPDATE SET consoles = excluded.consoles, seen_at = excluded.seen_at
            """,
            self.instance,
            list(counts),
            list(counts.values()),
        )
        return 0

    async def withdraw(self) -> None:
        """Remove this instance's rows (a clean shutdown: its consoles are gone)."""
        await self._pool.execute("DELETE FROM console_presence WHERE instance = $1", self.instance)
