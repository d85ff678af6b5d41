"""The needs-recovery rule, severity and the priority ladder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from winback_router.coding import code_response
from winback_router.decision import (
    PAST_WINDOW,
    Decision,
    PriorityPolicy,
    Severity,
    decide,
    severity,
)
from winback_router.settings import RouterSettings
from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import Customer, Score, SurveyResponse
from winback_shared.taxonomy import Taxonomy, load_taxonomy

TAXONOMY = load_taxonomy()


def response(
    scores: list[dict[str, Any]] | None = None,
    reasons: list[str] | None = None,
    follow_up: bool = False,
    comment: str | None = None,
    segment: str | None = None,
    lifetime_value: float | None = None,
) -> SurveyResponse:
    return SurveyResponse(
        response_id="r-1",
        scores=[Score.model_validate(s) for s in scores or []],
        reasons=reasons or [],
        comment=comment,
        follow_up_requested=follow_up,
        customer=Customer(segment=segment, lifetime_value=lifetime_value),
        source="s",
        vendor="generic",
        receipt_id="x",
        received_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )


def decision_for(taxonomy: Taxonomy = TAXONOMY, **kwargs: Any) -> Decision:
    survey = response(**kwargs)
    return decide(survey, code_response(survey, taxonomy))


def outcome(**kwargs: Any) -> tuple[bool, int]:
    decision = decision_for(**kwargs)
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


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([], Severity.NONE),
        ([{"kind": "nps", "value": 8}], Severity.NONE),
        ([{"kind": "nps", "value": 5}], Severity.BAD),
        ([{"kind": "nps", "value": 5}, {"kind": "csat", "value": 1}], Severity.SEVERE),
        ([{"kind": "stars", "value": 3, "scale_min": 1, "scale_max": 10}], Severity.SEVERE),
    ],
)
def test_severity_is_the_worst_score_on_its_own_scale(
    scores: list[dict[str, Any]], expected: Severity
) -> None:
    assert severity([Score.model_validate(s) for s in scores]) is expected


def test_negative_reason_alone_needs_recovery() -> None:
    assert outcome(scores=[{"kind": "nps", "value": 9}], reasons=["Billing error"]) == (True, 2)


def test_a_complaint_in_the_comment_alone_needs_recovery() -> None:
    decision = decision_for(scores=[{"kind": "nps", "value": 8}], comment="Charged me twice!")
    assert (decision.needs_recovery, decision.priority) == (True, 2)
    assert decision.triggers == ("reason=billing_error",)


def test_unrecognised_reason_alone_does_not_open_a_case() -> None:
    assert outcome(scores=[{"kind": "nps", "value": 9}], reasons=["the colour blue"])[0] is False
    assert outcome(comment="The music in the shop is loud.")[0] is False


def test_follow_up_request_always_needs_recovery() -> None:
    assert outcome(scores=[{"kind": "nps", "value": 10}], follow_up=True) == (True, 3)


def test_no_score_no_reason_no_request_needs_nothing() -> None:
    assert outcome() == (False, 4)


@pytest.mark.parametrize(("nps", "priority"), [(0, 1), (3, 1), (4, 2), (6, 2)])
def test_severe_scores_come_first(nps: int, priority: int) -> None:
    assert outcome(scores=[{"kind": "nps", "value": nps}]) == (True, priority)


def test_decision_names_its_triggers() -> None:
    decision = decision_for(
        scores=[{"kind": "nps", "value": 2}], reasons=["rude agent"], follow_up=True
    )
    assert decision.triggers == ("nps=2", "reason=rude", "follow_up_requested")
    assert decision.severity is Severity.SEVERE


BOOSTED = """
[[codes]]
id = "product_knowledge"
label = "Lack of product knowledge"
synonyms = ["product knowledge"]
[[codes]]
id = "long_wait"
label = "Long wait"
synonyms = ["long wait"]
[[boosts]]
code = "product_knowledge"
factor = 2.5
starts = 2026-11-01
ends = 2027-01-01
note = "hiring wave"
"""


def test_a_boosted_reason_raises_priority_while_the_boost_lasts(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.toml"
    path.write_text(BOOSTED, encoding="utf-8")
    boosted = load_taxonomy(path)
    nps = [{"kind": "nps", "value": 5}]

    knowledge = decision_for(boosted, scores=nps, reasons=["product knowledge"])
    waiting = decision_for(boosted, scores=nps, reasons=["long wait"])

    assert (knowledge.priority, waiting.priority) == (1, 2)
    assert knowledge.triggers[-1] == "heavy_reason=product_knowledge:2.5"
    after = response(scores=nps, reasons=["product knowledge"]).model_copy(
        update={"received_at": datetime(2027, 1, 2, tzinfo=UTC)}
    )
    assert decide(after, code_response(after, boosted)).priority == 2


@pytest.mark.parametrize(
    ("segment", "lifetime_value", "trigger"),
    [
        ("Gold", None, "customer_segment=Gold"),
        ("  PLATINUM ", None, "customer_segment=  PLATINUM "),
        ("basic", 25_000.0, "customer_value=25000"),
    ],
)
def test_valuable_customers_move_up_one_step(
    segment: str | None, lifetime_value: float | None, trigger: str
) -> None:
    decision = decision_for(follow_up=True, segment=segment, lifetime_value=lifetime_value)
    assert decision.priority == 2
    assert decision.triggers[-1] == trigger


def test_ordinary_customers_do_not_move() -> None:
    assert outcome(follow_up=True, segment="basic", lifetime_value=50.0) == (True, 3)


def test_the_policy_decides_who_is_valuable() -> None:
    survey = response(follow_up=True, segment="Wholesale")
    policy = PriorityPolicy(valuable_segments=frozenset({"wholesale"}))
    assert decide(survey, [], policy).priority == 2
    assert decide(survey, []).priority == 3


def test_priority_never_goes_above_one(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.toml"
    path.write_text(BOOSTED, encoding="utf-8")
    decision = decision_for(
        load_taxonomy(path),
        scores=[{"kind": "nps", "value": 0}],
        reasons=["product knowledge"],
        segment="vip",
    )
    assert decision.priority == 1


def test_priority_orders_cases_from_most_to_least_urgent() -> None:
    severe = {"kind": "nps", "value": 1}
    bad = {"kind": "nps", "value": 5}
    promoter = {"kind": "nps", "value": 10}
    cases = {
        "severe score": decision_for(scores=[severe]),
        "bad score from a gold customer": decision_for(scores=[bad], segment="gold"),
        "bad score": decision_for(scores=[bad]),
        "complaint in the comment": decision_for(scores=[promoter], comment="So rude."),
        "follow-up request alone": decision_for(scores=[promoter], follow_up=True),
        "happy customer": decision_for(scores=[promoter], comment="Lovely, thanks."),
    }
    assert [d.priority for d in cases.values()] == [1, 1, 2, 2, 3, 4]
    assert [d.needs_recovery for d in cases.values()] == [True] * 5 + [False]


def model_reason(code: str = "long_wait") -> CodedReason:
    return CodedReason(code=code, label=code, evidence="...", method="model", confidence=0.5)


def test_a_model_guess_never_turns_a_good_score_into_a_case() -> None:
    promoter = response(scores=[{"kind": "nps", "value": 9}], comment="Sorted in five minutes.")
    assert decide(promoter, [model_reason()]).needs_recovery is False


@pytest.mark.parametrize(("scores", "priority"), [([{"kind": "nps", "value": 5}], 2), ([], 2)])
def test_a_model_guess_counts_where_the_score_is_bad_or_absent(
    scores: list[dict[str, Any]], priority: int
) -> None:
    decision = decide(response(scores=scores, comment="..."), [model_reason()])
    assert (decision.needs_recovery, decision.priority) == (True, priority)
    assert "reason=long_wait" in decision.triggers


def test_a_rule_found_reason_still_opens_a_case_for_a_good_score() -> None:
    promoter = response(scores=[{"kind": "nps", "value": 9}], comment="The agent was rude.")
    assert decide(promoter, code_response(promoter, TAXONOMY)).needs_recovery is True


def answered(days_before_receipt: float | None, **kwargs: Any) -> SurveyResponse:
    """A response the customer answered so long before it reached us (None: no time given)."""
    survey = response(**kwargs)
    if days_before_receipt is None:
        return survey
    submitted = survey.received_at - timedelta(days=days_before_receipt)
    return survey.model_copy(update={"submitted_at": submitted})


WINDOW = timedelta(hours=72)


def test_an_answer_past_the_recovery_window_opens_no_case() -> None:
    late = answered(30, scores=[{"kind": "nps", "value": 1}], comment="Waited an hour on hold.")
    decision = decide(late, code_response(late, TAXONOMY), window=WINDOW)
    assert decision == Decision(
        needs_recovery=False,
        priority=4,
        triggers=(PAST_WINDOW,),
        severity=Severity.SEVERE,
    )


def test_an_answer_inside_the_window_opens_its_case_as_before() -> None:
    recent = answered(2.9, scores=[{"kind": "nps", "value": 1}])
    decision = decide(recent, [], window=WINDOW)
    assert decision.needs_recovery
    assert decision.priority == 1
    assert PAST_WINDOW not in decision.triggers


def test_without_a_window_every_answer_is_in_time() -> None:
    a_year_old = answered(365, scores=[{"kind": "nps", "value": 1}])
    decision = decide(a_year_old, [])
    assert (decision.needs_recovery, decision.priority) == (True, 1)
    assert PAST_WINDOW not in decision.triggers


def test_an_answer_without_a_submission_time_is_never_late() -> None:
    undated = answered(None, scores=[{"kind": "nps", "value": 1}])
    assert undated.submitted_at is None
    assert decide(undated, [], window=WINDOW).needs_recovery


@pytest.mark.parametrize(
    ("follow_up", "comment", "trigger"),
    [
        (True, None, "follow_up_requested"),
        (False, "Please call me back about this.", "follow_up_in_comment"),
    ],
)
def test_a_customer_who_asked_to_be_contacted_gets_a_case_however_late(
    follow_up: bool, comment: str | None, trigger: str
) -> None:
    late = answered(30, scores=[{"kind": "nps", "value": 5}], follow_up=follow_up, comment=comment)
    decision = decide(late, code_response(late, TAXONOMY), window=WINDOW)
    assert decision.needs_recovery
    assert decision.priority == 2  # what it would have been in time
    assert trigger in decision.triggers
    assert decision.triggers[-1] == PAST_WINDOW  # the case history says it came late


def test_a_late_promoter_is_no_case_for_its_score_not_for_its_age() -> None:
    """Only an answer that would have opened a case counts as one the window held back."""
    late = answered(30, scores=[{"kind": "nps", "value": 10}])
    assert decide(late, [], window=WINDOW).triggers == ()


def test_the_window_comes_from_the_environment_and_is_off_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WINBACK_RECOVERY_WINDOW_HOURS", raising=False)
    assert RouterSettings().recovery_window is None
    monkeypatch.setenv("WINBACK_RECOVERY_WINDOW_HOURS", "72")
    assert RouterSettings().recovery_window == WINDOW
    monkeypatch.setenv("WINBACK_RECOVERY_WINDOW_HOURS", "0")
    with pytest.raises(ValidationError, match="recovery_window_hours"):
        RouterSettings()
