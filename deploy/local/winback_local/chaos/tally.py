"""What the run did to the data: accepted, stored, lost, doubled, never shown; how fast back.

The counts come from three witnesses that do not share code with the pipeline: the vendor's own
record of its attempts (:mod:`.load`), PostgreSQL's tables, and what the console was shown
(:mod:`.console`). Pure functions over those records, so the tests can check the arithmetic.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg

from winback_local.chaos.console import Console
from winback_local.chaos.faults import FaultRecord
from winback_local.chaos.load import Delivery


@dataclass(frozen=True)
class StoredCase:
    """A stored response of this run and its case, if one opened (``opened_at``: epoch s)."""

    response_id: str
    case_id: int | None
    opened_at: float | None


async def read_stored(database_url: str, source: str) -> list[StoredCase]:
    """Every stored response of ``source`` with its case (one row per case, or one without)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """
            SELECT r.response_id, c.id AS case_id, extract(epoch FROM c.opened_at) AS opened_at
            FROM survey_responses r LEFT JOIN recovery_cases c ON c.survey_response_id = r.id
            WHERE r.source = $1
            """,
            source,
        )
    finally:
        await conn.close()
    return [
        StoredCase(
            r["response_id"],
            r["case_id"],
            float(r["opened_at"]) if r["opened_at"] is not None else None,
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Counts:
    """The counts table."""

    sent: int
    attempts: int
    accepted: int
    refused_503: int
    connection_errors: int
    abandoned: int
    """Deliveries never answered 202 (their vendor gave up after a 503 or a failed connection)."""
    abandoned_but_stored: int
    """Of those, stored anyway: a 503 that did not mean "not taken"."""
    stored: int
    cases: int
    lost: int
    duplicated: int
    never_shown: int
    consoles_connections: int


def count(
    deliveries: Sequence[Delivery], stored: Sequence[StoredCase], consoles: Sequence[Console]
) -> Counts:
    """The counts table from the three witnesses."""
    attempts = [a for d in deliveries for a in d.attempts]
    outcomes = Counter(a.outcome for a in attempts)
    accepted = {d.response_id for d in deliveries if d.accepted}
    abandoned = {d.response_id for d in deliveries if not d.accepted}
    stored_ids = {s.response_id for s in stored}
    cases_of: dict[str, set[int]] = {}
    for row in stored:
        if row.case_id is not None:
            cases_of.setdefault(row.response_id, set()).add(row.case_id)
    for console in consoles:
        for response_id, shown in console.cases_of_response.items():
            cases_of.setdefault(response_id, set()).update(shown)
    case_ids = {s.case_id for s in stored if s.case_id is not None}
    never_shown = max((len(case_ids - console.seen.keys()) for console in consoles), default=0)
    return Counts(
        sent=len(deliveries),
        attempts=len(attempts),
        accepted=len(accepted),
        refused_503=outcomes["503"],
        connection_errors=sum(n for o, n in outcomes.items() if not o.isdigit()),
        abandoned=len(abandoned),
        abandoned_but_stored=len(abandoned & stored_ids),
        stored=len(stored_ids),
        cases=len(case_ids),
        lost=len(accepted - stored_ids),
        duplicated=sum(1 for ids in cases_of.values() if len(ids) > 1),
        never_shown=never_shown,
        consoles_connections=sum(c.connections for c in consoles),
    )


@dataclass(frozen=True)
class Recovery:
    """Seconds from one kill to: ready again, first 202, first case opened, first live alert.

    The 202 counts for a POST sent after the kill; the case is the first opened after the
    restart began, the alert the first to reach the console for such a case, so work already in
    flight when the piece died does not pass for recovery.
    """

    label: str
    down: float
    ready: float | None
    first_202: float | None
    first_case: float | None
    first_alert: float | None


def _first_after(moment: float, times: Iterable[float]) -> float | None:
    return min((t for t in times if t >= moment), default=None)


def _since(start: float, moment: float | None) -> float | None:
    return None if moment is None else moment - start


def recoveries(
    faults: Sequence[FaultRecord],
    deliveries: Sequence[Delivery],
    stored: Sequence[StoredCase],
    consoles: Sequence[Console],
) -> list[Recovery]:
    """Per fault (see :class:`Recovery`)."""
    opened_at = {s.case_id: s.opened_at for s in stored if s.opened_at is not None}
    result = []
    for record in faults:
        kill = record.killed_at
        back = record.restarting_at or kill
        alerts = (
            at
            for console in consoles
            for at, case_id in console.live_openings
            if opened_at.get(case_id, 0.0) >= back
        )
        accepted = (
            a.answered_at
            for d in deliveries
            for a in d.attempts
            if a.accepted and a.sent_at >= kill
        )
        result.append(
            Recovery(
                label=record.label,
                down=record.fault.down_seconds,
                ready=record.restarted_at - kill if record.restarted_at else None,
                first_202=_since(kill, _first_after(kill, accepted)),
                first_case=_since(kill, _first_after(back, opened_at.values())),
                first_alert=_since(kill, _first_after(back, alerts)),
            )
        )
    return result


COUNT_ROWS: tuple[tuple[str, str], ...] = (
    ("sent", "new deliveries sent"),
    ("attempts", "POSTs, retries and re-sends included"),
    ("accepted", "deliveries answered 202"),
    ("refused_503", "answers 503"),
    ("connection_errors", "POSTs with no answer (ingest down)"),
    ("abandoned", "deliveries never answered 202 (vendor gave up)"),
    ("abandoned_but_stored", "... of which stored anyway"),
    ("stored", "stored responses"),
    ("cases", "cases"),
    ("lost", "LOST: answered 202, not stored"),
    ("duplicated", "DUPLICATED: more than one case for a response"),
    ("never_shown", "NEVER SHOWN to the connected console"),
    ("consoles_connections", "console connections (one per console + reconnects)"),
)


def _seconds(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1f}"


def format_table(counts: Counts, recovered: Sequence[Recovery]) -> str:
    """The two tables as plain text."""
    lines = [f"{getattr(counts, key):>8}  {label}" for key, label in COUNT_ROWS]
    lines += [
        "",
        f"{'fault (SIGKILL)':<42}{'down':>6}{'ready':>7}{'202':>7}{'case':>7}{'alert':>7}"
        "   (seconds after the kill)",
    ]
    for r in recovered:
        lines.append(
            f"{r.label:<42}{_seconds(r.down):>6}{_seconds(r.ready):>7}{_seconds(r.first_202):>7}"
            f"{_seconds(r.first_case):>7}{_seconds(r.first_alert):>7}"
        )
    return "\n".join(lines)
