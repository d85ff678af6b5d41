"""The contact policies deadlines were stamped with, as they changed over time.

Deadlines are computed by the router from its own settings (:mod:`winback_shared.deadlines`)
and stored on each case. A report that shows "the targets" must show the ones in force when the
reported cases opened, not the ones the reading process was started with: a supervisor running
the CLI from a bare shell has none of the services' settings and would otherwise see the
defaults. So the router appends its policy to ``contact_policies`` when it starts with a policy
different from the latest one, and reports read the policies in force over their window here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from winback_shared.db import Connection
from winback_shared.deadlines import WithContactPolicy


class RecordedPolicy(BaseModel):
    """One contact policy, in force from ``recorded_at`` until the next one."""

    recorded_at: datetime
    targets_minutes: dict[int, float]
    business_hours: dict[str, Any] | None
    recorded_by: str


def _targets(settings: WithContactPolicy) -> dict[str, float]:
    return {str(p): float(m) for p, m in sorted(settings.contact_target_minutes.items())}


def _hours(settings: WithContactPolicy) -> dict[str, Any] | None:
    hours = settings.business_hours
    return None if hours is None else hours.model_dump(mode="json")


async def record_contact_policy(
    conn: Connection, settings: WithContactPolicy, *, recorded_by: str
) -> bool:
    """Append the policy of ``settings`` unless it is already the latest; ``True`` if appended.

    An advisory lock keeps two routers starting together from appending the same policy twice.
    """
    targets, hours = _targets(settings), _hours(settings)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('contact_policies'))")
        latest = await conn.fetchrow(
            "SELECT targets, business_hours FROM contact_policies ORDER BY id DESC LIMIT 1"
        )
        if latest is not None and (latest["targets"], latest["business_hours"]) == (targets, hours):
            return False
        await conn.execute(
            "INSERT INTO contact_policies (targets, business_hours, recorded_by)"
            " VALUES ($1, $2, $3)",
            targets,
            hours,
            recorded_by,
        )
        return True


async def policies_in_force(
    conn: Connection | asyncpg.Pool, *, since: datetime, until: datetime
) -> list[RecordedPolicy]:
    """The policy in force at ``since`` (if any was recorded) and every one recorded before
    ``until``, oldest first: what the cases opened in ``[since, until)`` were stamped with."""
    rows = await conn.fetch(
        """
        (SELECT recorded_at, targets, business_hours, recorded_by FROM contact_policies
          WHERE recorded_at <= $1 ORDER BY id DESC LIMIT 1)
        UNION ALL
        (SELECT recorded_at, targets, business_hours, recorded_by FROM contact_policies
          WHERE recorded_at > $1 AND recorded_at < $2 ORDER BY id)
        ORDER BY recorded_at
        """,
        since,
        until,
    )
    return [
        RecordedPolicy(
            recorded_at=row["recorded_at"],
            targets_minutes={int(p): float(m) for p, m in row["targets"].items()},
            business_hours=row["business_hours"],
            recorded_by=row["recorded_by"],
        )
        for row in rows
    ]
