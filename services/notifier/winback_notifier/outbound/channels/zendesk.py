"""Zendesk Support tickets: the request shapes and the reading of answers, without I/O.

A Zendesk subscription keeps one ticket per case (:mod:`winback_notifier.outbound.zendesk_sync`
does the I/O and the ordering). Its URL is the account's address with the rest of its settings
as query parameters, as an e-mail subscription's URL carries its senders::

    https://acme.zendesk.com/?email=winback@acme.com&group_id=360001&brand_id=360002
        &agent=ana:ana.ruiz@acme.com&agent=sam:sam.lee@acme.com

``email`` is the API user (Basic auth ``{email}/token:{api token}``, the token being the
subscription's credential), ``group_id`` / ``brand_id`` optional, ``agent`` maps one of our
agents to their Zendesk e-mail (an agent whose name is an e-mail address maps to itself). A case
becomes ``POST /api/v2/tickets.json`` with an ``Idempotency-Key`` (the delivery's webhook id:
Zendesk answers a repeat with the ticket it made, ``x-idempotency-lookup: hit``), and later
changes ``PUT /api/v2/tickets/{id}.json``. Everything said to Zendesk is an internal note
(``public: false``), so the customer gets no e-mail from the ticket.

Answers: 2xx delivered; 429 (``Retry-After``), 408 and 5xx retried; 400, 401, 403, 404, 422 and
other 4xx refused (a dead letter with Zendesk's own error text: a bad token, a deleted ticket, a
validation error do not get better by sending the same request again).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from winback_notifier.outbound.channels.base import (
    Context,
    Delivery,
    OutboundRequest,
    Outcome,
    Verdict,
    judge_status,
)
from winback_notifier.outbound.channels.message import chat_message
from winback_notifier.outbound.events import EventType
from winback_shared.case_vocabulary import CaseStatus

SYSTEM = "zendesk"
"""``helpdesk_links.system`` of a Zendesk ticket."""

TICKET_STATUS: dict[CaseStatus, str] = {
    CaseStatus.OPEN: "open",
    CaseStatus.CLAIMED: "open",
    CaseStatus.CONTACTED: "open",
    CaseStatus.REOPENED: "open",
    CaseStatus.UNREACHABLE: "pending",
    CaseStatus.RESOLVED: "solved",
    CaseStatus.CLOSED: "closed",
}
"""The ticket status that says where a case stands (``pending``: we wait on the customer)."""

PRIORITY = {1: "urgent", 2: "high", 3: "normal"}
"""Our priority as Zendesk's; anything less urgent is ``low``."""

SUBJECT_LIMIT = 150
_TAG_UNSAFE = re.compile(r"[^a-z0-9_]+")


class ZendeskConfigError(ValueError):
    """A Zendesk subscription's URL or credential that cannot work; the message says why."""


@dataclass(frozen=True)
class ZendeskConfig:
    """What a Zendesk subscription's URL and credential say."""

    base_url: str
    """``https://acme.zendesk.com`` (no trailing slash)."""
    email: str
    api_token: str = field(repr=False)
    group_id: int | None = None
    brand_id: int | None = None
    agents: Mapping[str, str] = field(default_factory=dict)
    """Our agent's name → their Zendesk e-mail."""

    def authorization(self) -> str:
        """The ``Authorization`` header: Basic ``{email}/token:{api token}``."""
        raw = f"{self.email}/token:{self.api_token}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def agent_email(self, name: str | None) -> str | None:
        """The Zendesk e-mail of our agent ``name``, if known."""
        if not name:
            return None
        if name in self.agents:
            return self.agents[name]
        return name if "@" in name else None

    def ticket_page(self, ticket_id: int | str) -> str:
        """The ticket's page in the agent workspace."""
        return f"{self.base_url}/agent/tickets/{ticket_id}"


def _one_int(query: dict[str, list[str]], name: str) -> int | None:
    values = query.get(name)
    if not values:
        return None
    if not values[-1].isdigit():
        raise ZendeskConfigError(f"{name} must be a Zendesk id (digits)")
    return int(values[-1])


