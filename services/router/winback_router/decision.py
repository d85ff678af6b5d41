"""Whether a response needs recovery, and how urgently. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import Score, ScoreKind, SurveyResponse
from winback_shared.taxonomy import UNCLASSIFIED

NPS_DETRACTOR_MAX = 6
"""NPS 0-6 is a detractor."""
LOW_SATISFACTION_FRACTION = 0.25
"""CSAT or stars at or below 2 of 5 (a quarter of the way up the scale)."""
SEVERE_FRACTION = 0.3
"""At or below this position on its scale a score is severe (NPS 0-3, CSAT 1-2, 1-2 stars)."""


@dataclass(frozen=True)
class Decision:
    """The outcome for one response, with the triggers that caused it (for the case history)."""

    needs_recovery: bool
    priority: int
    triggers: tuple[str, ...]


def is_bad_score(score: Score) -> bool:
    """A detractor NPS, or CSAT/stars in the bottom quarter of their scale."""
    if score.kind is ScoreKind.NPS:
        if (score.scale_min, score.scale_max) == (0, 10):
            return score.value <= NPS_DETRACTOR_MAX
        return score.fraction <= NPS_DETRACTOR_MAX / 10
    if score.kind in (ScoreKind.CSAT, ScoreKind.STARS):
        return score.fraction <= LOW_SATISFACTION_FRACTION
    return False


def decide(response: SurveyResponse, reasons: list[CodedReason]) -> Decision:
    """Needs recovery on a bad score, a negative reason, or a follow-up request.

    Priority 1 is a severe score; 2 a bad score or a negative reason; 3 a follow-up request
    alone. Reason weights and customer value refine this later (issue #4).
    """
    triggers: list[str] = []
    bad_scores = [s for s in response.scores if is_bad_score(s)]
    triggers += [f"{s.kind.value}={s.value:g}" for s in bad_scores]
    negative = [r.code for r in reasons if r.code != UNCLASSIFIED]
    triggers += [f"reason={code}" for code in negative]
    if response.follow_up_requested:
        triggers.append("follow_up_requested")
    if not triggers:
        return Decision(needs_recovery=False, priority=4, triggers=())
    if any(s.fraction <= SEVERE_FRACTION for s in bad_scores):
        priority = 1
    elif bad_scores or negative:
        priority = 2
    else:
        priority = 3
    return Decision(needs_recovery=True, priority=priority, triggers=tuple(triggers))
