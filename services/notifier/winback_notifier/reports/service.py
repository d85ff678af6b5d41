"""Ops reports: how fast customers are reached, and what really went wrong, over time.

Both are computed in PostgreSQL from the case's own timestamps, so they agree with the history
agents see and need no extra bookkeeping. A case's contact target (minutes from opening to the
first contact attempt, per priority) is the deadline stored on the case when it opened, the one
consoles count down to and the SLA timers fire at; cases older than that column fall back to
the notifier's current target for their priority.

The SLA share counts only cases whose outcome is known: those with a first attempt, and those
whose deadline has passed without one. A case still inside its window and not yet tried is
neither a success nor a breach yet.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TypeAlias

import asyncpg
from pydantic import BaseModel

from winback_shared.case_months import responses_of_cases_opened
from winback_shared.case_vocabulary import FINISHED_STATUSES
from winback_shared.contact_policy_log import RecordedPolicy, policies_in_force
from winback_shared.db import Connection

Db: TypeAlias = "Connection | asyncpg.Pool"

DEFAULT_SLA_WINDOW = timedelta(days=7)
DEFAULT_TREND_WINDOW = timedelta(days=365)
DEFAULT_RESOLUTION_WINDOW = timedelta(days=30)
"""The reports' default windows, for the API and the CLI alike (they once disagreed)."""


class SlaDimension(StrEnum):
    """What the SLA report is broken down by."""

    PRIORITY = "priority"
    QUEUE = "queue"
    REASON = "reason"
    AGENT = "agent"


_KEYS = {
    SlaDimension.PRIORITY: "'P' || s.priority::text",
    SlaDimension.QUEUE: "s.queue",
    # A case with several reasons counts under each of them; one with none under "(none)".
    SlaDimension.REASON: "coalesce(code.value ->> 'code', '(none)')",
    SlaDimension.AGENT: "coalesce(s.owner_name, '(unclaimed)')",
}


class Durations(BaseModel):
    """Median and 90th percentile, in seconds, of cases that got that far (``None``: none did)."""

    p50: float | None
    p90: float | None


class SlaRow(BaseModel):
    """One group of cases opened in the window."""

    key: str
    cases: int
    time_to_alert: Durations
    """From the survey reaching ingest to the router's alert being acknowledged by Kafka."""
    time_to_claim: Durations
    time_to_first_attempt: Durations
    time_to_first_contact: Durations
    """To the first attempt that reached the customer."""
    time_to_resolution: Durations
    """From opening to being resolved; a reopened case counts only once resolved again."""
    contact_target: Durations
    """The cases' own contact targets (stored deadline minus opening): what the time to first
    attempt is judged against, per case; with business hours it is longer than the policy's
    minutes for a case opened after hours. Charts draw it next to the times."""
    decided: int
    """Cases with a first attempt, or past their target without one."""
    within_target: int
    """First attempt at or before the case's stored contact deadline."""
    within_target_share: float | None
    overdue_now: int
    """Still open, never tried, and past the target right now: the ones to chase."""


class SlaReport(BaseModel):
    """Response-time SLAs for cases opened in ``[since, until)``."""

    since: datetime
    until: datetime
    by: SlaDimension
    targets_minutes: dict[int, float]
    """The contact targets in force at ``until``: the latest policy the router recorded (see
    :mod:`winback_shared.contact_policy_log`), or the reader's own settings if none was."""
    policies: list[RecordedPolicy]
    """Every policy in force during the window, oldest first; more than one means the targets
    changed inside it (each case is measured against the deadline stored when it opened)."""
    total: SlaRow
    rows: list[SlaRow]


_DURATIONS = {
    "alert": "s.alerted_at - s.received_at",
    "claim": "s.claimed_at - s.opened_at",
    "attempt": "s.first_attempt_at - s.opened_at",
    "contact": "s.first_contact_at - s.opened_at",
    "resolution": "s.resolved_at - s.opened_at",
    "target": "s.due_at - s.opened_at",
}


