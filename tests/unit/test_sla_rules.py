"""SLA timers as pure rules: which timer is due when, and what firing it does to the case."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from winback_notifier.settings import NotifierSettings
from winback_notifier.sla.rules import (
    SlaClock,
    SlaPolicy,
    Timer,
    due_timer,
    fire,
    next_moment,
    pending,
)
from winback_notifier.sla.scheduler import policy_from
from winback_shared.case_vocabulary import CaseStatus

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DUE = T0 + timedelta(minutes=10)
POLICY = SlaPolicy(warning=timedelta(minutes=3), claim_lapse=timedelta(minutes=5))


def clock(**changes: object) -> SlaClock:
    base = SlaClock(
        status=CaseStatus.OPEN,
        queue="default",
        owner_id=None,
        contact_due_at=DUE,
        first_attempt_at=None,
        last_attempt_at=None,
        owned_at=None,
        sla_warned_at=None,
        sla_breached_at=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_an_untried_open_case_warns_then_breaches_to_the_second() -> None:
    case = clock()
    assert pending(case, POLICY) == {Timer.WARNING: at(420), Timer.BREACH: at(600)}
    assert due_timer(case, POLICY, at(419.999)) is None
    assert due_timer(case, POLICY, at(420)) is Timer.WARNING
    warned = clock(sla_warned_at=at(420))
    assert next_moment(warned, POLICY) == at(600)
    assert due_timer(warned, POLICY, at(599.999)) is None
    assert due_timer(warned, POLICY, at(600)) is Timer.BREACH
    assert pending(clock(sla_warned_at=at(420), sla_breached_at=at(600)), POLICY) == {}


def test_a_breach_supersedes_a_warning_that_never_fired() -> None:
    assert due_timer(clock(), POLICY, at(3600)) is Timer.BREACH


def test_a_contact_attempt_stops_the_clock() -> None:
    tried = clock(
        status=CaseStatus.CLAIMED,
        owner_id=7,
        owned_at=at(60),
        first_attempt_at=at(120),
        last_attempt_at=at(120),
    )
    assert pending(tried, POLICY) == {}
    assert due_timer(tried, POLICY, at(10_000)) is None


def test_finished_cases_never_fire() -> None:
    for status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        assert pending(clock(status=status), POLICY) == {}


def test_a_reopened_case_tried_before_gets_no_new_deadline_but_its_claim_may_lapse() -> None:
    reopened = clock(status=CaseStatus.REOPENED, first_attempt_at=at(60), last_attempt_at=at(60))
    assert pending(reopened, POLICY) == {}
    claimed = replace(reopened, status=CaseStatus.CLAIMED, owner_id=3, owned_at=at(900))
    assert pending(claimed, POLICY) == {Timer.CLAIM_LAPSE: at(1200)}


def test_no_warning_when_the_warning_is_zero() -> None:
    policy = replace(POLICY, warning=timedelta(0))
    assert pending(clock(), policy) == {Timer.BREACH: DUE}


def test_a_claim_lapses_unless_someone_tries_after_claiming() -> None:
    claimed = clock(status=CaseStatus.CLAIMED, owner_id=3, owned_at=at(30))
    assert pending(claimed, POLICY)[Timer.CLAIM_LAPSE] == at(330)
    assert due_timer(claimed, POLICY, at(330)) is Timer.CLAIM_LAPSE
    # An attempt before this claim (by an earlier owner) does not count for this one.
    earlier = replace(claimed, first_attempt_at=at(10), last_attempt_at=at(10))
    assert pending(earlier, POLICY) == {Timer.CLAIM_LAPSE: at(330)}
    # Failed attempts leave the case claimed, but the owner is working on it.
    tried = replace(claimed, first_attempt_at=at(40), last_attempt_at=at(40))
    assert pending(tried, POLICY) == {}
    assert pending(claimed, replace(POLICY, claim_lapse=None)).keys() == {
        Timer.WARNING,
        Timer.BREACH,
    }


def test_a_lapsed_claim_goes_back_to_its_queue_unowned() -> None:
    claimed = clock(status=CaseStatus.CLAIMED, owner_id=3, owned_at=at(30), queue="billing")
    firing = fire(Timer.CLAIM_LAPSE, claimed, POLICY)
    assert (firing.outcome.status, firing.outcome.owner_id, firing.outcome.queue) == (
        CaseStatus.OPEN,
        None,
        "billing",
    )
    assert "from_queue" not in firing.data


def test_a_breach_moves_an_unowned_case_to_the_escalation_queue_only() -> None:
    policy = replace(POLICY, escalation_queue="escalations")
    unowned = fire(Timer.BREACH, clock(), policy)
    assert unowned.outcome.queue == "escalations"
    assert unowned.data["from_queue"] == "default" and unowned.data["to_queue"] == "escalations"
    assert unowned.outcome.status is CaseStatus.OPEN
    owned = fire(Timer.BREACH, clock(status=CaseStatus.CLAIMED, owner_id=3, owned_at=at(1)), policy)
    assert (owned.outcome.queue, owned.outcome.owner_id) == ("default", 3)
    assert fire(Timer.BREACH, clock(), POLICY).outcome.queue == "default"
    # A breached claim that lapses is now unowned and breached: it escalates then.
    lapsed = fire(
        Timer.CLAIM_LAPSE,
        clock(status=CaseStatus.CLAIMED, owner_id=3, owned_at=at(1), sla_breached_at=at(600)),
        policy,
    )
    assert lapsed.outcome.queue == "escalations"


def test_a_warning_changes_nothing_but_the_record() -> None:
    firing = fire(Timer.WARNING, clock(), POLICY)
    assert (firing.outcome.status, firing.outcome.owner_id, firing.outcome.queue) == (
        CaseStatus.OPEN,
        None,
        "default",
    )
    assert firing.data == {"contact_due_at": DUE.isoformat()}


def test_policy_from_settings() -> None:
    settings = NotifierSettings(
        sla_warning_seconds=30, sla_claim_lapse_minutes=0, call_back_grace_minutes=2
    )
    assert policy_from(settings) == SlaPolicy(
        timedelta(seconds=30), None, None, call_back_grace=timedelta(minutes=2)
    )
    assert policy_from(NotifierSettings()).claim_lapse == timedelta(minutes=10)


def test_targets_accept_whole_and_fractional_minutes() -> None:
    settings = NotifierSettings(contact_target_minutes={1: 0.1, 2: 15, 3: 60, 4: 240})
    assert settings.contact_target_minutes[1] * 60 == 6


_moments = st.integers(min_value=0, max_value=3600).map(at)
_maybe = st.none() | _moments


@st.composite
def clocks(draw: st.DrawFn) -> SlaClock:
    status = draw(st.sampled_from(list(CaseStatus)))
    owned = draw(_maybe) if status is CaseStatus.CLAIMED else None
    return clock(
        status=status,
        owner_id=3 if owned else None,
        owned_at=owned,
        contact_due_at=draw(_maybe),
        first_attempt_at=draw(_maybe),
        last_attempt_at=draw(_maybe),
        sla_warned_at=draw(_maybe),
        sla_breached_at=draw(_maybe),
    )


def _record(case: SlaClock, timer: Timer, now: datetime) -> SlaClock:
    """What the scheduler writes when ``timer`` fires at ``now``."""
    firing = fire(timer, case, POLICY)
    out = replace(
        case,
        status=firing.outcome.status,
        owner_id=firing.outcome.owner_id,
        queue=firing.outcome.queue,
    )
    if timer is Timer.WARNING:
        return replace(out, sla_warned_at=now)
    if timer is Timer.BREACH:
        return replace(out, sla_breached_at=now, sla_warned_at=case.sla_warned_at or now)
    return replace(out, owned_at=None)


@given(clocks(), st.lists(st.integers(min_value=0, max_value=7200), max_size=12))
def test_each_timer_fires_at_most_once_and_never_early(case: SlaClock, ticks: list[int]) -> None:
    fired: list[Timer] = []
    for now in sorted(at(t) for t in ticks):
        while (timer := due_timer(case, POLICY, now)) is not None:
            assert pending(case, POLICY)[timer] <= now
            fired.append(timer)
            case = _record(case, timer, now)
            assert len(fired) <= 3
    assert len(fired) == len(set(fired))
    if Timer.WARNING in fired and Timer.BREACH in fired:
        assert fired.index(Timer.WARNING) < fired.index(Timer.BREACH)


@given(clocks(), _moments)
def test_a_timer_is_due_exactly_when_the_next_moment_has_come(
    case: SlaClock, now: datetime
) -> None:
    moment = next_moment(case, POLICY)
    assert (due_timer(case, POLICY, now) is not None) == (moment is not None and moment <= now)
    if case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) or case.first_attempt_at is not None:
        assert Timer.WARNING not in pending(case, POLICY)
        assert Timer.BREACH not in pending(case, POLICY)
