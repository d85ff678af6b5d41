"""The lifecycle rules alone (no I/O), the live-message routing, and the hub's audience filter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.browser.test_console_browser import summary
from winback_notifier.cases.rules import (
    ALLOWED_FROM,
    Action,
    CaseRefused,
    CaseState,
    decide,
)
from winback_notifier.live.feed import route_message
from winback_notifier.live.hub import AlertHub
from winback_shared.agents import Agent, Role
from winback_shared.case_vocabulary import CaseStatus, HistoryKind
from winback_shared.events.case_events import CaseCard, CaseChanged, HistoryEntry
from winback_shared.events.recovery_alerts import CaseSummary, RecoveryCaseOpened

ANA = Agent(1, "ana", Role.AGENT, frozenset({"default"}))
BEN = Agent(2, "ben", Role.AGENT, frozenset({"default"}))
SUE = Agent(3, "sue", Role.SUPERVISOR, frozenset())
OUTSIDER = Agent(4, "olga", Role.AGENT, frozenset({"billing"}))


def state(status: CaseStatus, owner: Agent | None = None, failed: int = 0) -> CaseState:
    return CaseState(
        case_id=7,
        status=status,
        queue="default",
        owner_id=owner.id if owner else None,
        owner=owner.name if owner else None,
        failed_attempts=failed,
    )


@pytest.mark.parametrize(
    ("action", "before", "reached", "after"),
    [
        (Action.CLAIM, CaseStatus.OPEN, False, CaseStatus.CLAIMED),
        (Action.CLAIM, CaseStatus.REOPENED, False, CaseStatus.CLAIMED),
        (Action.ATTEMPT, CaseStatus.CLAIMED, False, CaseStatus.CLAIMED),
        (Action.ATTEMPT, CaseStatus.CLAIMED, True, CaseStatus.CONTACTED),
        (Action.ATTEMPT, CaseStatus.UNREACHABLE, True, CaseStatus.CONTACTED),
        (Action.RESOLVE, CaseStatus.CONTACTED, False, CaseStatus.RESOLVED),
        (Action.CLOSE, CaseStatus.RESOLVED, False, CaseStatus.CLOSED),
        (Action.CLOSE, CaseStatus.UNREACHABLE, False, CaseStatus.CLOSED),
        (Action.REOPEN, CaseStatus.CLOSED, False, CaseStatus.REOPENED),
        (Action.NOTE, CaseStatus.CLOSED, False, CaseStatus.CLOSED),
    ],
)
def test_legal_transitions(
    action: Action, before: CaseStatus, reached: bool, after: CaseStatus
) -> None:
    owner = None if action is Action.CLAIM else ANA
    outcome = decide(action, state(before, owner), ANA, reached=reached)
    assert outcome.status is after


def test_every_other_transition_is_refused_with_what_is_allowed() -> None:
    for action, allowed in ALLOWED_FROM.items():
        for status in set(CaseStatus) - allowed:
            owner = None if status in (CaseStatus.OPEN, CaseStatus.REOPENED) else ANA
            with pytest.raises(CaseRefused) as refused:
                decide(action, state(status, owner), SUE, new_queue="default")
            assert refused.value.status == 409, (action, status)
            assert refused.value.code in ("illegal_transition", "already_claimed")


def test_claim_names_the_owner_to_the_loser() -> None:
    with pytest.raises(CaseRefused, match="already claimed by ana") as refused:
        decide(Action.CLAIM, state(CaseStatus.CLAIMED, ANA), BEN)
    assert refused.value.code == "already_claimed"
    with pytest.raises(CaseRefused, match="already claimed by you"):
        decide(Action.CLAIM, state(CaseStatus.CLAIMED, ANA), ANA)


def test_an_unowned_case_in_progress_can_be_claimed_without_losing_its_state() -> None:
    outcome = decide(Action.CLAIM, state(CaseStatus.CONTACTED), BEN)
    assert (outcome.status, outcome.owner_id) == (CaseStatus.CONTACTED, BEN.id)


def test_checks_run_from_visibility_to_ownership() -> None:
    with pytest.raises(CaseRefused) as hidden:
        decide(Action.RESOLVE, state(CaseStatus.OPEN), OUTSIDER)
    assert (hidden.value.status, hidden.value.code) == (403, "forbidden")
    with pytest.raises(CaseRefused) as not_owner:
        decide(Action.ATTEMPT, state(CaseStatus.CLAIMED, ANA), BEN)
    assert (not_owner.value.status, not_owner.value.code) == (403, "not_owner")
    with pytest.raises(CaseRefused) as unclaimed:
        decide(Action.ATTEMPT, state(CaseStatus.CLAIMED), BEN)
    assert unclaimed.value.code == "not_claimed"
    assert decide(Action.ATTEMPT, state(CaseStatus.CLAIMED, ANA), SUE).status is CaseStatus.CLAIMED


@pytest.mark.parametrize(("failed", "allowed"), [(0, False), (2, False), (3, True), (5, True)])
def test_unreachable_after_the_configured_attempts(failed: int, allowed: bool) -> None:
    case = state(CaseStatus.CLAIMED, ANA, failed=failed)
    if allowed:
        assert decide(Action.MARK_UNREACHABLE, case, ANA).status is CaseStatus.UNREACHABLE
    else:
        with pytest.raises(CaseRefused, match="3 are needed"):
            decide(Action.MARK_UNREACHABLE, case, ANA, unreachable_after=3)


def test_reopen_clears_the_owner_and_reassign_is_for_supervisors() -> None:
    assert decide(Action.REOPEN, state(CaseStatus.RESOLVED, ANA), BEN).owner_id is None
    with pytest.raises(CaseRefused, match="only a supervisor"):
        decide(Action.REASSIGN, state(CaseStatus.CLAIMED, ANA), ANA, new_owner=BEN)
    to_ben = decide(Action.REASSIGN, state(CaseStatus.OPEN), SUE, new_owner=BEN)
    assert (to_ben.status, to_ben.owner_id) == (CaseStatus.CLAIMED, BEN.id)
    with pytest.raises(CaseRefused, match="not a member"):
        decide(Action.REASSIGN, state(CaseStatus.OPEN), SUE, new_owner=OUTSIDER)
    to_queue = decide(Action.REASSIGN, state(CaseStatus.CLAIMED, ANA), SUE, new_queue="billing")
    assert (to_queue.status, to_queue.owner_id, to_queue.queue) == (
        CaseStatus.OPEN,
        None,
        "billing",
    )


def _summary(queue: str, seq: int = 1) -> CaseSummary:
    return CaseSummary.model_validate(
        summary(1, priority=1, opened_at="2026-01-01T09:00:00Z", seq=seq, queue=queue)
    )


def test_messages_are_routed_to_the_case_queue_and_the_one_it_left() -> None:
    opened = RecoveryCaseOpened(case=_summary("billing"))
    frame, audience = route_message("alerts", opened.to_bytes(), case_events_topic="events")
    assert audience == {"billing"} and '"case.opened"' in frame
    moved = CaseChanged(
        case=CaseCard.model_validate(_summary("billing", seq=3).model_dump()),
        change=HistoryEntry(
            seq=3, kind=HistoryKind.REASSIGNED, actor="sue", occurred_at=datetime.now(UTC)
        ),
        previous_queue="default",
    )
    frame, audience = route_message("events", moved.to_bytes(), case_events_topic="events")
    assert audience == {"billing", "default"} and '"case.changed"' in frame
    with pytest.raises(ValueError):
        route_message("events", b"{}", case_events_topic="events")


async def test_hub_delivers_by_queue_and_everything_to_supervisors() -> None:
    hub = AlertHub(10)
    ana, olga, sue = hub.subscribe(ANA), hub.subscribe(OUTSIDER), hub.subscribe(SUE)
    hub.publish("for default", frozenset({"default"}))
    hub.publish("for billing", frozenset({"billing"}))
    assert ana.queue.get_nowait() == "for default" and ana.queue.empty()
    assert olga.queue.get_nowait() == "for billing" and olga.queue.empty()
    assert [sue.queue.get_nowait(), sue.queue.get_nowait()] == ["for default", "for billing"]


def test_case_changed_round_trips_through_bytes() -> None:
    event = CaseChanged(
        case=CaseCard.model_validate(
            {
                **_summary("billing", seq=5).model_dump(),
                "owner": "ana",
                "failed_attempts": 2,
                "resolution": {"apology": True, "compensation": {"value": 25}},
            }
        ),
        change=HistoryEntry(
            seq=5,
            kind=HistoryKind.RESOLVED,
            actor="ana",
            occurred_at=datetime.now(UTC),
            data={"x": 1},
        ),
        previous_queue="default",
    )
    again = CaseChanged.from_bytes(event.to_bytes())
    assert again == event
    assert again.case.resolution is not None and again.case.resolution.compensation is not None
    assert again.case.resolution.compensation.currency == "EUR"
