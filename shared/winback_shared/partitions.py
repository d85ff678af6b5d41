"""Month partitions, created ahead of need (migrations 0024, 0032 and 0035).

``case_history`` is partitioned by month of ``occurred_at`` (UTC), ``survey_responses`` by
month of ``received_at``, ``recovery_cases`` by month of ``opened_at``. A month's partition must
exist before its first row arrives, or the row lands in the DEFAULT partition (so no insert
ever fails) and stays there until the next call here moves it into its month. The SQL function
``ensure_month_partitions`` does the work as the schema's owner, so the services, which have no
DDL, call it at start-up; the retention job and ``python -m winback_shared.migrations`` call it
on each run, which covers a service that runs for months without restarting.
"""

from __future__ import annotations

import logging

from winback_shared.db import Connection

log = logging.getLogger(__name__)

PARTITIONED_TABLES = ("case_history", "survey_responses", "recovery_cases")
"""The tables partitioned by month (docs/operations.md, "Partitions and retention")."""

MONTHS_AHEAD = 3
"""How many months past the current one get their partition in advance."""


async def ensure_partitions(conn: Connection, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the month partitions missing (current month and ``months_ahead`` more, and any
    month whose rows wait in a DEFAULT partition); returns the names created."""
    created: list[str] = []
    for table in PARTITIONED_TABLES:
        rows = await conn.fetch(
            "SELECT ensure_month_partitions($1::regclass, $2) AS name", table, months_ahead
        )
        created += [row["name"] for row in rows]
    if created:
        log.info("month partitions created", extra={"fields": {"partitions": created}})
    return created
