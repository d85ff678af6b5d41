"""The "reasons right / wrong" review as pure rules: who may record it, which codes it accepts,
and whether it confirms or corrects what the router coded."""

from __future__ import annotations

import pytest

from winback_notifier.cases.rules import (
    Action,
    CaseRefused,
    CaseState,
    ReasonsReview,
    Verdict,
    decide,
    known_codes,
)
from winback_shared.agents import Agent, Role
from winback_shared.case_vocabulary import CaseStatus, HistoryKind

ANA = Agent(1, "ana", Role.AGENT, frozenset({"default"}))
BEN = Agent(2, "ben", Role.AGENT, frozenset({"default"}))
SUE = Agent(3, "sue", Role.SUPERVISOR, frozenset())
OLGA = Agent(4, "olga", Role.AGENT, frozenset({"billing"}))
TAXONOMY = ["product_knowledge", "long_wait", "billing_error"]


def case(status: CaseStatus, owner: Agent | None) -> CaseState:
    return CaseState(
        case_id=7,
        status=status,
        queue="default",
        owner_id=owner.id if owner else None,
        owner=owner.name if owner else None,
        failed_attempts=0,
    )


def test_the_review_is_recorded_as_its_own_history_kind() -> None:
    assert Action.REVIEW_REASONS.kind is HistoryKind.REASONS_REVIEWED


@pytest.mark.parametrize("status", list(CaseStatus))
def test_the_owner_or_a_supervisor_reviews_in_any_status_and_nothing_else_changes(
    status: CaseStatus,
) -> None:
    for actor in (ANA, SUE):
        outcome = decide(Action.REVIEW_REASONS, case(status, ANA), actor)
        assert (outcome.status, outcome.owner_id, outcome.queue) == (status, ANA.id, "default")


@pytest.mark.parametrize(
    ("actor", "owner", "status", "code"),
    [
        (BEN, ANA, 403, "not_owner"),  # a colleague of the queue did not talk to the customer
        (OLGA, ANA, 403, "forbidden"),  # not even her queue
        (ANA, None, 409, "not_claimed"),  # nobody owns it yet: claim it first
        (SUE, None, 409, "not_claimed"),
    ],
)
def test_who_may_not_review_is_told_why(
    actor: Agent, owner: Agent | None, status: int, code: str
) -> None:
    with pytest.raises(CaseRefused) as refused:
        decide(Action.REVIEW_REASONS, case(CaseStatus.CONTACTED, owner), actor)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_known_codes_come_back_once_in_taxonomy_order() -> None:
    assert known_codes(["billing_error", "long_wait", "billing_error"], TAXONOMY) == (
        "long_wait",
        "billing_error",
    )
    assert known_codes([], TAXONOMY) == ()


@pytest.mark.parametrize("wrong", ["parking", "unclassified", "asks_contact", "Long_wait"])
def test_an_unknown_code_is_a_422_naming_it_and_what_is_accepted(wrong: str) -> None:
    with pytest.raises(CaseRefused) as refused:
        known_codes(["long_wait", wrong], TAXONOMY)
    assert (refused.value.status, refused.value.code) == (422, "unknown_reason_code")
    assert repr(wrong) in refused.value.message
    assert "use any of: product_knowledge, long_wait, billing_error" in refused.value.message


@pytest.mark.parametrize(
    ("codes", "follow_up", "verdict"),
    [
        (("long_wait", "billing_error"), False, Verdict.CONFIRMED),
        (("billing_error", "long_wait"), False, Verdict.CONFIRMED),  # order is not a correction
        (("long_wait",), False, Verdict.CORRECTED),  # one code too many was coded
        (("long_wait", "billing_error", "product_knowledge"), False, Verdict.CORRECTED),
        (("long_wait", "billing_error"), True, Verdict.CORRECTED),  # they did ask to be called
        ((), False, Verdict.CORRECTED),
    ],
)
def test_the_verdict_compares_the_label_with_the_coding(
    codes: tuple[str, ...], follow_up: bool, verdict: Verdict
) -> None:
    review = ReasonsReview(codes, follow_up, ("long_wait", "billing_error"), False)
    assert review.verdict is verdict
    data = review.history_data("she said so")
    assert data == {
        "verdict": verdict.value,
        "codes": list(codes),
        "follow_up_requested": follow_up,
        "coded": ["long_wait", "billing_error"],
        "coded_follow_up": False,
        "note": "she said so",
    }
