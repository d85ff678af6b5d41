"""The outcome figures, by reason, queue, agent, resolution kind and time to first contact
(pure: facts and links in, report out).

Every figure carries its count and a 95 % interval (:mod:`.stats`), so a team can tell a
finding from noise: the recovered and re-complaint rates are shares of the *linked* cases (those
with a later response in the window), not of all resolved cases, and the report says how many
that was. Compensation per recovered customer is the compensation given on the linked cases
divided by the recovered ones, per currency (values in different currencies never add up).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from winback_notifier.outcomes.linking import Link
from winback_notifier.outcomes.stats import Mean, Rate, mean_interval, wilson

FAST_CONTACT = timedelta(minutes=15)
MAX_LINKS_LISTED = 100
OFFERS = ("apology", "explanation", "compensation", "process_change")


class OutcomeDimension(StrEnum):
    """What the outcome figures are broken down by."""

    REASON = "reason"
    QUEUE = "queue"
    AGENT = "agent"
    RESOLUTION = "resolution"
    FIRST_CONTACT = "first_contact"


@dataclass(frozen=True)
class CaseFacts:
    """What the report groups a resolved case by, read from the case."""

    case_id: int
    resolved_at: datetime
    queue: str
    agent: str
    reason: str
    """The root cause the agent confirmed, else the first coded reason, else ``(none)``."""
    resolution: str
    """The offers made, e.g. ``apology + compensation`` (see :func:`resolution_kind`)."""
    first_contact: str
    """``under 15 min``, ``15 min or later`` or ``not reached`` (see :func:`contact_bucket`)."""
    reaction: str
    """How the customer took it, as the agent recorded it at resolution."""
    compensation: Mapping[str, float] = field(default_factory=dict)
    """Value given, per currency."""


def resolution_kind(resolution: Mapping[str, Any] | None) -> str:
    """The offers in a stored resolution, joined in a fixed order; ``none`` without any."""
    if not resolution:
        return "none"
    given = [
        name
        for name, present in (
            ("apology", bool(resolution.get("apology"))),
            ("explanation", bool(str(resolution.get("explanation") or "").strip())),
            ("compensation", isinstance(resolution.get("compensation"), Mapping)),
            ("process_change", bool(str(resolution.get("process_change") or "").strip())),
        )
        if present
    ]
    return " + ".join(name.replace("_", " ") for name in given) or "none"


def contact_bucket(
    opened_at: datetime, first_contact_at: datetime | None, fast: timedelta = FAST_CONTACT
) -> str:
    """Reached within ``fast`` of opening, later, or never."""
    if first_contact_at is None:
        return "not reached"
    minutes = f"{fast / timedelta(minutes=1):g} min"
    return f"under {minutes}" if first_contact_at - opened_at < fast else f"{minutes} or later"


class OutcomeRow(BaseModel):
    """The figures of one group of resolved cases (key ``all``: every case)."""

    key: str
    cases: int
    """Resolved in the window."""
    linked: int
    """Of which a later response of the customer measured."""
    recovered: Rate
    """Of the linked cases whose later response has a score."""
    score_change: Mean
    """After minus before, on 0-10, where both responses have a score."""
    re_complaint: Rate
    """Of the linked cases: the later response needed recovery again."""
    compensation_per_recovered: dict[str, float]
    """Per currency; absent when nobody in the group was recovered."""


class ReactionRow(BaseModel):
    """The reaction the agent recorded at resolution, against the score measured later."""

    reaction: str
    cases: int
    linked: int
    after_score: Mean
    recovered: Rate


class LinkRow(BaseModel):
    """One linked case, newest resolution first."""

    case_id: int
    response_id: int
    resolved_at: datetime
    reason: str
    resolution: str
    reaction: str
    before: float | None
    after: float | None
    change: float | None
    days: float
    same_survey: bool
    recovered: bool | None
    re_complaint: bool


class OutcomeReport(BaseModel):
    """Cases resolved in ``[since, until)`` and what their customers said next."""

    since: datetime
    until: datetime
    window_days: float
    gain_points: float
    total: OutcomeRow
    by: dict[OutcomeDimension, list[OutcomeRow]]
    reactions: list[ReactionRow]
    links: list[LinkRow]
    """At most :data:`MAX_LINKS_LISTED`, newest resolution first."""


def _row(key: str, group: Sequence[tuple[CaseFacts, Link | None]]) -> OutcomeRow:
    linked = [(facts, link) for facts, link in group if link is not None]
    judged = [link for _, link in linked if link.recovered is not None]
    recovered = sum(1 for link in judged if link.recovered)
    given: dict[str, float] = {}
    for facts, _ in linked:
        for currency, value in facts.compensation.items():
            given[currency] = given.get(currency, 0.0) + value
    return OutcomeRow(
        key=key,
        cases=len(group),
        linked=len(linked),
        recovered=wilson(recovered, len(judged)),
        score_change=mean_interval([link.change for _, link in linked if link.change is not None]),
        re_complaint=wilson(sum(1 for _, link in linked if link.re_complaint), len(linked)),
        compensation_per_recovered={
            currency: round(value / recovered, 2) for currency, value in sorted(given.items())
        }
        if recovered
        else {},
    )


_KEYS: dict[OutcomeDimension, Callable[[CaseFacts], str]] = {
    OutcomeDimension.REASON: lambda facts: facts.reason,
    OutcomeDimension.QUEUE: lambda facts: facts.queue,
    OutcomeDimension.AGENT: lambda facts: facts.agent,
    OutcomeDimension.RESOLUTION: lambda facts: facts.resolution,
    OutcomeDimension.FIRST_CONTACT: lambda facts: facts.first_contact,
}


def outcome_report(
    facts: Iterable[CaseFacts],
    links: Mapping[int, Link],
    *,
    since: datetime,
    until: datetime,
    window: timedelta,
    gain: float,
) -> OutcomeReport:
    """Every figure of the report from the resolved cases and their links."""
    pairs = [(case, links.get(case.case_id)) for case in facts]
    by: dict[OutcomeDimension, list[OutcomeRow]] = {}
    for dimension, key_of in _KEYS.items():
        groups: dict[str, list[tuple[CaseFacts, Link | None]]] = {}
        for pair in pairs:
            groups.setdefault(key_of(pair[0]), []).append(pair)
        rows = [_row(key, group) for key, group in groups.items()]
        by[dimension] = sorted(rows, key=lambda row: (-row.linked, -row.cases, row.key))
    reactions = []
    for reaction in sorted({case.reaction for case, _ in pairs}):
        group = [(case, link) for case, link in pairs if case.reaction == reaction]
        linked = [link for _, link in group if link is not None]
        judged = [link for link in linked if link.recovered is not None]
        reactions.append(
            ReactionRow(
                reaction=reaction,
                cases=len(group),
                linked=len(linked),
                after_score=mean_interval(
                    [link.after for link in linked if link.after is not None]
                ),
                recovered=wilson(sum(1 for link in judged if link.recovered), len(judged)),
            )
        )
    listed = sorted(
        ((case, link) for case, link in pairs if link is not None),
        key=lambda pair: (pair[0].resolved_at, pair[0].case_id),
        reverse=True,
    )[:MAX_LINKS_LISTED]
    return OutcomeReport(
        since=since,
        until=until,
        window_days=window / timedelta(days=1),
        gain_points=gain,
        total=_row("all", pairs),
        by=by,
        reactions=reactions,
        links=[
            LinkRow(
                case_id=case.case_id,
                response_id=link.response_id,
                resolved_at=case.resolved_at,
                reason=case.reason,
                resolution=case.resolution,
                reaction=case.reaction,
                before=link.before,
                after=link.after,
                change=link.change,
                days=link.days,
                same_survey=link.same_survey,
                recovered=link.recovered,
                re_complaint=link.re_complaint,
            )
            for case, link in listed
        ],
    )
