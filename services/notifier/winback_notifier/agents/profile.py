"""Who is signed in and the rules their console works by: one model for ``GET /api/me`` and the
websocket's ``hello``, so a console and a CRM integration learn the same things the same way.

The console keeps no copy of the workflow or the case vocabulary: which actions each case
allows comes from :func:`~winback_notifier.cases.rules.transition_table`, and the statuses a
board shows and the words for statuses and history kinds from
:mod:`winback_shared.case_vocabulary`, all sent here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from winback_notifier.cases.offer_rules import OFFER_STATUSES, OfferKind
from winback_notifier.cases.rules import (
    TWO_WAY,
    Action,
    Channel,
    Relation,
    transition_table,
)
from winback_notifier.settings import NotifierSettings
from winback_shared.agents import Agent
from winback_shared.case_vocabulary import (
    ATTEMPT_OUTCOME_LABELS,
    BOARD_STATUSES,
    HISTORY_LABELS,
    STATUS_LABELS,
    AttemptOutcome,
    CaseStatus,
    HistoryKind,
)
from winback_shared.taxonomy import Taxonomy


class RootCause(BaseModel):
    """A reason code an agent can confirm as the root cause."""

    code: str
    label: str


class Policy(BaseModel):
    """Workflow settings a console needs to guide the agent."""

    unreachable_after_attempts: int
    contact_target_minutes: dict[int, float]
    sla_warning_seconds: float
    channels: list[str]
    two_way_channels: list[str]


class OfferPolicy(BaseModel):
    """What the console's offer form offers (limits come per case: ``GET .../offers``)."""

    kinds: list[OfferKind]
    statuses: list[CaseStatus]
    """The case statuses offers are made in (by the owner, or a supervisor)."""
    approval_minutes: float
    """How long a request may wait for a supervisor before it is flagged overdue (0: never)."""


class Vocabulary(BaseModel):
    """The words a console describes cases in, from the one shared case vocabulary."""

    board_statuses: list[CaseStatus]
    """The statuses a board shows; a case changing to any other leaves it."""
    status_labels: dict[CaseStatus, str]
    history_labels: dict[HistoryKind, str]
    attempt_outcomes: dict[AttemptOutcome, str]
    """How a contact attempt went, in the order the console offers them."""


class Profile(BaseModel):
    """The signed-in agent, its queues, the policy it works under and what it may do."""

    name: str
    role: str
    queues: list[str]
    sees_all_queues: bool
    may_reassign: bool
    policy: Policy
    root_causes: list[RootCause]
    actions: dict[Relation, dict[CaseStatus, list[Action]]] = Field(
        description=(
            "The actions this agent may take on a case it sees, by how it stands to the case "
            "(owner, other: someone else owns it, unowned) and the case's status."
        )
    )
    vocabulary: Vocabulary
    offers: OfferPolicy


def build_profile(agent: Agent, settings: NotifierSettings, taxonomy: Taxonomy) -> Profile:
    """Everything a console learns on connect."""
    return Profile(
        name=agent.name,
        role=agent.role.value,
        queues=sorted(agent.queues),
        sees_all_queues=agent.sees_all_queues,
        may_reassign=agent.may_reassign,
        policy=Policy(
            unreachable_after_attempts=settings.unreachable_after_attempts,
            contact_target_minutes=settings.contact_target_minutes,
            sla_warning_seconds=settings.sla_warning_seconds,
            channels=[channel.value for channel in Channel],
            two_way_channels=[channel.value for channel in Channel if channel in TWO_WAY],
        ),
        root_causes=[RootCause(code=code.id, label=code.label) for code in taxonomy.codes],
        actions=transition_table(may_reassign=agent.may_reassign),
        vocabulary=Vocabulary(
            board_statuses=list(BOARD_STATUSES),
            status_labels=dict(STATUS_LABELS),
            history_labels=dict(HISTORY_LABELS),
            attempt_outcomes=dict(ATTEMPT_OUTCOME_LABELS),
        ),
        offers=OfferPolicy(
            kinds=list(OfferKind),
            statuses=sorted(OFFER_STATUSES),
            approval_minutes=settings.offer_approval_minutes,
        ),
    )
