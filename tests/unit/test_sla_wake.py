"""The SLA timers look again only when a change may bring a timer before their next moment.

Each look is two queries over every open case, and every batch of alerts used to cause one; the
bound a message gives must never be later than the case's true next moment, or a timer fires late.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from tests.unit.test_sla_rules import POLICY, at, clocks
from winback_notifier.sla.rules import SlaClock, earliest_possible, next_moment
from winback_notifier.sla.scheduler import SlaScheduler
from winback_shared.case_vocabulary import CaseStatus
from winback_shared.events.case_events import CaseCard
from winback_shared.events.recovery_alerts import CaseSummary

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def summary(**fields: Any) -> dict[str, Any]:
    return {
        "case_id": 1,
        "seq": 1,
        "status": CaseStatus.OPEN,
        "priority": 1,
        "queue": "default",
        "source": "survey",
        "response_id": "r-1",
        "customer": {},
        "interaction": {},
        "scores": [],
        "reasons": [],
        "comment": None,
        "follow_up_requested": False,
        "submitted_at": None,
        "received_at": T0,
        "opened_at": T0,
        **fields,
    }


def card_of(clock: SlaClock) -> CaseCard:
    """The card a case change carries for a case in this state (no ``last_attempt_at``)."""
    return CaseCard.model_validate(
        summary(
            status=clock.status,
            queue=clock.queue,
            contact_due_at=clock.contact_due_at,
            first_attempt_at=clock.first_attempt_at,
            owned_at=clock.owned_at,
            sla_warned_at=clock.sla_warned_at,
            sla_breached_at=clock.sla_breached_at,
            call_back_due_at=clock.call_back_due_at,
            call_back_missed_at=clock.call_back_missed_at,
        )
    )


@given(clocks(), st.none() | st.integers(min_value=0, max_value=3600).map(at))
def test_a_cards_bound_is_never_after_the_cases_next_timer(
    clock: SlaClock, call_back: datetime | None
) -> None:
    clock = replace(clock, call_back_due_at=call_back)
    truth = next_moment(clock, POLICY)
    bound = earliest_possible(card_of(clock), POLICY)
    if truth is not None:
        assert bound is not None and bound <= truth


@given(clocks())
def test_an_alerts_bound_is_never_after_the_cases_next_timer(clock: SlaClock) -> None:
    """An alert carries only status and deadline: a new case's, or a revision's."""
    truth = next_moment(clock, POLICY)
    alert = CaseSummary.model_validate(
        summary(status=clock.status, contact_due_at=clock.contact_due_at)
    )
    bound = earliest_possible(alert, POLICY)
    if truth is not None and clock.owned_at is None and clock.call_back_due_at is None:
        assert bound is not None and bound <= truth


def test_a_new_cases_bound_is_its_warning_and_a_finished_case_has_none() -> None:
    due = T0 + timedelta(minutes=10)
    new = CaseSummary.model_validate(summary(contact_due_at=due))
    assert earliest_possible(new, POLICY) == due - POLICY.warning
    done = CaseCard.model_validate(summary(status=CaseStatus.RESOLVED, contact_due_at=due))
    assert earliest_possible(done, POLICY) is None


def asleep_until(moment: datetime | None) -> SlaScheduler:
    scheduler = SlaScheduler(None, None, POLICY)  # type: ignore[arg-type]
    scheduler._asleep = True
    scheduler._next_moment = moment
    return scheduler


def new_case(due_in_minutes: float) -> CaseSummary:
    return CaseSummary.model_validate(
        summary(contact_due_at=T0 + timedelta(minutes=due_in_minutes))
    )


async def test_a_batch_of_later_cases_lets_the_sleeping_scheduler_sleep() -> None:
    scheduler = asleep_until(T0 + timedelta(minutes=5))
    scheduler.nudge_for([new_case(10), new_case(12)])  # warnings at 7 and 9 min: later
    assert not scheduler._wake.is_set()
    assert scheduler.looks_spared == 1
    scheduler.nudge_for([new_case(12), new_case(6)])  # one warns at 3 min: earlier
    assert scheduler._wake.is_set()


def _nudges(outcome: str) -> float:
    value = REGISTRY.get_sample_value("winback_notifier_sla_nudges_total", {"outcome": outcome})
    return value or 0.0


async def test_ops_see_how_many_batches_woke_the_timers_and_how_many_were_spared() -> None:
    spared, woken = _nudges("spared"), _nudges("woken")
    scheduler = asleep_until(T0 + timedelta(minutes=5))

    scheduler.nudge_for([new_case(10)])  # later than the next moment: spared
    scheduler.nudge_for([new_case(6)])  # earlier: woken
    scheduler.nudge_for(None)  # a batch nobody could read: woken

    assert (_nudges("spared") - spared, _nudges("woken") - woken) == (1, 2)


async def test_nothing_pending_wakes_on_any_timer_and_not_on_finished_cases() -> None:
    scheduler = asleep_until(None)
    resolved = CaseCard.model_validate(summary(status=CaseStatus.RESOLVED))
    scheduler.nudge_for([resolved])
    assert not scheduler._wake.is_set()
    scheduler.nudge_for([new_case(60)])
    assert scheduler._wake.is_set()


async def test_between_looks_or_for_an_unreadable_change_it_always_looks_again() -> None:
    busy = asleep_until(T0 + timedelta(minutes=5))
    busy._asleep = False  # firing or querying: its next moment is not known yet
    busy.nudge_for([new_case(60)])
    assert busy._wake.is_set()
    unknown = asleep_until(T0 + timedelta(minutes=5))
    unknown.nudge_for(None)
    assert unknown._wake.is_set()
