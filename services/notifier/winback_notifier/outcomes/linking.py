"""Which later response measures which resolved case, and what it says (pure).

The rules, each with its reason:

- A response links to the customer's **most recent case resolved before it** (resolved at or
  before the response's time): that recovery is the one the customer has just lived through.
  An earlier case of the customer is not measured by it.
- A case's **outcome is its first linked response** within ``window`` of its resolution: the
  customer's first word after the recovery. Later ones are counted (``later_responses``) but
  do not replace it, so a customer surveyed every week does not weigh more than one surveyed
  once.
- Any source and any survey counts; whether it was the same survey (source and survey id) is
  recorded, since a relationship NPS and a post-call CSAT measure different things.
- A response's time is when it was submitted, else when winback received it.

Scores are compared on one 0-10 scale: the first score of the response in the order NPS, CSAT,
stars, CES, placed on its own scale (a CSAT 4 of 1-5 is 7.5). *Recovered*: the after-score is
in the promoter or passive band (7 or more on 0-10, NPS's own line), or rose by at least
``gain`` points. *Re-complaint*: the later response itself needed recovery (the router's
decision on it: a bad score, a negative reason or a request to be called).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

PASSIVE_OR_BETTER = 7.0
"""On 0-10: NPS's passives start at 7; a CSAT of 4 of 5 (7.5) is in, 3 of 5 (5.0) is not."""
DEFAULT_GAIN = 3.0
DEFAULT_WINDOW = timedelta(days=90)
SCORE_ORDER = ("nps", "csat", "stars", "ces")


def comparable_score(scores: Iterable[Mapping[str, Any]]) -> tuple[str, float] | None:
    """The response's headline score as ``(kind, 0-10)``, or ``None`` without one."""
    by_kind: dict[str, Mapping[str, Any]] = {}
    for score in scores:
        by_kind.setdefault(str(score.get("kind")), score)
    for kind in SCORE_ORDER:
        found = by_kind.get(kind)
        if found is None:
            continue
        low, high = found.get("scale_min"), found.get("scale_max")
        value = found.get("value")
        if low is None or high is None or value is None or float(high) <= float(low):
            continue
        return kind, round((float(value) - float(low)) / (float(high) - float(low)) * 10, 4)
    return None


@dataclass(frozen=True)
class Response:
    """One stored response of the customer."""

    id: int
    at: datetime
    source: str
    survey_id: str | None
    score: float | None
    """On 0-10 (see :func:`comparable_score`)."""
    needs_recovery: bool


@dataclass(frozen=True)
class ResolvedCase:
    """One of the customer's resolved cases, and the response that opened it."""

    case_id: int
    resolved_at: datetime
    response: Response


@dataclass(frozen=True)
class Link:
    """A resolved case and the later response that measures it."""

    case_id: int
    response_id: int
    before: float | None
    after: float | None
    change: float | None
    days: float
    same_survey: bool
    recovered: bool | None
    """``None`` when the later response has no score to judge by."""
    re_complaint: bool
    later_responses: int
    """Further responses of the customer linked to this case after the first."""


def is_recovered(before: float | None, after: float | None, gain: float) -> bool | None:
    """Passive or better afterwards, or up by at least ``gain`` points."""
    if after is None:
        return None
    if after >= PASSIVE_OR_BETTER:
        return True
    return before is not None and after - before >= gain


def link_customer(
    cases: Sequence[ResolvedCase],
    responses: Iterable[Response],
    *,
    window: timedelta = DEFAULT_WINDOW,
    gain: float = DEFAULT_GAIN,
) -> dict[int, Link]:
    """Links for one customer's resolved ``cases`` from all their ``responses`` (the cases'
    own included: a case's opening response is the next case's before-score and the previous
    case's re-complaint). Cases without a later response in the window are absent."""
    ordered = sorted(cases, key=lambda case: (case.resolved_at, case.case_id))
    by_case: dict[int, list[Response]] = {}
    for response in sorted(responses, key=lambda r: (r.at, r.id)):
        earlier = [
            c for c in ordered if c.resolved_at <= response.at and c.response.id != response.id
        ]
        if not earlier:
            continue
        latest = earlier[-1]
        if response.at - latest.resolved_at > window:
            continue
        by_case.setdefault(latest.case_id, []).append(response)
    links = {}
    for case in ordered:
        later = by_case.get(case.case_id)
        if not later:
            continue
        first = later[0]
        before = case.response.score
        change = None if first.score is None or before is None else first.score - before
        links[case.case_id] = Link(
            case_id=case.case_id,
            response_id=first.id,
            before=before,
            after=first.score,
            change=None if change is None else round(change, 4),
            days=round((first.at - case.resolved_at) / timedelta(days=1), 2),
            same_survey=(first.source, first.survey_id)
            == (case.response.source, case.response.survey_id),
            recovered=is_recovered(before, first.score, gain),
            re_complaint=first.needs_recovery,
            later_responses=len(later) - 1,
        )
    return links
