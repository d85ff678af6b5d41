"""PagerDuty Events API v2 (``POST https://events.pagerduty.com/v2/enqueue``).

A page is an alert with a ``dedup_key``: ``trigger`` opens it (a repeat with the same key adds
nothing to an open alert), ``resolve`` closes it. Two kinds of pages:

- a queue nobody watches while P1 cases wait: ``queue.unwatched`` triggers and
  ``queue.watched`` resolves, keyed ``winback/unwatched/<queue>``;
- a case: ``case.opened`` and ``case.breached`` trigger, ``case.claimed``,
  ``case.resolved`` and ``case.closed`` resolve, keyed ``winback/case/<id>``
  (``case.recoded`` pages nobody).

The subscription's secret is the service integration's routing key. PagerDuty answers
``202 {"status": "success", "dedup_key": ...}``; ``400 {"status": "invalid event", "errors"}``
is refused (the same event would be refused again), ``429`` and 5xx are retried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from winback_notifier.outbound.channels.base import (
    Context,
    Delivery,
    OutboundRequest,
    Outcome,
    judge_status,
)
from winback_notifier.outbound.channels.message import chat_message
from winback_notifier.outbound.events import EventType

TRIGGERS = frozenset({EventType.CASE_OPENED, EventType.CASE_BREACHED, EventType.QUEUE_UNWATCHED})
RESOLVES = frozenset(
    {
        EventType.CASE_CLAIMED,
        EventType.CASE_RESOLVED,
        EventType.CASE_CLOSED,
        EventType.QUEUE_WATCHED,
    }
)
PAGED_EVENTS = TRIGGERS | RESOLVES
"""What a PagerDuty subscription may take (``service.subscribe`` checks)."""
SUMMARY_LIMIT = 1024
"""PagerDuty's limit on ``payload.summary``."""


def dedup_key(delivery: Delivery) -> str:
    """One alert per unwatched queue, one per case."""
    data = delivery.payload["data"]
    if delivery.event_type in (EventType.QUEUE_UNWATCHED, EventType.QUEUE_WATCHED):
        return f"winback/unwatched/{data['queue']}"
    return f"winback/case/{data['case']['case_id']}"


class PagerDutyChannel:
    """Events API v2 triggers and resolves."""

    def build(self, delivery: Delivery, context: Context) -> OutboundRequest:
        """The event POST (subscriptions take only ``PAGED_EVENTS``)."""
        routing_key = context.subscription.secrets[0]
        event: dict[str, Any] = {"routing_key": routing_key, "dedup_key": dedup_key(delivery)}
        if delivery.event_type in TRIGGERS:
            message = chat_message(delivery, context)
            event |= {
                "event_action": "trigger",
                "payload": {
                    "summary": message.headline[:SUMMARY_LIMIT],
                    "source": "winback",
                    "severity": "critical",
                    "component": f"queue {delivery.payload['data'].get('queue') or ''}".strip(),
                    "class": str(delivery.event_type),
                    "custom_details": dict(message.facts),
                },
                "client": "winback",
                "client_url": context.ops_link(),
                "links": [{"href": message.link, "text": "Open in winback"}],
            }
        else:
            event["event_action"] = "resolve"
        return OutboundRequest(
            url=context.subscription.url,
            body=json.dumps(event).encode(),
            headers={"content-type": "application/json"},
        )

    def judge(self, status: int, headers: Mapping[str, str], body: str) -> Outcome:
        """202 delivered; 400 refused; 429 and 5xx retried."""
        return judge_status(status, headers, body, client_errors_final=True)
