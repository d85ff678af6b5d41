"""SLA timers as pure rules: which timers a case still has pending, and what firing one does.

Three timers run per case, all measured against timestamps stored on the case:

- ``sla_warning``: ``warning`` before the contact deadline, while nobody has tried to reach the
  customer yet;
- ``sla_breached``: at the deadline, still untried. It supersedes a warning that has not fired
  (a notifier down through both moments reports one breach, not a warning and a breach a
  millisecond apart). With an escalation queue, an unowned breached case moves there;
- ``claim_lapsed``: a claimed case nobody has tried since it was claimed goes back to its
  queue, unowned, ``claim_lapse`` after the claim, so another agent can take it;
- ``call_back_missed``: the customer asked to be called back at a time (an attempt with the
  outcome "call later") and ``call_back_grace`` after it nobody has tried again. It flags the
  case, as a breach does, and leaves owner and queue alone: the owner agreed the time with the
  customer. The next attempt clears the call-back (or sets a new one).

A contact attempt stops the contact clock for good: the SLA is "first attempt by the deadline",
the same one the ops report counts. A reopened case was tried before it was finished, so it gets
no new deadline; only its next claim can lapse. No I/O here: :mod:`winback_notifier.sla.scheduler`
locks a case, asks :func:`due_timer`, and writes what :func:`fire` answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from winback_notifier.cases.rules import Outcome
from winback_shared.case_vocabulary import FINISHED_STATUSES, CaseStatus, HistoryKind
from winback_shared.events.case_events import CaseCard
from winback_shared.events.recovery_alerts import CaseSummary

SLA_ACTOR = "sla"
"""The actor of every timer's history entry."""


class Timer(StrEnum):
    """A timer; its value is the ``kind`` of the history entry its firing writes."""

    WARNING = HistoryKind.SLA_WARNING
    BREACH = HistoryKind.SLA_BREACHED
    CLAIM_LAPSE = HistoryKind.CLAIM_LAPSED
    CALL_BACK = HistoryKind.CALL_BACK_MISSED

    @property
    def kind(self) -> HistoryKind:
        """The history kind this timer's firing records."""
        return HistoryKind(self.value)


@dataclass(frozen=True)
class SlaPolicy:
    """How the timers are set (from the notifier's settings)."""

    warning: timedelta
    """Before the deadline; zero: no warning."""
    claim_lapse: timedelta | None
    """After a claim; ``None``: claims never lapse."""
    escalation_queue: str | None = None
    call_back_grace: timedelta = timedelta(0)
    """How late a call-back may be before it counts as missed."""


@dataclass(frozen=True)
class SlaClock:
    """The parts of a case the timers look at."""

    status: CaseStatus
    queue: str
    owner_id: int | None
    contact_due_at: datetime | None
    first_attempt_at: datetime | None
    last_attempt_at: datetime | None
    owned_at: datetime | None
    sla_warned_at: datetime | None
    sla_breached_at: datetime | None
    call_back_due_at: datetime | None = None
    call_back_missed_at: datetime | None = None


def contact_clock_runs(clock: SlaClock) -> bool:
    """Whether the case still waits for its first contact attempt against a deadline."""
    return (
        clock.status not in FINISHED_STATUSES
        and clock.first_attempt_at is None
        and clock.contact_due_at is not None
    )


def claim_untried(clock: SlaClock) -> bool:
    """Whether the case is claimed and nobody has tried the customer since the claim."""
    if clock.status is not CaseStatus.CLAIMED or clock.owned_at is None:
        return False
    return clock.last_attempt_at is None or clock.last_attempt_at < clock.owned_at


def call_back_waits(clock: SlaClock) -> bool:
    """Whether the customer's asked-for call-back is still to be made and not yet flagged."""
    return (
        clock.status not in FINISHED_STATUSES
        and clock.call_back_due_at is not None
        and clock.call_back_missed_at is None
    )


