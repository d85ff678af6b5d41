"""The needs-recovery rule and the first priority levels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from winback_router.coding import code_chosen_reasons
from winback_router.decision import decide
from winback_shared.survey import Score, SurveyResponse
from winback_shared.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()


def response(
    scores: list[dict[str, Any]] | None = None,
    reasons: list[str] | None = None,
    follow_up: bool = False,
) -> SurveyResponse:
    return SurveyResponse(
        response_id="r-1",
        scores=[Score.model_validate(s) for s in scores or []],
        reasons=reasons or [],
        follow_up_requested=follow_up,
        source="s",
        vendor="generic",
        receipt_id="x",
        received_at=datetime.now(UTC),
    )


def outcome(**kwargs: Any) -> tuple[bool, int]:
    survey = response(**kwargs)
    decision = decide(survey, code_chosen_reasons(survey, TAXONOMY))
    return decision.needs_recovery, decision.priority


@pytest.mark.parametrize(("nps", "needs"), [(0, True), (6, True), (7, False), (10, False)])
def test_nps_detractors_need_recovery(nps: int, needs: bool) -> None:
    assert outcome(scores=[{"kind": "nps", "value": nps}])[0] is needs


@pytest.mark.parametrize(
    ("kind", "value", "needs"),
    [
        ("csat", 1, True),
        ("csat", 2, True),
        ("csat", 3, False),
        ("stars", 2, True),
        ("stars", 3, False),
        ("ces", 1, False),
    ],
)
def test_low_csat_and_stars_need_recovery(kind: str, value: int, needs: bool) -> None:
    assert outcome(scores=[{"kind": kind, "value": value}])[0] is needs


def test_csat_on_a_ten_point_scale_is_judged_by_its_scale() -> None:
    assert outcome(scores=[{"kind": "csat", "value": 2, "scale_min": 0, "scale_max": 10}])[0]
    assert not outcome(scores=[{"kind": "csat", "value": 4, "scale_min": 0, "scale_max": 10}])[0]


def test_negative_reason_alone_needs_recovery() -> None:
    assert outcome(scores=[{"kind": "nps", "value": 9}], reasons=["Billing error"]) == (True, 2)


def test_unrecognised_reason_alone_does_not_open_a_case() -> None:
    assert outcome(scores=[{"kind": "nps", "value": 9}], reasons=["the colour blue"])[0] is False


def test_follow_up_request_always_needs_recovery() -> None:
    assert outcome(scores=[{"kind": "nps", "value": 10}], follow_up=True) == (True, 3)


def test_no_score_no_reason_no_request_needs_nothing() -> None:
    assert outcome()[0] is False


@pytest.mark.parametrize(("nps", "priority"), [(0, 1), (3, 1), (4, 2), (6, 2)])
def test_severe_scores_come_first(nps: int, priority: int) -> None:
    assert outcome(scores=[{"kind": "nps", "value": nps}]) == (True, priority)


def test_decision_names_its_triggers() -> None:
    survey = response(scores=[{"kind": "nps", "value": 2}], reasons=["rude agent"], follow_up=True)
    decision = decide(survey, code_chosen_reasons(survey, TAXONOMY))
    assert decision.triggers == ("nps=2", "reason=rude", "follow_up_requested")
