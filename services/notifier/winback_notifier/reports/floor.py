"""The floor right now: the ops page's tiles and its list of cases at risk or in breach.

Read from PostgreSQL on every request (the ops page asks again whenever a case event reaches it),
so each figure is the one the SLA report and the consoles would give at that moment, on any
notifier. Only the number of consoles connected is this notifier's own: each notifier knows its
own websockets and no other's (behind a load balancer, the figure is this instance's share;
``/metrics`` has it per instance as ``winback_notifier_consoles``).

*At risk*: the SLA warning fired and nobody has tried to reach the customer yet, and the deadline
has not passed. *Breached now*: still not tried, not finished, and past the contact deadline
(whether or not the breach timer has fired yet: the deadline is the fact, the timer its echo).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from winback_notifier.reports.service import Db
from winback_shared.case_vocabulary import FINISHED_STATUSES

MAX_LISTED = 200
"""The list is for acting on; past this many, the tiles say how many more there are."""


class OpenCount(BaseModel):
    """Open cases of one status and priority."""

    status: str
    priority: int
    cases: int


class CaseAtRisk(BaseModel):
    """A case to chase, most overdue first."""

    case_id: int
    state: Literal["breached", "at_risk"]
    priority: int
    queue: str
    status: str
    owner: str | None
    opened_at: datetime
    contact_due_at: datetime | None
    customer: str | None
    """The customer's name (or id) as the case card shows it."""


class FloorNow(BaseModel):
    """Tiles and the chase list, as of ``at``."""

    at: datetime
    open_by_status_and_priority: list[OpenCount]
    open_total: int
    unclaimed: int
    at_risk: int
    breached_now: int
    oldest_unclaimed_opened_at: datetime | None
    oldest_unclaimed_seconds: float | None
    consoles_connected_here: int
    """Consoles connected to the notifier that answered (see the module docstring)."""
    chase: list[CaseAtRisk]
    """Breached first, then at risk; each group by deadline, at most :data:`MAX_LISTED`."""


_SCOPED = """
    WITH live AS (
        SELECT c.*,
               c.first_attempt_at IS NULL AND c.contact_due_at < now() AS breached,
               c.first_attempt_at IS NULL AND c.contact_due_at >= now()
                   AND c.sla_warned_at IS NOT NULL AS at_risk
        FROM recovery_cases c
        WHERE c.status <> ALL($1::text[])
    )
"""


async def floor_now(conn: Db, *, consoles_connected: int) -> FloorNow:
    """Everything the ops page's tiles show, and the cases to chase."""
    finished = sorted(FINISHED_STATUSES)
    tiles = await conn.fetchrow(
        _SCOPED
        + """
        SELECT now() AS at, count(*) AS open_total,
               count(*) FILTER (WHERE owner_id IS NULL) AS unclaimed,
               count(*) FILTER (WHERE at_risk) AS at_risk,
               count(*) FILTER (WHERE breached) AS breached_now,
               min(opened_at) FILTER (WHERE owner_id IS NULL) AS oldest_unclaimed,
               extract(epoch FROM now() - min(opened_at) FILTER (WHERE owner_id IS NULL))
                   AS oldest_unclaimed_seconds
        FROM live
        """,
        finished,
    )
    counts = await conn.fetch(
        _SCOPED + "SELECT status, priority, count(*) AS n FROM live GROUP BY 1, 2 ORDER BY 2, 1",
        finished,
    )
    chase = await conn.fetch(
        _SCOPED
        + """
        SELECT l.id, CASE WHEN l.breached THEN 'breached' ELSE 'at_risk' END AS state,
               l.priority, l.queue, l.status, a.name AS owner, l.opened_at, l.contact_due_at,
               coalesce(r.customer ->> 'name', r.customer ->> 'id') AS customer
        FROM live l
        JOIN survey_responses r
          ON r.id = l.survey_response_id AND r.received_at = l.response_received_at
        LEFT JOIN agents a ON a.id = l.owner_id
        WHERE l.breached OR l.at_risk
        ORDER BY l.breached DESC, l.contact_due_at, l.id
        LIMIT $2
        """,
        finished,
        MAX_LISTED,
    )
    assert tiles is not None  # an aggregate always answers one row
    seconds = tiles["oldest_unclaimed_seconds"]
    return FloorNow(
        at=tiles["at"],
        open_by_status_and_priority=[
            OpenCount(status=row["status"], priority=row["priority"], cases=int(row["n"]))
            for row in counts
        ],
        open_total=int(tiles["open_total"]),
        unclaimed=int(tiles["unclaimed"]),
        at_risk=int(tiles["at_risk"]),
        breached_now=int(tiles["breached_now"]),
        oldest_unclaimed_opened_at=tiles["oldest_unclaimed"],
        oldest_unclaimed_seconds=None if seconds is None else round(float(seconds), 1),
        consoles_connected_here=consoles_connected,
        chase=[
            CaseAtRisk(
                case_id=row["id"],
                state=row["state"],
                priority=row["priority"],
                queue=row["queue"],
                status=row["status"],
                owner=row["owner"],
                opened_at=row["opened_at"],
                contact_due_at=row["contact_due_at"],
                customer=row["customer"],
            )
            for row in chase
        ],
    )
