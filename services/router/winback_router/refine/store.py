"""The refiner's SQL: which responses wait, locking one to re-code it, marking them done.

Reads for planning take no locks; a re-code then locks its one response ``FOR UPDATE`` (and
:func:`~winback_router.recoding.store.apply_change` its case after it), the order the router
and re-coding runs use, so the refiner runs beside them without deadlocks.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from winback_router.recoding.store import stored_from_row
from winback_router.refine.select import Pending
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.db import Connection

_PENDING = f"""
    SELECT r.*, c.id AS case_id, c.status AS case_status, c.priority AS case_priority,
           EXISTS (
               SELECT 1 FROM case_history h
               WHERE h.case_id = c.id AND h.kind = '{HistoryKind.REASONS_REVIEWED.value}'
           ) AS reviewed
    FROM survey_responses r LEFT JOIN recovery_cases c ON c.survey_response_id = r.id
"""
"""The columns :data:`~winback_router.recoding.store.SELECT_STORED` reads, and whether an agent
reviewed the case's reasons."""


def _pending(row: asyncpg.Record) -> Pending:
    return Pending(stored_from_row(row), revision=row["revision"], reviewed=row["reviewed"])


async def pending(conn: Connection, limit: int) -> list[Pending]:
    """The oldest responses waiting for refinement, in id order, without locking them."""
    rows = await conn.fetch(
        f"{_PENDING} WHERE r.id IN ("
        "SELECT id FROM survey_responses WHERE refine_pending ORDER BY id LIMIT $1"
        ") ORDER BY r.id",
        limit,
    )
    return [_pending(row) for row in rows]


async def lock_pending(conn: Connection, row_id: int) -> Pending | None:
    """One response still waiting, locked until the transaction ends (None: not waiting)."""
    row = await conn.fetchrow(
        f"{_PENDING} WHERE r.id = $1 AND r.refine_pending FOR UPDATE OF r", row_id
    )
    return _pending(row) if row is not None else None


async def mark_refined(conn: Connection, refined: Sequence[Pending]) -> int:
    """Mark these responses refined, each only if it is still at the revision that was read
    (a revision since brought fast codes again); how many were marked."""
    result = await conn.execute(
        """
        UPDATE survey_responses r SET refine_pending = false
        FROM unnest($1::bigint[], $2::integer[]) AS d (id, revision)
        WHERE r.id = d.id AND r.revision = d.revision AND r.refine_pending
        """,
        [item.stored.row_id for item in refined],
        [item.revision for item in refined],
    )
    return int(result.split()[-1])


async def pending_count(conn: Connection) -> int:
    """How many responses wait for refinement: the refiner's lag."""
    return int(await conn.fetchval("SELECT count(*) FROM survey_responses WHERE refine_pending"))
