"""Settings of the outbound process (``WINBACK_OUTBOUND_*``, plus the common ones)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from winback_notifier.outbound.retry import RetryPolicy
from winback_notifier.outbound.safety import WithOutboundSafety
from winback_notifier.outbound.sender import SenderConfig
from winback_shared.settings import CommonSettings


class OutboundSettings(CommonSettings, WithOutboundSafety):
    """Where case events are read from, how hard deliveries are tried, where they may go and
    the keys of the sealed secrets (:class:`WithOutboundSafety`)."""

    outbound_group: str = "winback-outbound"
    """The consumer group reading ``recovery-alerts`` and ``case-events``: every outbound
    instance joins it, so each record is recorded by one of them."""
    console_url: str = "http://127.0.0.1:8002"
    """The console's address as people reach it; chat notices link to ``/#case=ID`` there."""
    outbound_retry_base_seconds: Annotated[float, Field(gt=0)] = 2.0
    """The first retry waits up to this long; each further one up to twice as long."""
    outbound_retry_cap_seconds: Annotated[float, Field(gt=0)] = 900.0
    """No retry waits longer than this (15 minutes)."""
    outbound_max_attempts: Annotated[int, Field(ge=1, le=100)] = 16
    """Attempts before a delivery is dead. At the defaults the waits between them add up to
    at most 6,422 s (about 1 h 47 min); with full jitter about half that on average."""
    outbound_breaker_failures: Annotated[int, Field(ge=1)] = 5
    """Consecutive failures that open an endpoint's circuit."""
    outbound_breaker_cooldown_seconds: Annotated[float, Field(gt=0)] = 30.0
    """How long an open circuit leaves its endpoint alone before one probe."""
    outbound_request_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    """One attempt's time limit, connection included."""
    outbound_lease_seconds: Annotated[float, Field(gt=0)] = 60.0
    """A leased delivery is due again after this if its sender died; above the timeout."""
    outbound_poll_seconds: Annotated[float, Field(gt=0)] = 5.0
    """The longest a sender sleeps without looking at its table (new events wake it sooner;
    subscriptions added by the API or CLI are found within this)."""

    outbound_digest_seconds: Annotated[float, Field(gt=0)] = 900.0
    """An e-mail subscription gets at most one digest this often (15 minutes)."""
    outbound_watch_seconds: Annotated[float, Field(gt=0)] = 10.0
    """How often queues are checked for P1 cases waiting with no console watching."""
    outbound_unwatched_after_seconds: Annotated[float, Field(ge=0)] = 60.0
    """A P1 case counts as waiting once it has been open this long (a console that is just
    reconnecting, or a case an agent takes at once, pages nobody)."""
    outbound_presence_stale_seconds: Annotated[float, Field(gt=0)] = 45.0
    """A notifier's console counts older than this count for nothing (it reports every
    ``WINBACK_FLOOR_GAUGES_INTERVAL_SECONDS``, 15 s by default; keep this a few times that)."""

    def retry_policy(self) -> RetryPolicy:
        """The retry schedule these settings describe."""
        return RetryPolicy(
            base_seconds=self.outbound_retry_base_seconds,
            cap_seconds=self.outbound_retry_cap_seconds,
            max_attempts=self.outbound_max_attempts,
        )

    def sender_config(self) -> SenderConfig:
        """How the senders try, as these settings say."""
        return SenderConfig(
            policy=self.retry_policy(),
            console_url=self.console_url,
            breaker_failures=self.outbound_breaker_failures,
            breaker_cooldown=self.outbound_breaker_cooldown_seconds,
            lease_seconds=self.outbound_lease_seconds,
            poll_seconds=self.outbound_poll_seconds,
            timeout=self.outbound_request_timeout_seconds,
            digest_seconds=self.outbound_digest_seconds,
            targets=self.target_policy(),
            secret_box=self.secret_box(),
        )
