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
from urllib.parse import urlsplit

from winback_notifier.outbound.events import EventType, OutboundEvent


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


class EndpointError(ValueError):
    """An endpoint URL we refuse to send to; the message says why."""


def check_endpoint(url: str) -> str:
    """``url`` if deliveries may go there: HTTPS, or plain HTTP to this machine only.

    Case data is customer data: over plain HTTP it would cross the network readable. Loopback
    is the exception for development and tests (a receiver on the same machine).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise EndpointError("the endpoint must be an https:// URL with a host")
    if parts.username or parts.password:
        raise EndpointError("the endpoint URL must not carry credentials")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise EndpointError("plain http is allowed only to loopback (127.0.0.1, ::1, localhost)")
    return url


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
    url: str
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


def matches(subscription: Subscription, event: OutboundEvent) -> bool:
    """Whether ``subscription`` takes ``event``."""
    return (
        subscription.enabled
        and event.type in subscription.event_types
        and (not subscription.queues or event.queue in subscription.queues)
        and (subscription.max_priority is None or event.priority <= subscription.max_priority)
        and event.occurred_at >= subscription.created_at
    )
