"""What the SLA timers need before they run: a deadline on every open case, the escalation queue.

The router stores each case's deadline as it opens it (:mod:`winback_shared.deadlines`), so
nothing here sets the targets of new cases. What may still lack a deadline is a case stored
without one: opened before deadlines existed (migration 0007), by a router older than migration
0008 during a rolling upgrade, or by hand. Such open cases get theirs from their opening time
when a notifier starts, which may breach many of them at once.
"""

from __future__ import annotations

import asyncpg

from winback_notifier.settings import NotifierSettings
from winback_shared.agents import ensure_queues
from winback_shared.case_vocabulary import FINISHED_STATUSES
from winback_shared.db import Connection
from winback_shared.deadlines import ContactPolicy, contact_deadline


async def fill_missing_deadlines(conn: Connection, policy: ContactPolicy) -> int:
    """Give every open case without a contact deadline its deadline; returns how many.

    Safe beside another notifier doing the same: rows are locked, and one that got its deadline
    meanwhile is left alone. Call inside a transaction.
    """
    rows = await conn.fetch(
        """
        SELECT id, opened_at, priority FROM recovery_cases
        WHERE contact_due_at IS NULL AND status <> ALL($1::text[])
        ORDER BY id
        FOR UPDATE
        """,
        [status.value for status in FINISHED_STATUSES],
    )
    await conn.executemany(
        "UPDATE recovery_cases SET contact_due_at = $2"
        " WHERE id = $1 AND opened_at = $3 AND contact_due_at IS NULL",  # its month's partition
        [
            (r["id"], contact_deadline(policy, r["opened_at"], r["priority"]), r["opened_at"])
            for r in rows
        ],
    )
    return len(rows)


async def prepare_sla(pool: asyncpg.Pool, settings: NotifierSettings) -> None:
    """Run once at start-up, before the scheduler."""
    async with pool.acquire() as conn, conn.transaction():
        await fill_missing_deadlines(conn, settings.contact_policy())
        if settings.sla_escalation_queue:
            await ensure_queues(conn, [settings.sla_escalation_queue])
