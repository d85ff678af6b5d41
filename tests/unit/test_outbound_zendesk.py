"""The Zendesk sync's pure rules: the subscription's settings, the ticket requests, how answers
are read, what a delivery does to the ticket, and what a ticket change does to the case."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from winback_notifier.cases.rules import Action
from winback_notifier.outbound.channels.base import Context, Delivery, Verdict
from winback_notifier.outbound.channels.zendesk import (
    TicketState,
    ZendeskConfigError,
    create_request,
    judge,
    ticket_in,
    update_request,
    vendor_error,
    zendesk_config,
)
from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.helpdesk_links import Link
from winback_notifier.outbound.subscriptions import Channel, Subscription
from winback_notifier.outbound.zendesk_inbound import TicketChange, plan_inbound, verify
from winback_notifier.outbound.zendesk_sync import Create, Skip, Update, Wait, plan
from winback_shared.case_vocabulary import CaseStatus
from winback_shared.errors import ApiError
from winback_shared.zendesk_signatures import sign, timestamp_of

URL = "https://acme.zendesk.com/?email=winback@acme.test&group_id=77&agent=ana:ana@acme.test"
TOKEN = "zd-token"
CONFIG = zendesk_config(URL, (TOKEN,))


def delivery(event: EventType, *, seq: int = 1, attempts: int = 0, **card: Any) -> Delivery:
    case = {
        "case_id": 42,
        "seq": seq,
        "status": "open",
        "priority": 1,
        "queue": "Billing Team",
        "customer": {"id": "c-1", "name": "Dana Whitfield", "email": "dana@example.com"},
        "reasons": [{"code": "long_wait", "label": "Long hold or wait"}],
        "scores": [{"kind": "nps", "value": 2}],
        "comment": "Nobody called back.",
        **card,
    }
    payload = {"type": str(event), "timestamp": "2026-12-01T00:00:00+00:00", "data": {"case": case}}
    return Delivery(7, "msg_abc", event, 42, payload, attempts)


def context() -> Context:
    subscription = Subscription(
        id=1,
        name="helpdesk",
        channel=Channel.ZENDESK,
        url=URL,
        event_types=frozenset(EventType),
        created_at=datetime.now(UTC),
        secrets=(TOKEN,),
    )
    return Context(subscription, datetime.now(UTC), "https://winback.acme.test")


def link(seq: int = 1, status: str = "open", assignee: str | None = None) -> Link:
    return Link(1, 42, "zendesk", "4801", "https://acme.zendesk.com/agent/tickets/4801", seq,
                TicketState(status, assignee))  # fmt: skip


def test_the_url_carries_the_api_user_group_brand_and_agents() -> None:
    assert CONFIG.base_url == "https://acme.zendesk.com"
    assert CONFIG.email == "winback@acme.test" and CONFIG.group_id == 77
    assert CONFIG.brand_id is None
    assert CONFIG.agent_email("ana") == "ana@acme.test"
    assert CONFIG.agent_email("sam@acme.test") == "sam@acme.test"  # a name that is an address
    assert CONFIG.agent_email("sam") is None
    raw = base64.b64decode(CONFIG.authorization().removeprefix("Basic "))
    assert raw == b"winback@acme.test/token:zd-token"
    assert TOKEN not in repr(CONFIG)


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("https://acme.zendesk.com", (TOKEN,)),  # no API user
        ("https://acme.zendesk.com/?email=winback@acme.test", ()),  # no token
        ("https://acme.zendesk.com/?email=winback@acme.test&group_id=billing", (TOKEN,)),
        ("https://acme.zendesk.com/?email=winback@acme.test&agent=ana", (TOKEN,)),
    ],
)
def test_a_subscription_that_cannot_work_is_refused(url: str, secrets: tuple[str, ...]) -> None:
    with pytest.raises(ZendeskConfigError):
        zendesk_config(url, secrets)


def test_a_case_becomes_an_idempotent_ticket_creation_with_an_internal_note() -> None:
    request = create_request(
        delivery(EventType.CASE_OPENED), context(), CONFIG, TicketState("open")
    )
    assert request.method == "POST"
    assert request.url == "https://acme.zendesk.com/api/v2/tickets.json"
    assert request.headers["idempotency-key"] == "msg_abc"
    assert request.headers["authorization"] == CONFIG.authorization()
    ticket = json.loads(request.body)["ticket"]
    assert ticket["external_id"] == "winback-case-42"
    assert ticket["requester"] == {"name": "Dana Whitfield", "email": "dana@example.com"}
    assert ticket["tags"] == ["winback", "winback_p1", "winback_queue_billing_team"]
    assert ticket["priority"] == "urgent" and ticket["status"] == "open"
    assert ticket["group_id"] == 77 and "brand_id" not in ticket
    assert ticket["comment"]["public"] is False  # the customer gets no e-mail
    assert "Long hold or wait" in ticket["subject"]
    body = ticket["comment"]["body"]
    assert "https://winback.acme.test/#case=42" in body and "Nobody called back." in body


def test_an_update_sends_only_what_changed_and_a_resolution_as_a_note() -> None:
    resolved = delivery(
        EventType.CASE_RESOLVED,
        seq=5,
        status="resolved",
        owner="ana",
        root_cause="long_wait",
        resolution={"apology": True, "compensation": {"value": 20, "currency": "EUR"}},
        customer_reaction="satisfied",
    )
    known = TicketState("open", "ana@acme.test")
    request = update_request(
        "4801", resolved, CONFIG, TicketState("solved", "ana@acme.test"), known
    )
    assert request.method == "PUT"
    assert request.url == "https://acme.zendesk.com/api/v2/tickets/4801.json"
    assert "idempotency-key" not in request.headers
    ticket = json.loads(request.body)["ticket"]
    assert ticket["status"] == "solved" and "assignee_email" not in ticket
    assert ticket["comment"]["public"] is False
    assert "compensation 20 EUR" in ticket["comment"]["body"]
    assert "long_wait" in ticket["comment"]["body"]


def test_answers_are_read_as_zendesk_documents_them() -> None:
    invalid = json.dumps(
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {
                "requester": [{"description": "Requester: Email is not properly formatted"}]
            },
        }
    )
    refused = judge(422, {}, invalid)
    assert refused.verdict is Verdict.REFUSED
    assert (
        refused.error is not None and "Requester: Email is not properly formatted" in refused.error
    )
    unauthorised = judge(401, {}, '{"error": "Couldn\'t authenticate you"}')
    assert unauthorised.verdict is Verdict.REFUSED
    assert unauthorised.error == "HTTP 401: Couldn't authenticate you"
    assert judge(404, {}, '{"error":"RecordNotFound","description":"Not found"}').verdict is (
        Verdict.REFUSED
    )
    limited = judge(429, {"retry-after": "7"}, "")
    assert limited.verdict is Verdict.RETRY and limited.retry_after == 7
    assert judge(503, {}, "").verdict is Verdict.RETRY
    assert judge(201, {}, '{"ticket": {"id": 4801}}').verdict is Verdict.DELIVERED
    assert vendor_error("<html>bad gateway</html>") == "<html>bad gateway</html>"
    assert ticket_in('{"ticket": {"id": 4801, "status": "open"}}') is not None
    assert ticket_in("{}") is None


def test_what_a_delivery_does_to_the_ticket() -> None:
    claimed = delivery(EventType.CASE_CLAIMED, seq=2, status="claimed", owner="ana")
    assert plan(claimed, CONFIG, None, 3.0) == Wait(3.5)  # an earlier change is owed first
    assert plan(claimed, CONFIG, None, None) == Create(TicketState("open", "ana@acme.test"))
    assert plan(claimed, CONFIG, link(seq=2), None) == Skip(
        "the ticket already reflects change 2 of the case"
    )
    step = plan(claimed, CONFIG, link(seq=1), None)
    assert isinstance(step, Update) and step.state == TicketState("open", "ana@acme.test")
    # Resolved from Zendesk (the link reflects that change already): nothing goes back.
    resolved = delivery(EventType.CASE_RESOLVED, seq=6, status="resolved", owner="ana")
    assert isinstance(plan(resolved, CONFIG, link(6, "solved", "ana@acme.test"), None), Skip)
    # Our agent resolves a case whose ticket was solved early: only the resolution note goes.
    step = plan(resolved, CONFIG, link(5, "solved", "ana@acme.test"), None)
    assert isinstance(step, Update)
    request = update_request("4801", resolved, CONFIG, step.state, step.link.synced)
    assert set(json.loads(request.body)["ticket"]) == {"comment"}
    # An agent Zendesk does not know leaves the ticket's assignee alone.
    other = delivery(EventType.CASE_CLAIMED, seq=3, status="claimed", owner="sam")
    assert isinstance(plan(other, CONFIG, link(2, "open", "ana@acme.test"), None), Skip)


def change(**fields: str) -> TicketChange:
    return TicketChange.model_validate({"ticket_id": "4801", "status": "open", **fields})


def test_what_a_ticket_change_does_to_the_case() -> None:
    known = TicketState("open", "ana@acme.test")
    solved = change(status="Solved", updated_by="lead@acme.test")
    act = plan_inbound(
        solved,
        known=known,
        case_status=CaseStatus.CONTACTED,
        case_owned=True,
        api_user=CONFIG.email,
    )
    assert act.action is Action.RESOLVE and act.known == TicketState("solved", "ana@acme.test")
    early = plan_inbound(
        solved, known=known, case_status=CaseStatus.CLAIMED, case_owned=True, api_user=CONFIG.email
    )
    assert early.action is None and "the case is claimed" in early.ignored[0]
    assert early.known == TicketState(
        "solved", "ana@acme.test"
    )  # the ticket is solved all the same
    closed = plan_inbound(
        change(status="closed"),
        known=TicketState("solved"),
        case_status=CaseStatus.RESOLVED,
        case_owned=True,
        api_user=CONFIG.email,
    )
    assert closed.action is Action.CLOSE


def test_our_own_changes_coming_back_are_ignored() -> None:
    known = TicketState("solved", "ana@acme.test")
    ours = change(status="closed", updated_by="WINBACK@acme.test")
    act = plan_inbound(
        ours, known=known, case_status=CaseStatus.RESOLVED, case_owned=True, api_user=CONFIG.email
    )
    assert (
        act.action is None and act.known is None and act.ignored == ["our own update coming back"]
    )
    same = plan_inbound(
        change(status="solved", assignee_email="ana@acme.test"),
        known=known,
        case_status=CaseStatus.CONTACTED,
        case_owned=True,
        api_user=CONFIG.email,
    )
    assert same.action is None and same.note is None and same.known is None


def test_a_new_assignee_becomes_a_note() -> None:
    act = plan_inbound(
        change(assignee_email="Lee@acme.test"),
        known=TicketState("open", "ana@acme.test"),
        case_status=CaseStatus.CLAIMED,
        case_owned=True,
        api_user=CONFIG.email,
    )
    assert act.note == "Zendesk ticket #4801 is now assigned to lee@acme.test"
    assert act.known == TicketState("open", "lee@acme.test")


def test_only_a_fresh_signature_of_the_secret_is_taken() -> None:
    body = b'{"ticket_id": "4801", "status": "solved"}'
    now = datetime.now(UTC)
    stamp = timestamp_of(now)
    good = {
        "x-zendesk-webhook-signature": sign(b"whsec-zd", stamp, body),
        "x-zendesk-webhook-signature-timestamp": stamp,
    }
    verify(good, body, "whsec-zd", now.timestamp())
    refusals = [
        (good, body + b" ", "whsec-zd", now),  # the body changed
        (good, body, "another-secret", now),
        (good, body, "whsec-zd", now + timedelta(minutes=6)),  # stale
        ({}, body, "whsec-zd", now),
    ]
    for headers, raw, secret, moment in refusals:
        with pytest.raises(ApiError) as refused:
            verify(headers, raw, secret, moment.timestamp())
        assert refused.value.status == 401 and refused.value.code == "bad_signature"
    with pytest.raises(ValueError):
        TicketChange.model_validate({"ticket_id": "{{ticket.id}}", "status": "solved"})
