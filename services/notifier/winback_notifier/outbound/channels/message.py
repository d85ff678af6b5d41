"""The words of a chat notice, before Slack or Teams shapes them.

A chat channel is read by people beyond the agents, often on phones: the notice says what
happened, to which case, how urgent, and links to the console; it carries no customer name,
contact detail or comment (those stay behind the console's sign-in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from winback_notifier.outbound.channels.base import Context, Delivery
from winback_notifier.outbound.events import QUEUE_EVENTS, EventType

HEADLINES: dict[EventType, str] = {
    EventType.CASE_OPENED: "New P{priority} case #{case_id}",
    EventType.CASE_CLAIMED: "P{priority} case #{case_id} claimed",
    EventType.CASE_BREACHED: "P{priority} case #{case_id} breached its contact deadline",
    EventType.CASE_RESOLVED: "P{priority} case #{case_id} resolved",
    EventType.CASE_CLOSED: "P{priority} case #{case_id} closed",
    EventType.CASE_RECODED: "P{priority} case #{case_id} re-coded",
    EventType.QUEUE_UNWATCHED: "No console is watching queue {queue}: {waiting} P1 cases wait",
    EventType.QUEUE_WATCHED: "Queue {queue} is covered again",
}


@dataclass(frozen=True)
class ChatMessage:
    """A headline, a few facts, and the link to the case (or to the ops page)."""

    headline: str
    facts: list[tuple[str, str]]
    link: str


def chat_message(delivery: Delivery, context: Context) -> ChatMessage:
    """The notice for a delivery."""
    data: dict[str, Any] = delivery.payload["data"]
    if delivery.event_type in QUEUE_EVENTS:
        headline = HEADLINES[delivery.event_type].format(
            queue=data["queue"], waiting=data["waiting_p1"]
        )
        facts = [("Queue", str(data["queue"])), ("Unwatched since", str(data["unwatched_since"]))]
        return ChatMessage(headline, facts, context.ops_link())
    case: dict[str, Any] = data["case"]
    headline = HEADLINES[delivery.event_type].format(
        priority=case["priority"], case_id=case["case_id"]
    )
    facts = [("Queue", str(case["queue"])), ("Priority", f"P{case['priority']}")]
    reasons = [reason["label"] for reason in case.get("reasons") or []]
    if reasons:
        facts.append(("Reasons", ", ".join(reasons)))
    if case.get("owner"):
        facts.append(("Owner", str(case["owner"])))
    if case.get("contact_due_at"):
        facts.append(("Contact due", str(case["contact_due_at"])))
    return ChatMessage(headline, facts, context.case_link(case["case_id"]))
