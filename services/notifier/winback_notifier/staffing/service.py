"""The staffing forecast from PostgreSQL's history, next to the agents connected now.

Arrivals are the cases opened in the history window, counted per queue, hour of the week and
priority (in the business hours' timezone if set, else UTC) and divided by the window's weeks.
Handling times are the resolved cases' claim-to-resolution and claim-to-first-attempt means per
queue, the whole floor's for a queue with too few resolved cases of its own, and
``default_busy_minutes`` when the history has none at all.

This hour's need is the forecast's, but never under one agent while a queue has cases nobody
owns: the forecast is of arrivals, and a backlog from an earlier hour (or a quiet hour that
history says needs nobody) still waits for someone. Without that floor the page said "short by
0" beside five breached, unclaimed cases and an empty floor.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel

from winback_notifier.staffing.forecast import (
    DEFAULT_GOAL,
    DEFAULT_PRIORITIES,
    Handling,
    QueueForecast,
    forecast_queue,
)
from winback_shared.case_vocabulary import FINISHED_STATUSES
from winback_shared.db import Connection

DEFAULT_HISTORY = timedelta(weeks=8)
MIN_HANDLING_CASES = 20
"""Fewer resolved cases than this in a queue and the floor's handling times stand in for its
own: a mean of five cases is mostly noise."""
DEFAULT_BUSY_MINUTES = 20.0
DEFAULT_PREP_MINUTES = 2.0

_HOUR_OF_WEEK = (
    "((extract(isodow FROM c.opened_at AT TIME ZONE $3)::int - 1) * 24"
    " + extract(hour FROM c.opened_at AT TIME ZONE $3)::int)"
)
_ARRIVALS = f"""
    SELECT c.queue, {_HOUR_OF_WEEK} AS hour_of_week, c.priority, count(*) AS n
    FROM recovery_cases c
    WHERE c.opened_at >= $1 AND c.opened_at < $2
    GROUP BY 1, 2, 3
"""
# A NULL queue is the whole floor (GROUPING SETS): the stand-in for thinly measured queues.
_HANDLING = """
    SELECT c.queue, count(*) AS n,
           avg(extract(epoch FROM c.resolved_at - c.claimed_at)) AS busy,
           avg(extract(epoch FROM c.first_attempt_at - c.claimed_at))
               FILTER (WHERE c.first_attempt_at >= c.claimed_at) AS prep
    FROM recovery_cases c
    WHERE c.opened_at >= $1 AND c.opened_at < $2
      AND c.claimed_at IS NOT NULL AND c.resolved_at >= c.claimed_at
    GROUP BY GROUPING SETS ((c.queue), ())
"""

_UNCLAIMED = """
    SELECT queue, count(*) AS n FROM recovery_cases
    WHERE owner_id IS NULL AND status <> ALL($1::text[])
    GROUP BY queue
