"""Stopping the router when most traffic suddenly dead-letters.

One bad payload is a dead letter; most payloads failing at once is a bad deploy or a broken
field map, and dead-lettering everything would bury the real cases in a pile ops must replay.
So the router keeps the outcome of the last ``window`` records and refuses to go on when the
share of dead letters passes ``max_ratio``: the batch is not committed, the process exits with a
clear error, and once the cause is fixed the records are processed from where it stopped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field


class DeadLetterFlood(Exception):
    """Too many recent records could not be normalised; stop instead of dead-lettering them."""


@dataclass
class FloodGuard:
    """A sliding window over recent outcomes (``True`` = dead-lettered)."""

    window: int = 200
    max_ratio: float = 0.5
    min_records: int = 50
    _recent: deque[bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.max_ratio <= 1 or self.min_records > self.window:
            raise ValueError("need 0 < max_ratio <= 1 and min_records <= window")
        self._recent = deque(maxlen=self.window)

    def check(self, outcomes: Iterable[bool]) -> None:
        """Add a batch's outcomes; raise ``DeadLetterFlood`` if the window is over the limit.

        The window is only updated when the batch passes, so a retried batch is not counted
        twice and a stopped router's last window describes what stopped it.
        """
        candidate = deque(self._recent, maxlen=self.window)
        candidate.extend(outcomes)
        failed = sum(candidate)
        if len(candidate) >= self.min_records and failed / len(candidate) > self.max_ratio:
            raise DeadLetterFlood(
                f"{failed} of the last {len(candidate)} records could not be normalised "
                f"(limit {self.max_ratio:.0%}); stopping instead of dead-lettering them all. "
                "Check recent changes to adapters and field maps, then restart: nothing was "
                "committed past the last good batch."
            )
        self._recent = candidate
