"""Whether a response needs recovery, and how urgently. Pure functions, no I/O.

Priority 1 is the most urgent, 4 means no case. The ladder starts from the score's severity:
a severe score is 1, another bad score or a negative reason is 2, a follow-up request alone is 3.
Two things move a case up one step each (never above 1): a reason whose weight at the time of
the response reaches ``PriorityPolicy.heavy_weight`` (ops raise weights or boost a reason for a
period in the taxonomy), and a valuable customer (segment or lifetime value). Every step is
named in ``triggers``, which the case keeps (``recovery_cases.triggers`` and its opening's
history entry), so an agent or a supervisor can read why it has its priority.

A recovery window, when an operator sets one, keeps answers that reach us long after the
customer gave them (an import of past responses, a vendor's months-old backlog) from opening
cases: calling about a survey answered weeks ago is not recovery, and a thousand such pop-ups
would bury today's. Such a response is still stored and coded, so trends count it, and a
customer who asked to be contacted still gets a case, since they asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import Customer, Score, ScoreKind, SurveyResponse
from winback_shared.taxonomy import ASKS_CONTACT, RESERVED_CODES, normalise_label

NPS_DETRACTOR_MAX = 6
"""NPS 0-6 is a detractor."""
LOW_SATISFACTION_FRACTION = 0.25
"""CSAT or stars at or below 2 of 5 (a quarter of the way up the scale)."""
SEVERE_FRACTION = 0.3
"""At or below this position on its scale a score is severe (NPS 0-3, CSAT 1-2, 1-2 stars)."""
NO_CASE = 4
PAST_WINDOW = "past_recovery_window"
"""The trigger a late answer carries: alone when it opened no case, beside the others when the
customer's request to be contacted opened one anyway."""


class Severity(StrEnum):
    """How bad the worst score is, judged on its own scale."""

    NONE = "none"
    BAD = "bad"
    SEVERE = "severe"


@dataclass(frozen=True)
class PriorityPolicy:
    """What makes a reason heavy and a customer valuable; defaults suit most accounts.

    Segments compare like taxonomy labels: case, accents and punctuation ignored.
    """

    heavy_weight: float = 2.0
    valuable_segments: frozenset[str] = field(
        default_factory=lambda: frozenset({"gold", "platinum", "vip", "premium", "enterprise"})
    )
    valuable_lifetime_value: float = 10_000.0

    def __post_init__(self) -> None:
        folded = frozenset(normalise_label(segment) for segment in self.valuable_segments)
        object.__setattr__(self, "valuable_segments", folded)


DEFAULT_POLICY = PriorityPolicy()


@dataclass(frozen=True)
class Decision:
    """The outcome for one response, with the triggers that caused it (for the case history)."""

    needs_recovery: bool
    priority: int
    triggers: tuple[str, ...]
    severity: Severity = Severity.NONE


def is_bad_score(score: Score) -> bool:
    """A detractor NPS, or CSAT/stars in the bottom quarter of their scale."""
    if score.kind is ScoreKind.NPS:
        if (score.scale_min, score.scale_max) == (0, 10):
            return score.value <= NPS_DETRACTOR_MAX
        return score.fraction <= NPS_DETRACTOR_MAX / 10
    if score.kind in (ScoreKind.CSAT, ScoreKind.STARS):
        return score.fraction <= LOW_SATISFACTION_FRACTION
    return False


def severity(scores: list[Score]) -> Severity:
    """The worst of the scores: severe near the bottom of its scale, bad if it needs recovery."""
    bad = [score for score in scores if is_bad_score(score)]
    if any(score.fraction <= SEVERE_FRACTION for score in bad):
        return Severity.SEVERE
    return Severity.BAD if bad else Severity.NONE


def customer_value(customer: Customer, policy: PriorityPolicy = DEFAULT_POLICY) -> str | None:
    """Why the customer is valuable (a premium segment, or lifetime value at or above the
    policy's), as a trigger; None for everyone else."""
    if customer.segment and normalise_label(customer.segment) in policy.valuable_segments:
        return f"customer_segment={customer.segment}"
    value = customer.lifetime_value
    if value is not None and value >= policy.valuable_lifetime_value:
        return f"customer_value={value:g}"
    return None


MODEL_METHOD = "model"


def counts(reason: CodedReason, response: SurveyResponse, level: Severity) -> bool:
    """Whether a coded reason is grounds for recovery on its own.

    A rule or a chosen answer always is. A reason only the learned model proposed is a guess
    from wording: it counts where the scores are bad or absent, but it never turns a good score
    into a case ("Sam sorted it out in five minutes" from a promoter reads like a wait to a model
    trained mostly on complaints). It stays on the response either way, for trends and re-coding.
    """
    return reason.method != MODEL_METHOD or level is not Severity.NONE or not response.scores


def answered_before_window(response: SurveyResponse, window: timedelta | None) -> bool:
    """Whether the customer answered more than ``window`` before the response reached us.

    Measured from the vendor's submission time to our receipt, not to now: a backlog of our
    own (a router that was down) must not cost customers their recovery. A response without a
    submission time is never late: nothing says it is.
    """
    if window is None or response.submitted_at is None:
        return False
    return response.received_at - response.submitted_at > window


def decide(
    response: SurveyResponse,
    reasons: list[CodedReason],
    policy: PriorityPolicy = DEFAULT_POLICY,
    window: timedelta | None = None,
) -> Decision:
    """Needs recovery on a bad score, a negative reason, or a follow-up request (the survey's
    field, or ``asks_contact`` coded from the comment); see the module docstring for the
    priority ladder and the recovery ``window`` (None: every answer is in time)."""
    level = severity(response.scores)
    triggers = [f"{s.kind.value}={s.value:g}" for s in response.scores if is_bad_score(s)]
    negative = [r for r in reasons if r.code not in RESERVED_CODES and counts(r, response, level)]
    triggers += [f"reason={code}" for code in dict.fromkeys(r.code for r in negative)]
    asked = True
    if response.follow_up_requested:
        triggers.append("follow_up_requested")
    elif any(r.code == ASKS_CONTACT for r in reasons):
        triggers.append("follow_up_in_comment")
    else:
        asked = False
    if not triggers:
        return Decision(needs_recovery=False, priority=NO_CASE, triggers=(), severity=level)
    if answered_before_window(response, window):
        if not asked:
            return Decision(
                needs_recovery=False, priority=NO_CASE, triggers=(PAST_WINDOW,), severity=level
            )
        triggers.append(PAST_WINDOW)
    if level is Severity.SEVERE:
        priority = 1
    elif level is Severity.BAD or negative:
        priority = 2
    else:
        priority = 3
    heavy = [r for r in negative if r.weight >= policy.heavy_weight]
    if heavy:
        priority -= 1
        triggers.append(f"heavy_reason={heavy[0].code}:{heavy[0].weight:g}")
    valuable = customer_value(response.customer, policy)
    if valuable:
        priority -= 1
        triggers.append(valuable)
    return Decision(
        needs_recovery=True, priority=max(priority, 1), triggers=tuple(triggers), severity=level
    )