def _sla_query(key: str, with_reasons: bool) -> str:
    columns = ",\n".join(
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM {expr})) AS {name}_p50,\n"
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM {expr})) AS {name}_p90"
        for name, expr in _DURATIONS.items()
    )
    reasons = (
        "LEFT JOIN LATERAL jsonb_array_elements(s.codes) AS code ON true" if with_reasons else ""
    )
    return f"""
        WITH targets AS (
            SELECT * FROM unnest($3::int[], $4::float8[]) AS t (priority, minutes)
        ),
        scoped AS (
            SELECT c.*, r.received_at, r.codes, a.name AS owner_name,
                   coalesce(c.contact_due_at,
                            c.opened_at + make_interval(secs => t.minutes * 60)) AS due_at
            FROM recovery_cases c
            JOIN survey_responses r
              ON r.id = c.survey_response_id AND r.received_at = c.response_received_at
            JOIN targets t ON t.priority = c.priority
            LEFT JOIN agents a ON a.id = c.owner_id
            WHERE c.opened_at >= $1 AND c.opened_at < $2
              AND {responses_of_cases_opened("$1", "$2")}
        )
        SELECT {key} AS key,
               count(*) AS cases,
               {columns},
               count(*) FILTER (
                   WHERE s.first_attempt_at IS NOT NULL OR s.due_at < now()) AS decided,
               count(*) FILTER (WHERE s.first_attempt_at <= s.due_at) AS within_target,
               count(*) FILTER (
                   WHERE s.first_attempt_at IS NULL AND s.due_at < now()
                     AND s.status <> ALL($5::text[])) AS overdue_now
        FROM scoped s {reasons}
        GROUP BY 1
        ORDER BY 1
    """


def _row(record: asyncpg.Record) -> SlaRow:
    def durations(name: str) -> Durations:
        p50, p90 = record[f"{name}_p50"], record[f"{name}_p90"]
        return Durations(
            p50=None if p50 is None else round(float(p50), 3),
            p90=None if p90 is None else round(float(p90), 3),
        )

    decided, within = int(record["decided"]), int(record["within_target"])
    return SlaRow(
        key=str(record["key"]),
        cases=int(record["cases"]),
        time_to_alert=durations("alert"),
        time_to_claim=durations("claim"),
        time_to_first_attempt=durations("attempt"),
        time_to_first_contact=durations("contact"),
        time_to_resolution=durations("resolution"),
        contact_target=durations("target"),
        decided=decided,
        within_target=within,
        within_target_share=round(within / decided, 4) if decided else None,
        overdue_now=int(record["overdue_now"]),
    )


async def sla_report(
    conn: Db,
    *,
    since: datetime,
    until: datetime,
    by: SlaDimension,
    targets_minutes: dict[int, float],
) -> SlaReport:
    """Response times and the share of cases tried within target, for cases opened in the window.

    ``targets_minutes`` is the caller's own setting: shown only if the router never recorded a
    policy, and the fallback deadline for cases older than stored deadlines.
    """
    policies = await policies_in_force(conn, since=since, until=until)
    if policies:
        targets_minutes = policies[-1].targets_minutes
    priorities = sorted(targets_minutes)
    minutes = [targets_minutes[p] for p in priorities]
    args = (since, until, priorities, minutes, sorted(FINISHED_STATUSES))
    rows = await conn.fetch(_sla_query(_KEYS[by], by is SlaDimension.REASON), *args)
    total = await conn.fetch(_sla_query("'all'", False), *args)
    none = Durations(p50=None, p90=None)
    empty = SlaRow(
        key="all",
        cases=0,
        time_to_alert=none,
        time_to_claim=none,
        time_to_first_attempt=none,
        time_to_first_contact=none,
        time_to_resolution=none,
        contact_target=none,
        decided=0,
        within_target=0,
        within_target_share=None,
        overdue_now=0,
    )
    return SlaReport(
        since=since,
        until=until,
        by=by,
        targets_minutes=dict(zip(priorities, minutes, strict=True)),
        policies=policies,
        total=_row(total[0]) if total else empty,
        rows=[_row(row) for row in rows],
    )


class TrendGranularity(StrEnum):
    """How long one period of the root-cause trends is (UTC; weeks start on Monday, ISO 8601)."""

    MONTH = "month"
    WEEK = "week"


_PERIOD_LABELS = {TrendGranularity.MONTH: "YYYY-MM", TrendGranularity.WEEK: 'IYYY-"W"IW'}


