"""Authority to fix it: limits per role and queue, offers granted or asked, answers refused."""

from __future__ import annotations

from decimal import Decimal

import pytest

from winback_notifier.cases.offer_rules import (
    CaseOffers,
    LimitRule,
    OfferFacts,
    OfferStatus,
    decide_answer,
    decide_offer,
    duplicate_rules,
    limit_for,
    nothing_pending,
    with_offers,
)
from winback_notifier.cases.rules import CaseRefused, CaseState
from winback_shared.agents import Agent, Role
from winback_shared.case_vocabulary import CaseStatus
from winback_shared.events.case_events import Compensation, GivenOffer, Resolution

RULES = [
    LimitRule(Role.AGENT, None, "EUR", Decimal("50")),
    LimitRule(Role.AGENT, "vip", "EUR", Decimal("150")),
    LimitRule(Role.AGENT, None, "USD", Decimal("60")),
    LimitRule(Role.SUPERVISOR, None, "EUR", Decimal("500")),
]

ANA = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"default", "vip"}))
BEN = Agent(id=2, name="ben", role=Role.AGENT, queues=frozenset({"default"}))
SUE = Agent(id=3, name="sue", role=Role.SUPERVISOR)
SAM = Agent(id=4, name="sam", role=Role.SUPERVISOR)
NOTHING = CaseOffers(currency=None, committed=Decimal(0))


def case(
    status: CaseStatus = CaseStatus.CONTACTED, owner: Agent | None = ANA, queue: str = "default"
) -> CaseState:
    return CaseState(
        case_id=7,
        status=status,
        queue=queue,
        owner_id=owner.id if owner else None,
        owner=owner.name if owner else None,
        failed_attempts=0,
    )


@pytest.mark.parametrize(
    ("role", "queue", "currency", "expected"),
    [
        (Role.AGENT, "default", "EUR", "50"),  # the role's rule for every queue
        (Role.AGENT, "vip", "EUR", "150"),  # the queue's own rule wins
        (Role.AGENT, "vip", "USD", "60"),  # no queue rule in USD: the role's
        (Role.AGENT, "default", "GBP", "0"),  # nothing configured: every offer asks
        (Role.SUPERVISOR, "vip", "EUR", "500"),
        (Role.ADMIN, "default", "EUR", "0"),  # roles are not inherited: configure each
    ],
)
def test_the_limit_is_the_queue_rule_then_the_role_rule_then_zero(
    role: Role, queue: str, currency: str, expected: str
) -> None:
    assert limit_for(RULES, role, queue, currency) == Decimal(expected)


def test_a_rule_named_twice_is_reported() -> None:
    assert duplicate_rules(RULES) == []
    assert duplicate_rules([*RULES, LimitRule(Role.AGENT, "vip", "EUR", Decimal(1))]) == [
        "agent / vip / EUR"
    ]


def test_within_the_limit_is_granted_and_the_cases_total_counts() -> None:
    limit = Decimal(50)
    assert decide_offer(case(), ANA, NOTHING, amount=Decimal(50), currency="EUR", limit=limit) is (
        OfferStatus.GRANTED
    )
    assert (
        decide_offer(case(), ANA, NOTHING, amount=Decimal("50.01"), currency="EUR", limit=limit)
        is OfferStatus.PENDING
    )
    # 30 already given: 30 more is over 50, however it is split.
    so_far = CaseOffers(currency="EUR", committed=Decimal(30))
    assert decide_offer(case(), ANA, so_far, amount=Decimal(30), currency="EUR", limit=limit) is (
        OfferStatus.PENDING
    )
    assert decide_offer(case(), ANA, so_far, amount=Decimal(20), currency="EUR", limit=limit) is (
        OfferStatus.GRANTED
    )


@pytest.mark.parametrize(
    ("state", "actor", "status", "code"),
    [
        (case(queue="vip"), BEN, 403, "forbidden"),
        (case(status=CaseStatus.OPEN, owner=None), ANA, 409, "illegal_transition"),
        (case(status=CaseStatus.RESOLVED), ANA, 409, "illegal_transition"),
        (case(status=CaseStatus.CLAIMED, owner=None), ANA, 409, "not_claimed"),
        (case(owner=BEN), ANA, 403, "not_owner"),
    ],
)
def test_who_may_make_an_offer(state: CaseState, actor: Agent, status: int, code: str) -> None:
    with pytest.raises(CaseRefused) as refused:
        decide_offer(state, actor, NOTHING, amount=Decimal(1), currency="EUR", limit=Decimal(9))
    assert (refused.value.status, refused.value.code) == (status, code)