"""


class QueueNow(BaseModel):
    """This hour in one queue: the forecast against the agents whose consoles are open."""

    queue: str
    hour_of_week: int
    agents_needed: int
    """The forecast for this hour, and at least 1 while the queue has unclaimed cases."""
    agents_connected: int
    """Agents (role agent, member of the queue) with a console open on this notifier."""
    short_by: int
    """``agents_needed - agents_connected`` when positive, else 0."""
    unclaimed: int = 0
    """Cases of the queue open now that nobody owns."""


class StaffingReport(BaseModel):
    """Agents needed per queue and hour of the week, and this hour against the floor."""

    since: datetime
    until: datetime
    weeks: float
    timezone: str
    goal: float
    priorities: list[int]
    targets_minutes: dict[int, float]
    at: datetime
    hour_of_week: int
    """The hour of the week ``at`` falls in, in ``timezone``."""
    queues: list[QueueForecast]
    now: list[QueueNow]
    understaffed: list[str]
    """Queues where fewer agents are connected than this hour needs."""


def hour_of_week(moment: datetime, zone: ZoneInfo) -> int:
    """0 for Monday 00:00-00:59 in ``zone``, 167 for Sunday 23:00-23:59."""
    local = moment.astimezone(zone)
    return local.weekday() * 24 + local.hour


async def read_history(
    conn: Connection | asyncpg.Pool, *, since: datetime, until: datetime, timezone: str
) -> tuple[dict[str, dict[tuple[int, int], int]], dict[str | None, Handling]]:
    """Cases opened per queue, ``(hour_of_week, priority)``, and handling per queue (``None``:
    the whole floor)."""
    counts: dict[str, dict[tuple[int, int], int]] = defaultdict(dict)
    for row in await conn.fetch(_ARRIVALS, since, until, timezone):
        counts[row["queue"]][(int(row["hour_of_week"]), int(row["priority"]))] = int(row["n"])
    handling = {
        row["queue"]: Handling(
            busy_seconds=float(row["busy"]),
            prep_seconds=float(row["prep"] or 0.0),
            cases=int(row["n"]),
        )
        for row in await conn.fetch(_HANDLING, since, until)
        if row["busy"] is not None and float(row["busy"]) > 0
    }
    return dict(counts), handling


def handling_for(
    queue: str, measured: Mapping[str | None, Handling], default: Handling
) -> Handling:
    """The queue's own handling times if measured on enough cases, else the floor's, else
    ``default``."""
    own = measured.get(queue)
    if own is not None and own.cases >= MIN_HANDLING_CASES:
        return own
    floor = measured.get(None)
    if floor is not None and floor.cases >= MIN_HANDLING_CASES:
        return floor
    return default


async def staffing_report(
    conn: Connection | asyncpg.Pool,
    *,
    since: datetime,
    until: datetime,
    at: datetime,
    targets_minutes: Mapping[int, float],
    timezone: str = "UTC",
    connected: Callable[[Iterable[str]], dict[str, int]] | None = None,
    goal: float = DEFAULT_GOAL,
    priorities: Iterable[int] = DEFAULT_PRIORITIES,
    default_busy_minutes: float = DEFAULT_BUSY_MINUTES,
) -> StaffingReport:
    """The forecast from the cases opened in ``[since, until)``, and the hour ``at`` against
    ``connected(queues)`` (agents per queue; ``None``: nobody is counted)."""
    scope = sorted(set(priorities))
    counts, measured = await read_history(conn, since=since, until=until, timezone=timezone)
    weeks = (until - since) / timedelta(weeks=1)
    default = Handling(
        busy_seconds=default_busy_minutes * 60, prep_seconds=DEFAULT_PREP_MINUTES * 60, cases=0
    )
    forecasts = [
        forecast_queue(
            queue,
            counts[queue],
            weeks,
            handling_for(queue, measured, default),
            targets_minutes,
            goal=goal,
            priorities=scope,
        )
        for queue in sorted(counts)
    ]
    hour = hour_of_week(at, ZoneInfo(timezone))
    unclaimed = {
        row["queue"]: int(row["n"])
        for row in await conn.fetch(_UNCLAIMED, sorted(FINISHED_STATUSES))
    }
    forecast_now = {forecast.queue: forecast.hours[hour].agents for forecast in forecasts}
    queues = sorted(forecast_now.keys() | unclaimed.keys())
    present = connected(queues) if connected else {}
    now = []
    for queue in queues:
        waiting = unclaimed.get(queue, 0)
        needed = max(forecast_now.get(queue, 0), 1 if waiting else 0)
        there = present.get(queue, 0)
        now.append(
            QueueNow(
                queue=queue,
                hour_of_week=hour,
                agents_needed=needed,
                agents_connected=there,
                short_by=max(needed - there, 0),
                unclaimed=waiting,
            )
        )
    return StaffingReport(
        since=since,
        until=until,
        weeks=round(weeks, 3),
        timezone=timezone,
        goal=goal,
        priorities=scope,
        targets_minutes=dict(targets_minutes),
        at=at,
        hour_of_week=hour,
        queues=forecasts,
        now=now,
        understaffed=[row.queue for row in now if row.short_by > 0],
    )
