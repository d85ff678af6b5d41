"""Per-source rate limiting: a token bucket per source, in this process's memory.

A misbehaving or compromised sender must not crowd out the others or flood the router. The
bucket is per ingest process; with N replicas a source gets N times the rate, which is the
honest trade for keeping the request path free of a shared store.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """``rate`` tokens per second refill up to ``burst``; each delivery takes one."""

    rate: float
    burst: int
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _buckets: dict[str, _Bucket] = field(default_factory=dict, repr=False)

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0 when allowed, else seconds until one is available."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(self.burst), updated=now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    @staticmethod
    def retry_after(wait_seconds: float) -> str:
        """A ``Retry-After`` header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait_seconds)))
