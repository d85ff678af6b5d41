"""What every channel shares: the delivery to send, the request it becomes, how it went.

A channel adapter is two pure functions: ``build`` turns a delivery into an HTTP request in the
vendor's shape, ``judge`` reads the vendor's answer into an :class:`Outcome`. The sender does
the I/O; so every vendor's shapes and error codes are tested without a network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Protocol

from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.subscriptions import Subscription


@dataclass(frozen=True)
class Delivery:
    """A leased ``outbound_deliveries`` row: one event for one subscription."""

    id: int
    webhook_id: str
    event_type: EventType
    case_id: int | None
    payload: dict[str, Any]
    attempts: int = 0
    """Attempts made before this one."""


@dataclass(frozen=True)
class OutboundRequest:
    """An HTTP request to make (a POST, but for a helpdesk's ticket update)."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"


class Verdict(StrEnum):
    """``delivered``; ``retry`` later; ``refused`` for good (dead at once, replayable)."""

    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


@dataclass(frozen=True)
class Outcome:
    """How one attempt went."""

    verdict: Verdict
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    """Seconds the endpoint asked us to wait (``Retry-After``)."""


@dataclass(frozen=True)
class Context:
    """What a request is built with besides the delivery."""

    subscription: Subscription
    now: datetime
    console_url: str
    """The console's public address; chat messages link to ``{console_url}/#case=ID``."""

    def case_link(self, case_id: int) -> str:
        """The console link that opens the case."""
        return f"{self.console_url.rstrip('/')}/#case={case_id}"

    def ops_link(self) -> str:
        """The ops page (queues, consoles, breaches)."""
        return f"{self.console_url.rstrip('/')}/ops"


class ChannelAdapter(Protocol):
    """One channel's request shape and reading of answers."""

    def build(self, delivery: Delivery, context: Context) -> OutboundRequest:
        """The request for this delivery (called again on every attempt)."""
        ...

    def judge(self, status: int, headers: Mapping[str, str], body: str) -> Outcome:
        """The outcome of an answer (transport failures never reach here: they are retried)."""
        ...


RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""Client errors that say "later", not "never"; every 5xx says so too."""


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), ``None`` if absent or bad."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def judge_status(
    status: int, headers: Mapping[str, str], body: str, *, client_errors_final: bool
) -> Outcome:
    """The common reading: 2xx delivered, 408/425/429/5xx retried (``Retry-After`` kept), 410
    refused; other 4xx refused when ``client_errors_final`` (the vendor documents them as
    permanent), retried otherwise."""
    if 200 <= status < 300:
        return Outcome(Verdict.DELIVERED, status)
    error = f"HTTP {status}: {body[:200]}".strip()
    if status in RETRYABLE_STATUSES or status >= 500:
        return Outcome(Verdict.RETRY, status, error, retry_after(headers))
    if status == 410 or client_errors_final:
        return Outcome(Verdict.REFUSED, status, error)
    return Outcome(Verdict.RETRY, status, error, retry_after(headers))
