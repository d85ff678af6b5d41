"""The transition table the console is sent agrees with :func:`decide` everywhere.

The console offers exactly what the table lists; if the table said more than ``decide`` allows,
agents would meet refusals, and if less, they could not do what the rules permit.
"""

from __future__ import annotations

import itertools

import pytest

from winback_notifier.cases.rules import (
    Action,
    CaseRefused,
    CaseState,
    Relation,
    decide,
    permitted,
    transition_table,
)
from winback_shared.agents import Agent, Role
from winback_shared.case_vocabulary import CaseStatus

UNREACHABLE_AFTER = 3
SOMEONE_ELSE = Agent(99, "zoe", Role.AGENT, frozenset({"default"}))


def _case(status: CaseStatus, relation: Relation, actor: Agent) -> CaseState:
    """A case the actor sees, standing to it as ``relation``, with enough failed attempts."""
    owner = {Relation.OWNER: actor, Relation.OTHER: SOMEONE_ELSE, Relation.UNOWNED: None}[relation]
    return CaseState(
        case_id=7,
        status=status,
        queue="default",
        owner_id=owner.id if owner else None,
        owner=owner.name if owner else None,
        failed_attempts=UNREACHABLE_AFTER,
    )


def _decide_allows(action: Action, case: CaseState, actor: Agent) -> bool:
    try:
        decide(
            action,
            case,
            actor,
            unreachable_after=UNREACHABLE_AFTER,
            new_queue="default",  # reassign needs a target; which one is the form's business
        )
    except CaseRefused:
        return False
    return True


@pytest.mark.parametrize("role", list(Role))
def test_the_table_agrees_with_decide_for_every_status_action_and_relation(role: Role) -> None:
    actor = Agent(1, "ana", role, frozenset({"default"}))
    table = transition_table(may_reassign=actor.may_reassign)
    assert set(table) == set(Relation)
    for relation, status, action in itertools.product(Relation, CaseStatus, Action):
        expected = _decide_allows(action, _case(status, relation, actor), actor)
        assert (action in table[relation][status]) is expected, (role, relation, status, action)
        assert permitted(action, status, relation, may_reassign=actor.may_reassign) is expected


def test_the_table_lists_actions_in_workflow_order() -> None:
    owned = transition_table(may_reassign=False)[Relation.OWNER]
    assert owned[CaseStatus.CLAIMED] == [
        Action.ATTEMPT,
        Action.MARK_UNREACHABLE,
        Action.REVIEW_REASONS,
        Action.NOTE,
    ]
    assert transition_table(may_reassign=True)[Relation.OTHER][CaseStatus.CONTACTED] == [
        Action.ATTEMPT,
        Action.RESOLVE,
        Action.REASSIGN,
        Action.REVIEW_REASONS,
        Action.NOTE,
    ]


def test_an_agent_may_claim_an_unowned_case_but_not_work_someone_elses() -> None:
    table = transition_table(may_reassign=False)
    assert table[Relation.UNOWNED][CaseStatus.OPEN] == [Action.CLAIM, Action.NOTE]
    assert table[Relation.OTHER][CaseStatus.CLAIMED] == [Action.NOTE]
    assert table[Relation.OTHER][CaseStatus.RESOLVED] == [Action.REOPEN, Action.NOTE]