def pending(clock: SlaClock, policy: SlaPolicy) -> dict[Timer, datetime]:
    """Each timer that has yet to fire for this case, with the moment it is due."""
    moments: dict[Timer, datetime] = {}
    if contact_clock_runs(clock) and clock.sla_breached_at is None:
        assert clock.contact_due_at is not None
        if clock.sla_warned_at is None and policy.warning > timedelta(0):
            moments[Timer.WARNING] = clock.contact_due_at - policy.warning
        moments[Timer.BREACH] = clock.contact_due_at
    if policy.claim_lapse is not None and claim_untried(clock):
        assert clock.owned_at is not None
        moments[Timer.CLAIM_LAPSE] = clock.owned_at + policy.claim_lapse
    if call_back_waits(clock):
        assert clock.call_back_due_at is not None
        moments[Timer.CALL_BACK] = clock.call_back_due_at + policy.call_back_grace
    return moments


def next_moment(clock: SlaClock, policy: SlaPolicy) -> datetime | None:
    """When the case's next timer is due (``None``: none pending)."""
    return min(pending(clock, policy).values(), default=None)


def earliest_possible(case: CaseSummary, policy: SlaPolicy) -> datetime | None:
    """A moment no later than the case's next timer, read from what an alert or a case change
    carries (``None``: the case has no timer pending).

    The scheduler only needs to look again when a change may bring a timer before the moment
    it sleeps towards; this tells it so without a query. It must never be later than the
    truth, or a timer would fire late: what the message does not carry is read the way that
    brings moments forward. An alert's summary lacks the attempt and timer columns, so its
    contact clock counts as running and its warning as pending; a card lacks only
    ``last_attempt_at``, so a claim counts as untried.
    """
    card = case if isinstance(case, CaseCard) else None
    clock = SlaClock(
        status=case.status,
        queue=case.queue,
        owner_id=None,
        contact_due_at=case.contact_due_at,
        first_attempt_at=card.first_attempt_at if card else None,
        last_attempt_at=None,
        owned_at=card.owned_at if card else None,
        sla_warned_at=card.sla_warned_at if card else None,
        sla_breached_at=card.sla_breached_at if card else None,
        call_back_due_at=card.call_back_due_at if card else None,
        call_back_missed_at=card.call_back_missed_at if card else None,
    )
    return next_moment(clock, policy)


_PRECEDENCE = (Timer.BREACH, Timer.CLAIM_LAPSE, Timer.CALL_BACK, Timer.WARNING)
"""When several are due at once: a breach makes a due warning moot (it is applied first, and
marks the warning done); a lapse before a warning, since the warning then reaches the queue."""


def due_timer(clock: SlaClock, policy: SlaPolicy, now: datetime) -> Timer | None:
    """The timer to fire now, if any; fire one at a time and ask again."""
    due = {timer for timer, moment in pending(clock, policy).items() if moment <= now}
    return next((timer for timer in _PRECEDENCE if timer in due), None)


@dataclass(frozen=True)
class Firing:
    """What firing a timer makes of the case, and what its history entry says."""

    outcome: Outcome
    data: dict[str, object]


def fire(timer: Timer, clock: SlaClock, policy: SlaPolicy) -> Firing:
    """The case after ``timer`` fires; the caller records when (``now``) in its columns."""
    due = clock.contact_due_at.isoformat() if clock.contact_due_at else None
    same = Outcome(clock.status, clock.owner_id, clock.queue)
    match timer:
        case Timer.WARNING:
            return Firing(same, {"contact_due_at": due})
        case Timer.BREACH:
            queue = clock.queue
            if clock.owner_id is None and policy.escalation_queue:
                queue = policy.escalation_queue
            return Firing(
                Outcome(clock.status, clock.owner_id, queue),
                {"contact_due_at": due, **_moved(clock.queue, queue)},
            )
        case Timer.CLAIM_LAPSE:
            queue = clock.queue
            if clock.sla_breached_at is not None and policy.escalation_queue:
                queue = policy.escalation_queue  # unowned and breached: as a breach would route it
            owned = clock.owned_at.isoformat() if clock.owned_at else None
            return Firing(
                Outcome(CaseStatus.OPEN, None, queue),
                {"owned_since": owned, **_moved(clock.queue, queue)},
            )
        case Timer.CALL_BACK:
            asked = clock.call_back_due_at.isoformat() if clock.call_back_due_at else None
            return Firing(same, {"call_back_at": asked})


def _moved(from_queue: str, to_queue: str) -> dict[str, object]:
    """History data for a re-route; the outbox reads ``from_queue`` to tell the old queue."""
    return {"from_queue": from_queue, "to_queue": to_queue} if from_queue != to_queue else {}
