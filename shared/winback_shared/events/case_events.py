"""Topic ``case-events``: what changed in the agents' workplace, for every notifier instance.

``case.changed``: something an agent (or an SLA timer: ``sla_warning``, ``sla_breached``,
``claim_lapsed``, actor ``sla``) did to a recovery case. PostgreSQL's
``case_history`` is the source of truth; this topic carries each change to every notifier
instance so every console showing the case updates at once. The event holds the whole card after
the change, so a console replaces what it shows instead of replaying deltas, and ``case.seq``
lets it drop what it has already seen. ``previous_queue`` is set when the change moved the case,
so consoles that can no longer see it are told to drop it. Keyed by case id.

``agent.changed``: an agent's queues, role, token or enabled state changed; every notifier
reloads that agent from PostgreSQL and brings its open consoles up to date. Keyed
``agent:<id>`` (see :func:`agent_key`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from winback_shared.case_vocabulary import HistoryKind
from winback_shared.events.base import Event
from winback_shared.events.recovery_alerts import CaseSummary


class Compensation(BaseModel):
    """Something of value given to the customer."""

    kind: str = Field(default="credit", max_length=80, description="e.g. credit, refund, voucher")
    value: float = Field(ge=0, description="Amount in the account's currency.")
    currency: str = Field(default="EUR", max_length=8)


class GivenOffer(BaseModel):
    """An offer granted or approved on the case before it was resolved (``case_offers``)."""

    offer_id: int
    kind: str
    amount: float
    currency: str


class Resolution(BaseModel):
    """What was offered to put things right; usually several of these together."""

    apology: bool = False
    explanation: str | None = Field(default=None, max_length=2000)
    compensation: Compensation | None = None
    process_change: str | None = Field(default=None, max_length=2000)
    offers: list[GivenOffer] = Field(
        default_factory=list,
        description="Filled in by the notifier: the offers granted or approved on the case, "
        "whose total is then the compensation (a client's own list is ignored).",
    )


class CaseCard(CaseSummary):
    """A case as consoles show it: the survey side plus where the recovery stands."""

    owner: str | None = None
    claimed_at: datetime | None = None
    first_attempt_at: datetime | None = None
    first_contact_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    failed_attempts: int = 0
    root_cause: str | None = None
    resolution: Resolution | None = None
    customer_reaction: str | None = None
    follow_up_outcome: str | None = None
    updated_at: datetime | None = None
    sla_warned_at: datetime | None = None
    """When the SLA warning fired (the deadline was near and no one had tried yet)."""
    sla_breached_at: datetime | None = None
    """When the deadline passed with no contact attempt."""
    owned_at: datetime | None = None
    """When the current owner got the case; an untried claim lapses counting from here."""
    call_back_due_at: datetime | None = None
    """When the customer asked to be called back (the case's next deadline), until the next
    attempt."""
    call_back_missed_at: datetime | None = None
    """When the SLA timers found that call-back missed."""
    wrong_number_at: datetime | None = None
    """When an attempt first found the customer's number wrong (it may be marked unreachable
    from then on)."""


class HistoryEntry(BaseModel):
    """One change in a case's append-only history: who did what, when."""

    seq: int
    kind: HistoryKind = Field(
        description="opened, claimed, contact_attempted, resolved, ..., recoded (not news)"
    )
    actor: str
    occurred_at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class CaseChanged(Event):
    """A case changed; ``case`` is its card after the change, ``change`` the history entry."""

    type: Literal["case.changed"] = "case.changed"
    version: int = 1
    case: CaseCard
    change: HistoryEntry
    previous_queue: str | None = None


class AgentChanged(Event):
    """Something about an agent changed; consoles signed in as it must reload it.

    Only the id travels: notifiers read the agent as it is *now*, so a late, repeated or
    reordered event can never apply stale memberships.
    """

    type: Literal["agent.changed"] = "agent.changed"
    version: int = 1
    agent_id: int


def agent_key(agent_id: int) -> bytes:
    """The record key of an agent's events.

    One key per agent keeps its events on one partition, in order. The ``agent:`` prefix keeps
    them from sharing a key with the case of the same number (cases are keyed by bare id): the
    same key would mean the same partition for no reason, and, were the topic ever compacted,
    an agent event could displace a case's.
    """
    return f"agent:{agent_id}".encode()


CaseEvent = Annotated[CaseChanged | AgentChanged, Field(discriminator="type")]
"""Any event on ``case-events``; parse with ``CASE_EVENT.validate_json``."""
CASE_EVENT: TypeAdapter[CaseChanged | AgentChanged] = TypeAdapter(CaseEvent)
