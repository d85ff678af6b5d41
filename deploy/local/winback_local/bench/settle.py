"""Before a consoles step: wait, bounded, until the refiner has nothing left to send a console.

Why: the refiner re-codes stored responses with the full model, and the full model adds a code
to the bench's comment, so it re-codes every bench case; each re-code is a case change that the
notifier sends to every console. A consoles step that overlaps a few hundred of them measures
the generator reading those frames, not one alert's fan-out (docs/performance.md, section 25).

What it waits for is read from the database, where the work is: responses whose current
revision the refiner has not coded (``survey_responses.refine_pending``, cleared in the
transaction that re-codes), and case changes the notifier's outbox has not sent yet
(``case_history.published_at`` unset: a re-code reaches the consoles only through the outbox
sweep). Not the refiner's ``winback_refiner_pending`` gauge: it is set before each batch and not
at all while the refiner yields, so a zero there may predate responses the router has just
stored. The wait polls; it never sleeps a guessed time, and a step that starts unsettled says
so (:attr:`Settled.settled`).

The decision is pure (:func:`wait_until_settled`, the reading, clock and sleep passed in); the
reading is :func:`winback_local.bench.probes.refiner_backlog`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

SETTLE_POLL_SECONDS = 1.0
"""How often the wait reads the two counts (two index-only counts: nothing the stack notices)."""


@dataclass(frozen=True)
class Backlog:
    """What the refiner still owes the consoles."""

    to_refine: int
    """Responses the refiner has not coded in their current revision yet."""
    unsent: int
    """Case changes (re-codes among them) the notifier's outbox has not published yet."""

    @property
    def empty(self) -> bool:
        """Nothing left that could reach a console during the step."""
        return self.to_refine == 0 and self.unsent == 0

    def text(self) -> str:
        """``N to refine · M unsent``."""
        return f"{self.to_refine:,} to refine · {self.unsent:,} unsent"


@dataclass(frozen=True)
class Settled:
    """How the wait before one step went."""

    settled: bool
    """The backlog was seen empty before the step (False: the wait ran out, or never read)."""
    seconds: float
    first: Backlog | None
    """The backlog when the wait began (None: it could not be read)."""
    last: Backlog | None
    """The backlog last read: empty when settled, what was left when the wait ran out."""

    def text(self) -> str:
        """A table cell: what there was, and how long it took to clear (or what was left)."""
        if self.settled:
            if self.first is None or self.first.empty:
                return "nothing pending"
            return f"{self.first.text()}: settled in {self.seconds:.1f} s"
        if self.last is None:
            return f"NOT READ in {self.seconds:.0f} s"
        return f"NOT SETTLED after {self.seconds:.0f} s: {self.last.text()} left"


def wait_until_settled(
    read: Callable[[], Backlog | None],
    timeout: float,
    *,
    poll: float = SETTLE_POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Settled:
    """Read the backlog every ``poll`` seconds until it is empty or ``timeout`` has passed.

    ``read`` returns None when it could not read (the database restarting, say): that counts as
    not settled yet, never as empty. The last look is taken at the deadline, so a backlog that
    clears just in time still counts.
    """
    started = clock()
    deadline = started + timeout
    first: Backlog | None = None
    last: Backlog | None = None
    while True:
        backlog = read()
        if backlog is not None:
            last = backlog
            if first is None:
                first = backlog
            if backlog.empty:
                return Settled(True, clock() - started, first, backlog)
        now = clock()
        if now >= deadline:
            return Settled(False, now - started, first, last)
        sleep(min(poll, deadline - now))
