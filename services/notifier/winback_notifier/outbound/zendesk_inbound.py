"""Zendesk's ticket changes coming back: what a signed webhook request means for our case.

Pure rules, no I/O (:mod:`.zendesk_views` reads and writes). A Zendesk trigger posts the body
documented in ``docs/outbound.md`` (ticket id, status, assignee's e-mail, who made the change)
to ``/webhooks/zendesk/{subscription}``, signed with the Zendesk webhook's signing secret.

What it may do to a case: a ticket **solved** resolves it and a ticket **closed** closes it,
when our workflow allows that from where the case stands (resolve from ``contacted``, close from
``resolved`` or ``unreachable``); otherwise nothing changes and the reason is logged. A new
**assignee** becomes a note in the case's history (our owner stays who claimed it).

No loops: a change made by the subscription's own API user (``updated_by``) is ours coming
back and is ignored, and so is a status or assignee equal to what the ticket is known to show
(``helpdesk_links.synced_*``, written by every update we send). What is applied here is written
to the link too, so the outbound sync finds the ticket already showing it and sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, Field, field_validator

from winback_notifier.cases.rules import ALLOWED_FROM, Action
from winback_notifier.outbound.channels.zendesk import TicketState
from winback_shared.case_vocabulary import CaseStatus
from winback_shared.errors import ApiError
from winback_shared.zendesk_signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadTimestamp,
    matches,
    signed_at,
)

TOLERANCE_SECONDS = 300.0
"""How old (or how far ahead) a signature timestamp may be: a replay after that is refused."""


def verify(
    headers: Mapping[str, str],
    body: bytes,
    signing_secret: str,
    now: float,
    tolerance: float = TOLERANCE_SECONDS,
) -> None:
    """Raise an ``ApiError`` (401 ``bad_signature``) unless Zendesk signed ``body`` recently."""
    signature = headers.get(SIGNATURE_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise ApiError(401, "bad_signature", "the Zendesk signature headers are missing")
    try:
        moment = signed_at(timestamp)
    except BadTimestamp as exc:
        raise ApiError(401, "bad_signature", str(exc)) from None
    if abs(now - moment) > tolerance:
        raise ApiError(401, "bad_signature", "the signature timestamp is stale")
    if not matches(signing_secret.encode(), timestamp, body, signature):
        raise ApiError(401, "bad_signature", "the signature does not match")


class TicketChange(BaseModel):
    """The trigger's body. Zendesk's placeholders render as text, empty when unset."""

    ticket_id: str = Field(min_length=1, max_length=40)
    status: str = Field(max_length=40)
    assignee_email: str = Field(default="", max_length=320)
    updated_by: str = Field(default="", max_length=320)
    """``{{current_user.email}}``: who made the change (our API user, for our own updates)."""

    @field_validator("status", "assignee_email", "updated_by")
    @classmethod
    def _normalised(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("ticket_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        value = value.strip()
        if not value.isdigit():
            raise ValueError("ticket_id must be the ticket's number")
        return str(int(value))


@dataclass(frozen=True)
class InboundPlan:
    """What the change does: at most one workflow step, perhaps a note, and what the ticket is
    now known to show; ``ignored`` says why each part was left alone."""

    action: Action | None = None
    note: str | None = None
    known: TicketState | None = None
    """The ticket's state to remember (``None``: nothing new)."""
    ignored: list[str] = field(default_factory=list)


STATUS_ACTIONS = {"solved": Action.RESOLVE, "closed": Action.CLOSE}


def plan_inbound(
    change: TicketChange,
    *,
    known: TicketState,
    case_status: CaseStatus,
    case_owned: bool,
    api_user: str,
) -> InboundPlan:
    """What a ticket change means for the case, given what the ticket was known to show."""
    if change.updated_by and change.updated_by == api_user.lower():
        return InboundPlan(ignored=["our own update coming back"])
    ignored: list[str] = []
    action = None
    status = change.status or known.status
    if status == known.status:
        ignored.append(f"status {status} is what the ticket already showed")
    elif status in STATUS_ACTIONS:
        wanted = STATUS_ACTIONS[status]
        if case_status not in ALLOWED_FROM[wanted] or (wanted is Action.RESOLVE and not case_owned):
            allowed = ", ".join(sorted(ALLOWED_FROM[wanted]))
            ignored.append(
                f"ticket {status}, but the case is {case_status}"
                + ("" if case_owned else " and unowned")
                + f": it may be {wanted.kind} from {allowed} only"
            )
        else:
            action = wanted
    else:
        ignored.append(f"status {status} changes nothing on our side")
    note = None
    assignee = change.assignee_email or known.assignee
    if change.assignee_email and change.assignee_email != (known.assignee or "").lower():
        note = f"Zendesk ticket #{change.ticket_id} is now assigned to {change.assignee_email}"
    elif change.assignee_email:
        ignored.append("the assignee is the one the ticket already had")
    now_known = TicketState(status, assignee)
    return InboundPlan(
        action=action,
        note=note,
        known=now_known if now_known != known else None,
        ignored=ignored,
    )