def zendesk_config(url: str, secrets: tuple[str, ...]) -> ZendeskConfig:
    """Read a subscription's URL and credential (the API token, ``secrets[0]``)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    emails = query.get("email")
    if not emails or "@" not in emails[-1]:
        raise ZendeskConfigError("name the API user: ?email=<the Zendesk user the token is for>")
    if not secrets or not secrets[0]:
        raise ZendeskConfigError("a Zendesk subscription needs the API token as its credential")
    agents: dict[str, str] = {}
    for pair in query.get("agent", []):
        name, _, email = pair.partition(":")
        if not name or "@" not in email:
            raise ZendeskConfigError(f"agent={pair!r}: write agent=<our agent>:<zendesk e-mail>")
        agents[name] = email
    return ZendeskConfig(
        base_url=f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/"),
        email=emails[-1],
        api_token=secrets[0],
        group_id=_one_int(query, "group_id"),
        brand_id=_one_int(query, "brand_id"),
        agents=agents,
    )


def external_id(case_id: int) -> str:
    """The ticket's ``external_id``: our case reference."""
    return f"winback-case-{case_id}"


@dataclass(frozen=True)
class TicketState:
    """What of a ticket we keep in step: its status and assignee (an e-mail, or unknown)."""

    status: str
    assignee: str | None = None


def desired_state(case: Mapping[str, Any], config: ZendeskConfig) -> TicketState:
    """The ticket that says what the case card says."""
    return TicketState(
        status=TICKET_STATUS[CaseStatus(case["status"])],
        assignee=config.agent_email(case.get("owner")),
    )


def tag(text: str) -> str:
    """``text`` as a Zendesk tag (lower case, no spaces)."""
    return _TAG_UNSAFE.sub("_", text.lower()).strip("_")


def _headers(config: ZendeskConfig) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "accept": "application/json",
        "authorization": config.authorization(),
    }


def _opening_note(delivery: Delivery, context: Context) -> str:
    case: dict[str, Any] = delivery.payload["data"]["case"]
    message = chat_message(delivery, context)
    lines = [f"Service recovery case #{case['case_id']} (P{case['priority']}) from winback."]
    lines += [f"{name}: {value}" for name, value in message.facts]
    scores = [f"{s.get('kind')} {s.get('value')}" for s in case.get("scores") or []]
    if scores:
        lines.append(f"Scores: {', '.join(scores)}")
    if case.get("comment"):
        lines.append(f"Customer's comment: {case['comment']}")
    lines.append(f"Open the case: {context.case_link(case['case_id'])}")
    return "\n".join(lines)


def create_request(
    delivery: Delivery, context: Context, config: ZendeskConfig, state: TicketState
) -> OutboundRequest:
    """``POST /api/v2/tickets.json`` for the delivery's case, idempotent by its webhook id."""
    case: dict[str, Any] = delivery.payload["data"]["case"]
    reasons = [reason["label"] for reason in case.get("reasons") or []]
    subject = f"Service recovery P{case['priority']}: " + (", ".join(reasons) or "low score")
    ticket: dict[str, Any] = {
        "external_id": external_id(case["case_id"]),
        "subject": subject[:SUBJECT_LIMIT],
        "comment": {"body": _opening_note(delivery, context), "public": False},
        "priority": PRIORITY.get(case["priority"], "low"),
        "status": state.status,
        "tags": ["winback", f"winback_p{case['priority']}", f"winback_queue_{tag(case['queue'])}"],
    }
    customer = case.get("customer") or {}
    requester = {k: customer[k] for k in ("name", "email") if customer.get(k)}
    if requester:
        requester.setdefault("name", requester.get("email", ""))
        ticket["requester"] = requester
    if state.assignee:
        ticket["assignee_email"] = state.assignee
    if config.group_id is not None:
        ticket["group_id"] = config.group_id
    if config.brand_id is not None:
        ticket["brand_id"] = config.brand_id
    return OutboundRequest(
        url=f"{config.base_url}/api/v2/tickets.json",
        body=json.dumps({"ticket": ticket}).encode(),
        headers={**_headers(config), "idempotency-key": delivery.webhook_id},
    )


