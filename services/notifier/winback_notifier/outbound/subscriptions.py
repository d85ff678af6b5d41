"""What a subscription is and which events it takes: pure rules, no I/O.

A subscription sends chosen event types (``case.breached`` ...) of chosen cases (queues, a
priority ceiling) to one endpoint through one channel: a signed webhook, a Slack incoming
webhook, a Teams workflow webhook, or PagerDuty's Events API. It only takes events that happened
after it was created, so a new subscription is not flooded with the history Kafka still holds.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from winback_notifier.outbound.events import EventType, OutboundEvent
from winback_notifier.outbound.targets import EndpointError, TargetPolicy

__all__ = ["Channel", "EndpointError", "Subscription", "check_endpoint", "is_loopback", "matches"]


class Channel(StrEnum):
    """How a delivery is shaped and judged (:mod:`winback_notifier.outbound.channels`)."""

    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"
    PAGERDUTY = "pagerduty"
    EMAIL = "email"
    """A digest over SMTP (:mod:`winback_notifier.outbound.digest`), not one message per event."""
    ZENDESK = "zendesk"
    """A Zendesk ticket per case, kept in step (:mod:`winback_notifier.outbound.zendesk_sync`)."""


LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


def check_endpoint(url: str, policy: TargetPolicy) -> str:
    """``url`` if deliveries may go there by ``policy``: HTTPS (plain HTTP only to the hosts it
    names), no credentials in it, no internal host it does not allow (see
    :mod:`winback_notifier.outbound.targets`; resolved addresses are checked per delivery)."""
    return policy.check_url(url)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Subscription:
    """A stored subscription (``outbound_subscriptions``)."""

    id: int
    name: str
    channel: Channel
    url: str = field(repr=False)
    """Sealed at rest when keys are configured (:mod:`winback_notifier.outbound.sealing`)."""
    event_types: frozenset[EventType]
    created_at: datetime
    queues: frozenset[str] = frozenset()
    """Empty: every queue."""
    max_priority: int | None = None
    """Only cases at least this urgent (1 = P1 only); ``None``: every priority."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Webhook secrets, newest first (two during a rotation); PagerDuty's routing key."""
    max_in_flight: int = 4
    enabled: bool = True
    url_shown: str = ""
    """The URL as admins see it (a Slack or Teams URL is a credential: its host only)."""


def matches(subscription: Subscription, event: OutboundEvent) -> bool:
    """Whether ``subscription`` takes ``event``."""
    return (
        subscription.enabled
        and event.type in subscription.event_types
        and (not subscription.queues or event.queue in subscription.queues)
        and (subscription.max_priority is None or event.priority <= subscription.max_priority)
        and event.occurred_at >= subscription.created_at
    )
