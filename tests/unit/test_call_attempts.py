"""What a logged call does, by outcome: contacted or not, failed or not, the call-back it sets
(the case's next deadline) and the SLA timer that flags it missed. Pure: no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tests.unit.test_sla_rules import clock
from winback_notifier.cases.attempts import attempt_effect, read_outcome
from winback_notifier.cases.rules import Action, CaseRefused, CaseState, decide
from winback_notifier.sla.rules import SlaPolicy, Timer, due_timer, fire, pending
from winback_shared.agents import Agent, Role
from winback_shared.case_vocabulary import AttemptOutcome, CaseStatus, outcome_of

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)
ANA = Agent(1, "ana", Role.AGENT, frozenset({"default"}))


@pytest.mark.parametrize(
    ("outcome", "reached", "failed", "wrong"),
    [
        (AttemptOutcome.REACHED, True, False, False),
        (AttemptOutcome.NO_ANSWER, False, True, False),
        (AttemptOutcome.VOICEMAIL, False, True, False),
        (AttemptOutcome.WRONG_NUMBER, False, True, True),
    ],
)
def test_each_outcome_contacts_fails_or_finds_the_number_wrong(
    outcome: AttemptOutcome, reached: bool, failed: bool, wrong: bool
) -> None:
    effect = attempt_effect(outcome, None, NOW)
    assert (effect.reached, effect.failed, effect.wrong_number) == (reached, failed, wrong)
    assert effect.call_back_due_at is None  # any attempt answers an earlier call-back


def test_call_later_is_neither_a_contact_nor_a_failure_and_sets_the_next_deadline() -> None:
    effect = attempt_effect(AttemptOutcome.CALL_LATER, LATER, NOW)
    assert (effect.reached, effect.failed, effect.wrong_number) == (False, False, False)
    assert effect.call_back_due_at == LATER


@pytest.mark.parametrize(
    ("outcome", "call_back_at", "says"),
    [
        (AttemptOutcome.CALL_LATER, None, "say when"),
        (AttemptOutcome.CALL_LATER, LATER.replace(tzinfo=None), "time zone offset"),
        (AttemptOutcome.CALL_LATER, NOW - timedelta(minutes=5), "in the past"),
        (AttemptOutcome.CALL_LATER, NOW + timedelta(days=40), "31 days ahead"),
        (AttemptOutcome.NO_ANSWER, LATER, "call_later' only"),
    ],
)
def test_a_call_back_time_that_makes_no_sense_is_refused(
    outcome: AttemptOutcome, call_back_at: datetime | None, says: str
) -> None:
    with pytest.raises(CaseRefused) as refused:
        attempt_effect(outcome, call_back_at, NOW)
    assert (refused.value.status, refused.value.code) == (422, "invalid_call_back")
    assert says in refused.value.message


def test_a_call_back_a_moment_ago_is_still_taken() -> None:
    moment = NOW - timedelta(seconds=30)
    assert attempt_effect(AttemptOutcome.CALL_LATER, moment, NOW).call_back_due_at == moment


def test_old_clients_send_reached_alone_and_old_rows_read_the_same_way() -> None:
    assert read_outcome(None, True) is AttemptOutcome.REACHED
    assert read_outcome(None, False) is AttemptOutcome.NO_ANSWER
    assert read_outcome(AttemptOutcome.VOICEMAIL, None) is AttemptOutcome.VOICEMAIL
    assert read_outcome(AttemptOutcome.REACHED, True) is AttemptOutcome.REACHED
    assert outcome_of(True, None) is AttemptOutcome.REACHED
    assert outcome_of(False, None) is AttemptOutcome.NO_ANSWER
    assert outcome_of(False, "wrong_number") is AttemptOutcome.WRONG_NUMBER


@pytest.mark.parametrize(
    ("outcome", "reached"),
    [(None, None), (AttemptOutcome.VOICEMAIL, True), (AttemptOutcome.REACHED, False)],
)
def test_an_attempt_that_says_nothing_or_contradicts_itself_is_refused(
    outcome: AttemptOutcome | None, reached: bool | None
) -> None:
    with pytest.raises(CaseRefused) as refused:
        read_outcome(outcome, reached)
    assert (refused.value.status, refused.value.code) == (422, "invalid_attempt")


def test_a_wrong_number_allows_marking_unreachable_before_the_usual_count() -> None:
    base = CaseState(7, CaseStatus.CLAIMED, "default", ANA.id, ANA.name, failed_attempts=1)
    with pytest.raises(CaseRefused) as refused:
        decide(Action.MARK_UNREACHABLE, base, ANA, unreachable_after=3)
    assert refused.value.code == "not_enough_attempts"
    assert "number wrong" in refused.value.message
    wrong = replace(base, wrong_number=True)
    outcome = decide(Action.MARK_UNREACHABLE, wrong, ANA, unreachable_after=3)
    assert outcome.status is CaseStatus.UNREACHABLE


POLICY = SlaPolicy(
    warning=timedelta(minutes=3),
    claim_lapse=timedelta(minutes=5),
    call_back_grace=timedelta(minutes=5),
)


def test_a_call_back_is_flagged_missed_after_its_grace_and_only_once() -> None:
    tried = NOW - timedelta(minutes=1)
    case = clock(
        status=CaseStatus.CLAIMED,
        owner_id=ANA.id,
        owned_at=NOW - timedelta(minutes=2),
        first_attempt_at=tried,
        last_attempt_at=tried,
        call_back_due_at=LATER,
    )
    assert pending(case, POLICY) == {Timer.CALL_BACK: LATER + timedelta(minutes=5)}
    assert due_timer(case, POLICY, LATER + timedelta(minutes=4, seconds=59)) is None
    assert due_timer(case, POLICY, LATER + timedelta(minutes=5)) is Timer.CALL_BACK
    firing = fire(Timer.CALL_BACK, case, POLICY)
    assert firing.outcome.owner_id == ANA.id and firing.outcome.queue == "default"
    assert firing.outcome.status is CaseStatus.CLAIMED
    assert firing.data == {"call_back_at": LATER.isoformat()}
    assert pending(replace(case, call_back_missed_at=LATER), POLICY) == {}


def test_a_finished_case_or_one_without_a_call_back_has_no_call_back_timer() -> None:
    resolved = clock(status=CaseStatus.RESOLVED, first_attempt_at=NOW, call_back_due_at=LATER)
    assert Timer.CALL_BACK not in pending(resolved, POLICY)
    assert Timer.CALL_BACK not in pending(clock(first_attempt_at=NOW), POLICY)
