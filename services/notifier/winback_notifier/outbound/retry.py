"""When to try a failed delivery again, and when to stop trying an endpoint for a while.

Retries are rows in PostgreSQL with a ``next_attempt_at``, not a loop in memory: a retry must
survive a restart and must not hold a sender while it waits. So the retry library the router
uses (tenacity) does not fit, it retries a call in place; what is kept from it is the schedule,
exponential backoff with full jitter (each wait drawn between 0 and the exponential ceiling, so
the retries of an outage's many deliveries do not arrive together when the endpoint returns).

The circuit breaker is per endpoint and in memory (each outbound instance learns on its own):
after ``failures`` consecutive failures the endpoint is left alone for ``cooldown`` seconds,
then one delivery probes it; success closes the circuit, failure opens it again. While it is
open, nothing of that endpoint is leased, so its deliveries wait in the table, and the other
endpoints' senders never notice. The available breaker libraries wrap a call and raise while
open; here the question is asked before leasing work, so a small state machine is clearer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, up to ``max_attempts`` attempts in all."""

    base_seconds: float = 2.0
    cap_seconds: float = 900.0
    max_attempts: int = 16

    def delay(
        self, attempts: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds before the next attempt, after ``attempts`` failed ones (1 or more).

        A ``Retry-After`` the endpoint sent is a floor: asking sooner would only be refused.
        """
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1))
        drawn = (rng or random).uniform(0, ceiling)
        return max(drawn, retry_after or 0.0)

    def gives_up(self, attempts: int) -> bool:
        """Whether ``attempts`` failed attempts are the last (the delivery is then dead)."""
        return attempts >= self.max_attempts


class BreakerState(StrEnum):
    """``closed``: deliver; ``open``: leave the endpoint alone; ``half_open``: one probe."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """One endpoint's breaker; times are the caller's monotonic clock, in seconds."""

    def __init__(self, failures: int = 5, cooldown: float = 30.0) -> None:
        self._threshold = failures
        self._cooldown = cooldown
        self._failures = 0
        self._opened_at: float | None = None

    def state(self, now: float) -> BreakerState:
        """Where the breaker stands at ``now``."""
        if self._opened_at is None:
            return BreakerState.CLOSED
        if now - self._opened_at < self._cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def wait(self, now: float) -> float:
        """Seconds until deliveries may be tried (0: now)."""
        if self.state(now) is not BreakerState.OPEN:
            return 0.0
        assert self._opened_at is not None
        return self._opened_at + self._cooldown - now

    def allowed(self, now: float, wanted: int) -> int:
        """How many deliveries may go now, of ``wanted``: all, none, or one probe."""
        state = self.state(now)
        if state is BreakerState.OPEN:
            return 0
        return min(wanted, 1) if state is BreakerState.HALF_OPEN else wanted

    def succeeded(self) -> None:
        """The endpoint answered well: close the circuit."""
        self._failures = 0
        self._opened_at = None

    def failed(self, now: float) -> None:
        """The endpoint failed (unreachable, 5xx, 429): count it; open at the threshold."""
        self._failures += 1
        if self._failures >= self._threshold or self._opened_at is not None:
            self._opened_at = now
