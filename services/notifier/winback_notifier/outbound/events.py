"""Which case events leave the building, and what they carry: pure, no I/O.

Two topics hold them: a case opening is the router's alert on ``recovery-alerts``; everything
after it is a ``case.changed`` on ``case-events`` (the notifier's outbox guarantees each change
gets there). Only the changes someone outside may act on become outbound events; the rest
(notes, contact attempts, revisions ...) stay inside.

An event's key is its case and ``seq``: the same change read twice (Kafka hands records over at
least once) has the same key, and the delivery table keeps one delivery per key and
subscription.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from winback_shared.case_vocabulary import HistoryKind
from winback_shared.events.case_events import CaseChanged
from winback_shared.events.recovery_alerts import RecoveryCaseOpened


class EventType(StrEnum):
    """What a subscription may ask for."""

    CASE_OPENED = "case.opened"
    CASE_CLAIMED = "case.claimed"
    CASE_BREACHED = "case.breached"
    CASE_RESOLVED = "case.resolved"
    CASE_CLOSED = "case.closed"
    CASE_RECODED = "case.recoded"
    QUEUE_UNWATCHED = "queue.unwatched"
    """No console watches a queue while P1 cases wait in it (``floor_watch``)."""
    QUEUE_WATCHED = "queue.watched"
    """A queue announced unwatched is watched again, or has no P1 case waiting any more."""


QUEUE_EVENTS = frozenset({EventType.QUEUE_UNWATCHED, EventType.QUEUE_WATCHED})


OUTBOUND_KINDS: dict[HistoryKind, EventType] = {
    HistoryKind.CLAIMED: EventType.CASE_CLAIMED,
    HistoryKind.SLA_BREACHED: EventType.CASE_BREACHED,
    HistoryKind.RESOLVED: EventType.CASE_RESOLVED,
    HistoryKind.CLOSED: EventType.CASE_CLOSED,
    HistoryKind.RECODED: EventType.CASE_RECODED,
}
"""The history kinds that become outbound events (the opening comes from the alert)."""


@dataclass(frozen=True)
class OutboundEvent:
    """One event to offer to the subscriptions; ``payload`` is the Standard Webhooks body."""

    type: EventType
    key: str
    case_id: int | None
    """``None`` for an event about a queue."""
    queue: str
    priority: int
    occurred_at: datetime
    payload: dict[str, Any]


def event_key(case_id: int, seq: int) -> str:
    """The identity of a case's change: the same for every copy Kafka delivers."""
    return f"case:{case_id}:{seq}"


def _payload(event_type: EventType, occurred_at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    # The Standard Webhooks payload shape: type, timestamp, data.
    return {"type": str(event_type), "timestamp": occurred_at.isoformat(), "data": data}


def from_alert(alert: RecoveryCaseOpened) -> OutboundEvent:
    """The ``case.opened`` event of the router's alert."""
    case = alert.case
    return OutboundEvent(
        type=EventType.CASE_OPENED,
        key=event_key(case.case_id, case.seq),
        case_id=case.case_id,
        queue=case.queue,
        priority=case.priority,
        occurred_at=case.opened_at,
        payload=_payload(
            EventType.CASE_OPENED, case.opened_at, {"case": case.model_dump(mode="json")}
        ),
    )


def from_change(changed: CaseChanged) -> OutboundEvent | None:
    """The outbound event of a case change, or ``None`` when the change stays inside."""
    event_type = OUTBOUND_KINDS.get(changed.change.kind)
    if event_type is None:
        return None
    case, change = changed.case, changed.change
    return OutboundEvent(
        type=event_type,
        key=event_key(case.case_id, change.seq),
        case_id=case.case_id,
        queue=case.queue,
        priority=case.priority,
        occurred_at=change.occurred_at,
        payload=_payload(
            event_type,
            change.occurred_at,
            {"case": case.model_dump(mode="json"), "change": change.model_dump(mode="json")},
        ),
    )


def queue_event(
    event_type: EventType, *, queue: str, since: datetime, waiting: int, occurred_at: datetime
) -> OutboundEvent:
    """A ``queue.unwatched`` or ``queue.watched`` event; one key per unwatched spell, so each
    spell is announced (and ended) once whichever outbound instance noticed it."""
    spell = f"queue:{queue}:{since.timestamp():.6f}"
    watched = event_type is EventType.QUEUE_WATCHED
    return OutboundEvent(
        type=event_type,
        key=f"{spell}:watched" if watched else spell,
        case_id=None,
        queue=queue,
        priority=1,
        occurred_at=occurred_at,
        payload=_payload(
            event_type,
            occurred_at,
            {"queue": queue, "unwatched_since": since.isoformat(), "waiting_p1": waiting},
        ),
    )