def _resolution_note(case: Mapping[str, Any]) -> str:
    resolution = case.get("resolution") or {}
    lines = ["Resolved in winback."]
    if case.get("root_cause"):
        lines.append(f"Root cause: {case['root_cause']}")
    offered = []
    if resolution.get("apology"):
        offered.append("apology")
    compensation = resolution.get("compensation")
    if compensation:
        offered.append(f"compensation {compensation['value']} {compensation['currency']}")
    if resolution.get("process_change"):
        offered.append(f"process change: {resolution['process_change']}")
    if offered:
        lines.append("Offered: " + "; ".join(offered))
    if resolution.get("explanation"):
        lines.append(f"Explanation: {resolution['explanation']}")
    if case.get("customer_reaction"):
        lines.append(f"Customer: {case['customer_reaction']}")
    return "\n".join(lines)


def closing_note(delivery: Delivery) -> str | None:
    """The internal note a resolution (or a closing's follow-up outcome) adds to the ticket."""
    case: dict[str, Any] = delivery.payload["data"]["case"]
    if delivery.event_type is EventType.CASE_RESOLVED:
        return _resolution_note(case)
    if delivery.event_type is EventType.CASE_CLOSED and case.get("follow_up_outcome"):
        return f"Closed in winback. Follow-up: {case['follow_up_outcome']}"
    return None


def update_request(
    ticket_id: str,
    delivery: Delivery,
    config: ZendeskConfig,
    state: TicketState,
    known: TicketState,
) -> OutboundRequest:
    """``PUT /api/v2/tickets/{id}.json`` with what changed from ``known`` to ``state``; a
    resolution travels as an internal note, as does a closing's follow-up outcome."""
    ticket: dict[str, Any] = {}
    if state.status != known.status:
        ticket["status"] = state.status
    if state.assignee and state.assignee != known.assignee:
        ticket["assignee_email"] = state.assignee
    note = closing_note(delivery)
    if note:
        ticket["comment"] = {"body": note, "public": False}
    return OutboundRequest(
        url=f"{config.base_url}/api/v2/tickets/{ticket_id}.json",
        body=json.dumps({"ticket": ticket}).encode(),
        headers=_headers(config),
        method="PUT",
    )


def vendor_error(body: str) -> str:
    """Zendesk's error text: ``error`` (a code or ``{title, message}``), ``description`` and
    each field's ``details``; the raw body if it is not Zendesk's JSON."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body[:300]
    if not isinstance(answer, dict):
        return body[:300]
    error = answer.get("error")
    if isinstance(error, dict):
        error = ": ".join(str(error[k]) for k in ("title", "message") if error.get(k))
    parts = [str(part) for part in (error, answer.get("description")) if part]
    details = answer.get("details")
    if isinstance(details, dict):
        for name, problems in details.items():
            for problem in problems if isinstance(problems, list) else [problems]:
                text = problem.get("description") if isinstance(problem, dict) else problem
                parts.append(f"{name}: {text}")
    return " - ".join(parts)[:500] or body[:300]


def judge(status: int, headers: Mapping[str, str], body: str) -> Outcome:
    """2xx delivered; 408, 429 and 5xx retried; every other answer refused, with Zendesk's
    error text (``HTTP 422: RecordInvalid - Record validation errors - requester: ...``)."""
    outcome = judge_status(status, headers, body, client_errors_final=True)
    if outcome.verdict is Verdict.DELIVERED:
        return outcome
    return Outcome(
        outcome.verdict, status, f"HTTP {status}: {vendor_error(body)}", outcome.retry_after
    )


@dataclass(frozen=True)
class Ticket:
    """A ticket as Zendesk answered with it."""

    id: str
    status: str
    assignee_id: int | None = None


def ticket_in(body: str) -> Ticket | None:
    """The ``ticket`` of a create or update answer, ``None`` if the answer has none."""
    try:
        ticket = json.loads(body).get("ticket")
        return Ticket(
            str(int(ticket["id"])), str(ticket.get("status") or ""), ticket.get("assignee_id")
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
