"""Each channel against a local server speaking its vendor's shapes: what it sends, and how it
reads the vendor's answers (success, documented errors, 429 with Retry-After).

Signatures are checked by the official ``standardwebhooks`` package inside the fake receiver,
never by our own code.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.outbound_fakes import (
    PagerDutyEvents,
    Receiver,
    SlackWebhook,
    TeamsWorkflow,
    WebhookReceiver,
    running,
)
from winback_notifier.outbound.channels import ADAPTERS
from winback_notifier.outbound.channels.base import (
    Context,
    Delivery,
    Outcome,
    Verdict,
    retry_after,
)
from winback_notifier.outbound.channels.slack import escape
from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.subscriptions import Channel, Subscription
from winback_shared.standard_webhooks import new_secret

NOW = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
CASE = {
    "case_id": 42,
    "priority": 1,
    "queue": "billing",
    "reasons": [{"label": "Billing error <again> & more"}],
    "contact_due_at": "2026-11-30T21:10:00+00:00",
    "customer": {"name": "Dana Whitfield", "phone": "+1 555 0100"},
    "comment": "never call me at work",
}
DELIVERY = Delivery(
    id=1,
    webhook_id="msg_abc",
    event_type=EventType.CASE_BREACHED,
    case_id=42,
    payload={"type": "case.breached", "timestamp": NOW.isoformat(), "data": {"case": CASE}},
)


def context(channel: Channel, url: str, secrets: tuple[str, ...] = ()) -> Context:
    subscription = Subscription(
        id=1,
        name="s",
        channel=channel,
        url=url,
        event_types=frozenset(EventType),
        created_at=NOW,
        secrets=secrets,
    )
    return Context(subscription, datetime.now(UTC), "https://winback.example.com/")


async def send(
    channel: Channel,
    receiver: Receiver,
    secrets: tuple[str, ...] = (),
    delivery: Delivery = DELIVERY,
) -> Outcome:
    adapter = ADAPTERS[channel]
    request = adapter.build(delivery, context(channel, receiver.url, secrets))
    async with httpx.AsyncClient() as client:
        response = await client.post(request.url, content=request.body, headers=request.headers)
    return adapter.judge(response.status_code, response.headers, response.text)


async def test_a_webhook_is_signed_as_standard_webhooks_says() -> None:
    secret = new_secret()
    async with running(WebhookReceiver(secrets=[secret])) as receiver:
        outcome = await send(Channel.WEBHOOK, receiver, (secret,))
    assert outcome == Outcome(Verdict.DELIVERED, 204)
    (seen,) = receiver.accepted
    assert seen.headers["webhook-id"] == "msg_abc"
    assert seen.json()["data"]["case"]["case_id"] == 42


async def test_during_a_rotation_both_secrets_verify() -> None:
    old, new = new_secret(), new_secret()
    for receivers_secret in (old, new):
        async with running(WebhookReceiver(secrets=[receivers_secret])) as receiver:
            outcome = await send(Channel.WEBHOOK, receiver, (new, old))
        assert outcome.verdict is Verdict.DELIVERED
        assert len(receiver.seen[0].headers["webhook-signature"].split()) == 2


async def test_a_webhook_signed_with_another_secret_is_refused_by_the_receiver() -> None:
    async with running(WebhookReceiver(secrets=[new_secret()])) as receiver:
        outcome = await send(Channel.WEBHOOK, receiver, (new_secret(),))
    # The receiver's 401 is retried: a secret not yet rolled out there is a passing state.
    assert outcome.verdict is Verdict.RETRY and outcome.status == 401


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (429, Verdict.RETRY),
        (410, Verdict.REFUSED),
        (404, Verdict.RETRY),
    ],
)
async def test_webhook_failures_are_retried_except_gone(status: int, verdict: Verdict) -> None:
    async with running(WebhookReceiver(secrets=[new_secret()])) as receiver:
        receiver.fail_next(status)
        outcome = await send(Channel.WEBHOOK, receiver, (new_secret(),))
    assert (outcome.verdict, outcome.status) == (verdict, status)


async def test_slack_gets_a_message_with_a_link_and_no_customer_details() -> None:
    async with running(SlackWebhook()) as receiver:
        outcome = await send(Channel.SLACK, receiver)
    assert outcome == Outcome(Verdict.DELIVERED, 200)
    message = receiver.accepted[0].json()
    text = str(message)
    assert "P1 case #42 breached its contact deadline" in message["text"]
    assert "<https://winback.example.com/#case=42|Open the case>" in text
    assert "Billing error &lt;again&gt; &amp; more" in text
    assert "Dana" not in text and "555" not in text and "never call" not in text


@pytest.mark.parametrize("status", [400, 403, 404, 410])
async def test_slacks_documented_errors_are_final(status: int) -> None:
    async with running(SlackWebhook()) as receiver:
        receiver.fail_next(status)
        outcome = await send(Channel.SLACK, receiver)
    assert outcome.verdict is Verdict.REFUSED and outcome.status == status
    assert outcome.error is not None and outcome.error.endswith(
        bytes(receiver.failure(status).body).decode()
    )


async def test_slacks_rate_limit_is_retried_after_its_retry_after() -> None:
    async with running(SlackWebhook(retry_after="7")) as receiver:
        receiver.fail_next(429)
        outcome = await send(Channel.SLACK, receiver)
        assert outcome == Outcome(Verdict.RETRY, 429, "HTTP 429: rate_limited", 7.0)
        receiver.fail_next(500)
        assert (await send(Channel.SLACK, receiver)).verdict is Verdict.RETRY


async def test_teams_gets_an_adaptive_card_with_an_open_button() -> None:
    async with running(TeamsWorkflow()) as receiver:
        outcome = await send(Channel.TEAMS, receiver)
    assert outcome == Outcome(Verdict.DELIVERED, 202)
    card = receiver.accepted[0].json()["attachments"][0]["content"]
    assert card["body"][0]["text"] == "P1 case #42 breached its contact deadline"
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open the case",
            "url": "https://winback.example.com/#case=42",
        }
    ]
    assert "Dana" not in str(card)


@pytest.mark.parametrize(
    ("status", "verdict"), [(400, Verdict.REFUSED), (429, Verdict.RETRY), (502, Verdict.RETRY)]
)
async def test_teams_errors(status: int, verdict: Verdict) -> None:
    async with running(TeamsWorkflow(retry_after="3")) as receiver:
        receiver.fail_next(status)
        outcome = await send(Channel.TEAMS, receiver)
    assert (outcome.verdict, outcome.status) == (verdict, status)
    if status == 429:
        assert outcome.retry_after == 3.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
    assert retry_after({"retry-after": "120"}, now) == 120
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after({"retry-after": later}, now) == 30
    assert retry_after({"retry-after": "soon"}, now) is None
    assert retry_after({}, now) is None


def test_slack_escapes_its_control_characters() -> None:
    assert escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"


UNWATCHED = Delivery(
    id=2,
    webhook_id="msg_q",
    event_type=EventType.QUEUE_UNWATCHED,
    case_id=None,
    payload={
        "type": "queue.unwatched",
        "timestamp": NOW.isoformat(),
        "data": {"queue": "billing", "unwatched_since": NOW.isoformat(), "waiting_p1": 3},
    },
)


def covered(delivery: Delivery) -> Delivery:
    return replace(delivery, event_type=EventType.QUEUE_WATCHED)


def resolved(delivery: Delivery) -> Delivery:
    return replace(delivery, event_type=EventType.CASE_RESOLVED)


async def test_pagerduty_triggers_then_resolves_an_unwatched_queue_by_its_dedup_key() -> None:
    async with running(PagerDutyEvents()) as pager:
        key = (pager.routing_key,)
        assert await send(Channel.PAGERDUTY, pager, key, UNWATCHED) == Outcome(
            Verdict.DELIVERED, 202
        )
        assert pager.open == {
            "winback/unwatched/billing": "No console is watching queue billing: 3 P1 cases wait"
        }
        trigger = pager.accepted[0].json()
        assert trigger["payload"]["severity"] == "critical"
        assert trigger["links"][0]["href"] == "https://winback.example.com/ops"
        assert (await send(Channel.PAGERDUTY, pager, key, covered(UNWATCHED))).status == 202
        assert pager.open == {}


async def test_pagerduty_pages_a_breached_case_until_it_is_resolved() -> None:
    async with running(PagerDutyEvents()) as pager:
        key = (pager.routing_key,)
        await send(Channel.PAGERDUTY, pager, key)
        assert list(pager.open) == ["winback/case/42"]
        assert "Dana" not in str(pager.accepted[0].json())
        await send(Channel.PAGERDUTY, pager, key, resolved(DELIVERY))
        assert pager.open == {}


async def test_pagerduty_refuses_a_bad_routing_key_and_throttles() -> None:
    async with running(PagerDutyEvents()) as pager:
        refused = await send(Channel.PAGERDUTY, pager, ("wrong",), UNWATCHED)
        assert refused.verdict is Verdict.REFUSED and refused.status == 400
        assert refused.error is not None and "Invalid routing key" in refused.error
        pager.fail_next(429, 503)
        for status in (429, 503):
            outcome = await send(Channel.PAGERDUTY, pager, (pager.routing_key,), UNWATCHED)
            assert (outcome.verdict, outcome.status) == (Verdict.RETRY, status)


async def test_chat_tells_of_an_unwatched_queue_with_a_link_to_the_ops_page() -> None:
    async with running(SlackWebhook()) as slack, running(TeamsWorkflow()) as teams:
        assert (await send(Channel.SLACK, slack, delivery=UNWATCHED)).verdict is Verdict.DELIVERED
        assert (await send(Channel.TEAMS, teams, delivery=UNWATCHED)).verdict is Verdict.DELIVERED
    assert "No console is watching queue billing" in slack.accepted[0].json()["text"]
    card = teams.accepted[0].json()["attachments"][0]["content"]
    assert card["actions"][0]["url"] == "https://winback.example.com/ops"
