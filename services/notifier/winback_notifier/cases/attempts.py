"""What one logged call does to a case, by its outcome: pure rules, no I/O.

Calls do not go "reached" or "not": a voicemail is a failed attempt that left a message, a wrong
number will fail however often it is dialled, and a customer who answers and asks to be called
at three has been tried but not yet talked to. :func:`attempt_effect` says, per outcome, whether
the case becomes ``contacted``, whether the attempt counts toward "unreachable", and which
call-back (the case's next deadline) it sets or clears; :func:`read_outcome` accepts what old
clients send (``reached`` alone) and new ones (``outcome``), so both keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from winback_notifier.cases.rules import CaseRefused
from winback_shared.case_vocabulary import AttemptOutcome, outcome_of

CALL_BACK_PAST_SLACK = timedelta(minutes=1)
"""A call-back this far in the past is still taken (the agent typed "now" a minute ago)."""
CALL_BACK_HORIZON = timedelta(days=31)
"""The furthest ahead a call-back may be set: beyond it, it is not a call-back but a new case."""


@dataclass(frozen=True)
class AttemptEffect:
    """What logging an attempt with this outcome writes."""

    outcome: AttemptOutcome
    reached: bool
    """A conversation happened: the case becomes ``contacted``."""
    failed: bool
    """Counts toward the failed attempts after which a case may be marked unreachable."""
    wrong_number: bool
    """The number is not the customer's: the case may be marked unreachable at once."""
    call_back_due_at: datetime | None
    """The case's call-back after this attempt: the asked-for moment, or ``None`` (any attempt
    answers an earlier call-back, so the next one clears it)."""


def read_outcome(outcome: AttemptOutcome | None, reached: bool | None) -> AttemptOutcome:
    """The outcome of an attempt as a client sent it; 422 ``invalid_attempt`` if it says
    neither, or says both and they disagree (``reached: true`` with a voicemail)."""
    if outcome is None and reached is None:
        raise CaseRefused(
            422, "invalid_attempt", "say how the call went: outcome (or reached, for old clients)"
        )
    if outcome is None:
        assert reached is not None
        return outcome_of(reached, None)
    if reached is not None and reached != (outcome is AttemptOutcome.REACHED):
        raise CaseRefused(
            422,
            "invalid_attempt",
            f"reached={str(reached).lower()} contradicts outcome {outcome.value!r}; "
            "send the outcome alone",
        )
    return outcome


def attempt_effect(
    outcome: AttemptOutcome, call_back_at: datetime | None, now: datetime
) -> AttemptEffect:
    """What an attempt with ``outcome`` does; 422 ``invalid_call_back`` for a call-back time
    missing (call later), given with another outcome, naive, past or too far ahead."""
    if outcome is AttemptOutcome.CALL_LATER:
        _check_call_back(call_back_at, now)
    elif call_back_at is not None:
        raise CaseRefused(
            422,
            "invalid_call_back",
            f"call_back_at goes with outcome 'call_later' only, not {outcome.value!r}",
        )
    return AttemptEffect(
        outcome=outcome,
        reached=outcome is AttemptOutcome.REACHED,
        failed=outcome
        in (AttemptOutcome.NO_ANSWER, AttemptOutcome.VOICEMAIL, AttemptOutcome.WRONG_NUMBER),
        wrong_number=outcome is AttemptOutcome.WRONG_NUMBER,
        call_back_due_at=call_back_at if outcome is AttemptOutcome.CALL_LATER else None,
    )


def _check_call_back(call_back_at: datetime | None, now: datetime) -> None:
    if call_back_at is None:
        raise CaseRefused(
            422, "invalid_call_back", "say when the customer asked to be called: call_back_at"
        )
    if call_back_at.tzinfo is None:
        raise CaseRefused(
            422,
            "invalid_call_back",
            "call_back_at needs a time zone offset (e.g. 2026-12-01T15:00:00+01:00)",
        )
    if call_back_at < now - CALL_BACK_PAST_SLACK:
        raise CaseRefused(
            422, "invalid_call_back", f"call_back_at {call_back_at.isoformat()} is in the past"
        )
    if call_back_at > now + CALL_BACK_HORIZON:
        raise CaseRefused(
            422,
            "invalid_call_back",
            f"call_back_at is more than {CALL_BACK_HORIZON.days} days ahead",
        )
