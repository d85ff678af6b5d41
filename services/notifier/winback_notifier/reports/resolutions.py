"""What agents offered to put things right, and how customers took it, by confirmed root cause.

A resolution belongs to the root cause the agent confirmed with it: that is the reason the offer
answered, whatever the coding had guessed. It counts in the window by when it was given
(``root_cause_at``, which reopening keeps, falling back to ``resolved_at`` for rows set by
hand). A reopened case keeps its last resolution until it is resolved again, when the new one
replaces it: each case counts once, with the latest offer. Compensation is summed per currency
(values in different currencies never add up).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from winback_notifier.reports.service import Db

TOTAL = "all"


class ResolutionRow(BaseModel):
    """Cases resolved with one root cause (or all of them: key ``all``)."""

    key: str
    cases: int
    apology: int
    explanation: int
    """Cases where the agent wrote an explanation (a blank one does not count)."""
    compensation: int
    compensation_value: dict[str, float]
    """Total value given, per currency."""
    process_change: int
    reactions: dict[str, int]
    """How the customer took it (``satisfied``, ``neutral``, ``dissatisfied``)."""


class ResolutionReport(BaseModel):
    """Resolutions given in ``[since, until)``, by confirmed root cause."""

    since: datetime
    until: datetime
    total: ResolutionRow
    rows: list[ResolutionRow]


_SCOPED = """
    WITH scoped AS (
        SELECT coalesce(c.root_cause, '(none)') AS reason, c.resolution AS r,
               coalesce(c.customer_reaction, '(unknown)') AS reaction
        FROM recovery_cases c
        WHERE c.resolution IS NOT NULL
          AND coalesce(c.root_cause_at, c.resolved_at) >= $1
          AND coalesce(c.root_cause_at, c.resolved_at) < $2
    )
"""
# GROUPING SETS give each reason and the total from one scan; a NULL reason is the total.
_OFFERS = (
    _SCOPED
    + """
    SELECT reason, count(*) AS cases,
           count(*) FILTER (WHERE coalesce((r ->> 'apology')::boolean, false)) AS apology,
           count(*) FILTER (WHERE btrim(coalesce(r ->> 'explanation', '')) <> '') AS explanation,
           count(*) FILTER (WHERE jsonb_typeof(r -> 'compensation') = 'object') AS compensation,
           count(*) FILTER (
               WHERE btrim(coalesce(r ->> 'process_change', '')) <> '') AS process_change
    FROM scoped GROUP BY GROUPING SETS ((reason), ())
"""
)
_VALUES = (
    _SCOPED
    + """
    SELECT reason, r -> 'compensation' ->> 'currency' AS currency,
           sum((r -> 'compensation' ->> 'value')::numeric) AS value
    FROM scoped WHERE jsonb_typeof(r -> 'compensation') = 'object'
    GROUP BY GROUPING SETS ((reason, currency), (currency))
"""
)
_REACTIONS = (
    _SCOPED
    + """
    SELECT reason, reaction, count(*) AS n
    FROM scoped GROUP BY GROUPING SETS ((reason, reaction), (reaction))
"""
)


async def resolution_report(conn: Db, *, since: datetime, until: datetime) -> ResolutionReport:
    """Apologies, explanations, compensation (with its value) and process changes offered, and
    the customers' reactions, per confirmed root cause and in all."""
    offers = await conn.fetch(_OFFERS, since, until)
    values = await conn.fetch(_VALUES, since, until)
    reactions = await conn.fetch(_REACTIONS, since, until)
    rows = {
        row["reason"] or TOTAL: ResolutionRow(
            key=row["reason"] or TOTAL,
            cases=int(row["cases"]),
            apology=int(row["apology"]),
            explanation=int(row["explanation"]),
            compensation=int(row["compensation"]),
            compensation_value={},
            process_change=int(row["process_change"]),
            reactions={},
        )
        for row in offers
    }
    total = rows.pop(TOTAL, None) or ResolutionRow(
        key=TOTAL,
        cases=0,
        apology=0,
        explanation=0,
        compensation=0,
        compensation_value={},
        process_change=0,
        reactions={},
    )
    for row in values:
        target = rows[row["reason"]] if row["reason"] else total
        target.compensation_value[row["currency"] or "?"] = round(float(row["value"]), 2)
    for row in reactions:
        target = rows[row["reason"]] if row["reason"] else total
        target.reactions[row["reaction"]] = int(row["n"])
    ordered = sorted(rows.values(), key=lambda row: (-row.cases, row.key))
    return ResolutionReport(since=since, until=until, total=total, rows=ordered)