def test_a_supervisor_may_offer_on_a_case_someone_else_owns() -> None:
    offered = decide_offer(
        case(owner=BEN), SUE, NOTHING, amount=Decimal(1), currency="EUR", limit=Decimal(9)
    )
    assert offered is OfferStatus.GRANTED


def test_one_currency_per_case() -> None:
    so_far = CaseOffers(currency="EUR", committed=Decimal(5))
    with pytest.raises(CaseRefused) as refused:
        decide_offer(case(), ANA, so_far, amount=Decimal(1), currency="USD", limit=Decimal(99))
    assert refused.value.code == "currency_mismatch"
    assert "EUR" in refused.value.message


def pending(requested_by: Agent = ANA, status: OfferStatus = OfferStatus.PENDING) -> OfferFacts:
    return OfferFacts(
        offer_id=3,
        status=status,
        requested_by_id=requested_by.id,
        answered_by=None if status is OfferStatus.PENDING else "sam",
    )


def test_a_supervisor_approves_or_declines_someone_elses_request() -> None:
    assert decide_answer(case(), pending(), SUE, approve=True) is OfferStatus.APPROVED
    assert decide_answer(case(), pending(), SUE, approve=False) is OfferStatus.DECLINED


@pytest.mark.parametrize(
    ("offer", "actor", "status", "code"),
    [
        (pending(), BEN, 403, "forbidden"),  # an agent, even one who sees the case
        (pending(), ANA, 403, "forbidden"),  # the owner is not a supervisor either
        (pending(requested_by=SUE), SUE, 403, "own_request"),
        (pending(status=OfferStatus.APPROVED), SUE, 409, "already_answered"),
        (pending(status=OfferStatus.GRANTED), SUE, 409, "already_answered"),
    ],
)
def test_who_may_not_answer(offer: OfferFacts, actor: Agent, status: int, code: str) -> None:
    with pytest.raises(CaseRefused) as refused:
        decide_answer(case(), offer, actor, approve=True)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_an_answer_says_who_answered_first() -> None:
    with pytest.raises(CaseRefused) as refused:
        decide_answer(case(), pending(status=OfferStatus.DECLINED), SUE, approve=True)
    assert "declined by sam" in refused.value.message


GIVEN = [
    GivenOffer(offer_id=1, kind="credit", amount=20.0, currency="EUR"),
    GivenOffer(offer_id=2, kind="voucher", amount=15.5, currency="EUR"),
]


def test_the_resolution_takes_its_compensation_from_the_given_offers() -> None:
    resolved = with_offers(Resolution(apology=True), GIVEN, case_id=7)
    assert resolved.compensation == Compensation(kind="several", value=35.5, currency="EUR")
    assert resolved.offers == GIVEN
    one = with_offers(Resolution(), GIVEN[:1], case_id=7)
    assert one.compensation == Compensation(kind="credit", value=20.0, currency="EUR")


def test_a_figure_is_not_entered_twice() -> None:
    typed = Resolution(compensation=Compensation(kind="credit", value=20, currency="EUR"))
    with pytest.raises(CaseRefused) as refused:
        with_offers(typed, GIVEN, case_id=7)
    assert refused.value.code == "compensation_in_offers"
    assert with_offers(typed, [], case_id=7).compensation == typed.compensation


def test_without_offers_something_must_still_be_offered() -> None:
    with pytest.raises(CaseRefused) as refused:
        with_offers(Resolution(), [], case_id=7)
    assert refused.value.code == "nothing_offered"
    smuggled = Resolution(apology=True, offers=GIVEN)  # a client's own list is not believed
    assert with_offers(smuggled, [], case_id=7).offers == []


def test_no_resolution_while_an_offer_waits() -> None:
    nothing_pending([], case_id=7)
    with pytest.raises(CaseRefused) as refused:
        nothing_pending(["offer 3: 45.00 EUR voucher"], case_id=7)
    assert (refused.value.status, refused.value.code) == (409, "offer_pending")
    assert "offer 3: 45.00 EUR voucher" in refused.value.message