class PeriodOfCauses(BaseModel):
    """One calendar month or ISO week (UTC)."""

    period: str
    """``YYYY-MM``, or ``YYYY-Www`` (ISO week) by week."""
    starts: date
    """Its first day: what a chart puts on its time axis."""
    root_causes: dict[str, int]
    """Root causes agents confirmed on cases resolved in the period."""
    coded_reasons: dict[str, int]
    """Reasons the router coded on cases opened in the period (a case counts once per reason)."""
    resolved_with_root_cause: int
    root_cause_was_coded: int
    """Of those, how many had their confirmed root cause among the router's codes: how far the
    coding can be trusted, and where it is not, which cause it misses."""
    agreement_share: float | None
    """``root_cause_was_coded / resolved_with_root_cause``; ``None`` when nothing was resolved."""


class RootCauseTrends(BaseModel):
    """Root causes and coded reasons period by period, in ``[since, until)``.

    Every period the window touches is listed, empty ones too, so a chart's axis has no gaps
    and a quiet week reads as zero rather than as missing."""

    since: datetime
    until: datetime
    by: TrendGranularity
    periods: list[PeriodOfCauses]


def _period(column: str, by: TrendGranularity) -> str:
    """The SQL label of the period ``column`` falls in (``by`` is an enum, never user text)."""
    return f"to_char(date_trunc('{by.value}', {column} AT TIME ZONE 'UTC'), '{_PERIOD_LABELS[by]}')"


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


async def root_cause_trends(
    conn: Db,
    *,
    since: datetime,
    until: datetime,
    by: TrendGranularity = TrendGranularity.MONTH,
) -> RootCauseTrends:
    """What agents found really went wrong, next to what the coding said, period by period.

    A root cause counts in the period it was last confirmed (``root_cause_at``), which reopening
    keeps: reopening clears ``resolved_at``, yet the cause an agent confirmed stays a finding.
    Rows without ``root_cause_at`` (set by hand) fall back to ``resolved_at``.
    """
    periods = await conn.fetch(
        f"""
        SELECT to_char(p, '{_PERIOD_LABELS[by]}') AS period, p::date AS starts
        FROM generate_series(date_trunc('{by.value}', $1 AT TIME ZONE 'UTC'),
                             $2 AT TIME ZONE 'UTC', interval '1 {by.value}') AS p
        WHERE p < $2 AT TIME ZONE 'UTC'
        ORDER BY p
        """,
        since,
        until,
    )
    confirmed = await conn.fetch(
        f"""
        SELECT {_period("coalesce(c.root_cause_at, c.resolved_at)", by)} AS period,
               c.root_cause AS code,
               count(*) AS n,
               count(*) FILTER (
                   WHERE r.codes @> jsonb_build_array(jsonb_build_object('code', c.root_cause))
               ) AS coded
        FROM recovery_cases c
        JOIN survey_responses r
          ON r.id = c.survey_response_id AND r.received_at = c.response_received_at
        WHERE coalesce(c.root_cause_at, c.resolved_at) >= $1
          AND coalesce(c.root_cause_at, c.resolved_at) < $2
          AND c.root_cause IS NOT NULL
        GROUP BY 1, 2
        """,
        since,
        until,
    )
    coded = await conn.fetch(
        f"""
        SELECT {_period("c.opened_at", by)} AS period, code.value ->> 'code' AS code,
               count(DISTINCT c.id) AS n
        FROM recovery_cases c
        JOIN survey_responses r
          ON r.id = c.survey_response_id AND r.received_at = c.response_received_at
        CROSS JOIN LATERAL jsonb_array_elements(r.codes) AS code
        WHERE c.opened_at >= $1 AND c.opened_at < $2 AND {responses_of_cases_opened("$1", "$2")}
        GROUP BY 1, 2
        """,
        since,
        until,
    )
    found: dict[str, dict[str, int]] = {row["period"]: {} for row in periods}
    agreed: dict[str, int] = dict.fromkeys(found, 0)
    reasons: dict[str, dict[str, int]] = {name: {} for name in found}
    for row in confirmed:
        found[row["period"]][row["code"]] = int(row["n"])
        agreed[row["period"]] += int(row["coded"])
    for row in coded:
        reasons[row["period"]][row["code"]] = int(row["n"])
    listed = []
    for row in periods:
        name = row["period"]
        resolved = sum(found[name].values())
        listed.append(
            PeriodOfCauses(
                period=name,
                starts=row["starts"],
                root_causes=_by_count(found[name]),
                coded_reasons=_by_count(reasons[name]),
                resolved_with_root_cause=resolved,
                root_cause_was_coded=agreed[name],
                agreement_share=round(agreed[name] / resolved, 4) if resolved else None,
            )
        )
    return RootCauseTrends(since=since, until=until, by=by, periods=listed)
