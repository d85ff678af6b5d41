"""Reading the outcome loop from PostgreSQL: resolved cases, their customers' other responses
(through :func:`winback_shared.customer_match.matching_responses`, the one matcher), and the
report.

Computed when read, not stored: a response that arrives, a revision that changes a customer's
e-mail, or a changed matching rule show in the next report with nothing to back-fill, and the
router's path gains no work. The cost is one matching query per resolved case in the window
(four at a time), then one read of every response matched; see docs/outcomes.md for what that
costs today.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from winback_notifier.outcomes.linking import (
    Link,
    ResolvedCase,
    Response,
    comparable_score,
    link_customer,
)
from winback_notifier.outcomes.report import (
    CaseFacts,
    OutcomeReport,
    contact_bucket,
    outcome_report,
    resolution_kind,
)
from winback_shared.customer_match import MatchRule, matching_responses

MATCH_CONCURRENCY = 4
"""Matching queries in flight at once (each on its own pooled connection)."""
DEFAULT_OUTCOME_WINDOW = timedelta(days=90)
"""The report's default window of resolutions (the API's and the CLI's)."""

_RESOLVED = """
    SELECT c.id, c.survey_response_id, c.response_received_at, c.resolved_at, c.opened_at,
           c.first_contact_at, c.queue,
           coalesce(a.name, '(unowned)') AS agent,
           coalesce(c.root_cause, r.codes -> 0 ->> 'code', '(none)') AS reason,
           c.resolution, coalesce(c.customer_reaction, '(not recorded)') AS reaction
    FROM recovery_cases c
    JOIN survey_responses r
      ON r.id = c.survey_response_id AND r.received_at = c.response_received_at
    LEFT JOIN agents a ON a.id = c.owner_id
    WHERE c.resolved_at >= $1 AND c.resolved_at < $2
    ORDER BY c.resolved_at, c.id
"""
# Every response matched, with the case it opened if that case was ever resolved. Each response
# is named with its month, and its case found through its key with the case's month: one
# partition probed for each, not every month's.
_RESPONSES = """
    SELECT r.id, coalesce(r.submitted_at, r.received_at) AS at, r.source, r.survey_id, r.scores,
           r.needs_recovery, c.id AS case_id, c.resolved_at
    FROM unnest($1::bigint[], $2::timestamptz[]) AS m (id, received_at)
    JOIN survey_responses r ON r.id = m.id AND r.received_at = m.received_at
    LEFT JOIN case_keys k ON k.survey_response_id = r.id
    LEFT JOIN recovery_cases c
      ON c.id = k.case_id AND c.opened_at = k.opened_at AND c.resolved_at IS NOT NULL
"""


def _response(row: Mapping[str, Any]) -> Response:
    scores = row["scores"]
    headline = comparable_score(scores if isinstance(scores, list) else [])
    return Response(
        id=int(row["id"]),
        at=row["at"],
        source=str(row["source"]),
        survey_id=row["survey_id"],
        score=None if headline is None else headline[1],
        needs_recovery=bool(row["needs_recovery"]),
    )


def _compensation(resolution: Mapping[str, Any] | None) -> dict[str, float]:
    given = (resolution or {}).get("compensation")
    if not isinstance(given, Mapping) or given.get("value") is None:
        return {}
    return {str(given.get("currency") or "?"): float(given["value"])}


def _facts(row: Mapping[str, Any]) -> CaseFacts:
    resolution = row["resolution"] if isinstance(row["resolution"], Mapping) else None
    return CaseFacts(
        case_id=int(row["id"]),
        resolved_at=row["resolved_at"],
        queue=str(row["queue"]),
        agent=str(row["agent"]),
        reason=str(row["reason"]),
        resolution=resolution_kind(resolution),
        first_contact=contact_bucket(row["opened_at"], row["first_contact_at"]),
        reaction=str(row["reaction"]),
        compensation=_compensation(resolution),
    )


def links_for(
    cases: Sequence[Mapping[str, Any]],
    customer_of: Mapping[int, Sequence[int]],
    responses: Mapping[int, Mapping[str, Any]],
    *,
    window: timedelta,
    gain: float,
) -> dict[int, Link]:
    """Each case's link from its customer's responses (``customer_of[case]``: the case's own
    response and those matched to it; ``responses``: the rows of :data:`_RESPONSES`)."""
    links: dict[int, Link] = {}
    for case in cases:
        rows = [responses[i] for i in customer_of[int(case["id"])] if i in responses]
        resolved = [
            ResolvedCase(
                case_id=int(row["case_id"]), resolved_at=row["resolved_at"], response=_response(row)
            )
            for row in rows
            if row["case_id"] is not None
        ]
        found = link_customer(resolved, [_response(row) for row in rows], window=window, gain=gain)
        if int(case["id"]) in found:
            links[int(case["id"])] = found[int(case["id"])]
    return links


async def read_outcomes(
    pool: asyncpg.Pool,
    *,
    since: datetime,
    until: datetime,
    rule: MatchRule,
    window: timedelta = DEFAULT_OUTCOME_WINDOW,
    gain: float = 3.0,
) -> OutcomeReport:
    """The outcome report for the cases resolved in ``[since, until)``."""
    async with pool.acquire() as conn:
        cases = [dict(row) for row in await conn.fetch(_RESOLVED, since, until)]
    gate = asyncio.Semaphore(MATCH_CONCURRENCY)

    async def customer(case: Mapping[str, Any]) -> list[tuple[int, datetime]]:
        own = int(case["survey_response_id"])
        async with gate, pool.acquire() as conn:
            matched = await matching_responses(conn, survey_response_id=own, rule=rule)
        return [
            (own, case["response_received_at"]),
            *((m.survey_response_id, m.received_at) for m in matched),
        ]

    found = await asyncio.gather(*(customer(case) for case in cases))
    customer_of = {
        int(case["id"]): [i for i, _ in named] for case, named in zip(cases, found, strict=True)
    }
    wanted = sorted({pair for named in found for pair in named})
    async with pool.acquire() as conn:
        rows = await conn.fetch(_RESPONSES, [i for i, _ in wanted], [at for _, at in wanted])
    responses = {int(row["id"]): dict(row) for row in rows}
    links = links_for(cases, customer_of, responses, window=window, gain=gain)
    return outcome_report(
        [_facts(case) for case in cases], links, since=since, until=until, window=window, gain=gain
    )
