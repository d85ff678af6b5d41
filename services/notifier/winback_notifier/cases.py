"""Reading cases for consoles."""

from __future__ import annotations

import asyncpg

from winback_shared.db import Connection
from winback_shared.events.recovery_alerts import CaseSummary

OPEN_STATUSES = ("open", "claimed", "contacted", "unreachable", "reopened")


async def list_open_cases(conn: Connection | asyncpg.Pool, limit: int = 500) -> list[CaseSummary]:
    """Open cases, most urgent first: the snapshot a console starts from."""
    rows = await conn.fetch(
        """
        SELECT * FROM case_summaries
        WHERE status = ANY($1::text[])
        ORDER BY priority, opened_at
        LIMIT $2
        """,
        list(OPEN_STATUSES),
        limit,
    )
    return [CaseSummary.model_validate(dict(row)) for row in rows]
