"""A consumer group's coordinator being elected is logged at INFO, unless the wait goes on.

On a fresh broker the first consumers ask for their group's coordinator before the broker has
created ``__consumer_offsets`` and elected its leaders; the answer is "not available", aiokafka
logs it at ERROR ("Group Coordinator Request failed"; "Heartbeat send request failed" while the
coordinator is unknown) and asks again until it has one, which takes a second or two. Every
fresh ``make run`` so wrote an ERROR in ``outbound.log`` that nobody needed to act on. Raising
aiokafka's logger to CRITICAL would hide the same error when the coordinator never comes (a
broken ``__consumer_offsets``, a cluster short of brokers); so a wait is logged at INFO for its
first :data:`ELECTION_GRACE_SECONDS`, then at ERROR as aiokafka meant it (and collapsed by
:mod:`winback_shared.log_repeats`).

A wait is a run of these records no further than :data:`WAIT_GAP_SECONDS` apart (aiokafka asks
again every 100 ms); after a longer quiet the coordinator was found, and the next failure starts
a new wait with a new grace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka.errors import (
    GroupCoordinatorNotAvailableError,
    GroupLoadInProgressError,
    NotCoordinatorForGroupError,
)

COORDINATOR_LOGGER = "aiokafka.consumer.group_coordinator"
LOOKUP_FAILED = "Group Coordinator Request failed: %s"
HEARTBEAT_UNSENT = "Heartbeat send request failed: %s. Will retry."
WAIT_MESSAGES = frozenset({LOOKUP_FAILED, HEARTBEAT_UNSENT})
"""aiokafka's ERROR templates (``record.msg``) that carry an election's error: a failed lookup,
and a heartbeat it could not send because the coordinator is unknown meanwhile."""
ELECTION_ERRORS = (
    GroupCoordinatorNotAvailableError,
    GroupLoadInProgressError,
    NotCoordinatorForGroupError,
)
"""The answers a broker gives while the group's coordinator is being elected or loaded."""
ELECTION_GRACE_SECONDS = 30.0
"""A fresh single broker elects in a second or two, a loaded one in a few; past half a minute
the wait is no longer a start-up transient."""
WAIT_GAP_SECONDS = 10.0


def is_election_wait(record: logging.LogRecord) -> bool:
    """Whether ``record`` is aiokafka failing to find a coordinator that is being elected."""
    return (
        record.name == COORDINATOR_LOGGER
        and record.msg in WAIT_MESSAGES
        and isinstance(record.args, tuple)
        and len(record.args) == 1
        and isinstance(record.args[0], ELECTION_ERRORS)
    )


@dataclass
class ElectionWait:
    """When the current wait for a coordinator began and when it was last reported."""

    grace: float = ELECTION_GRACE_SECONDS
    gap: float = WAIT_GAP_SECONDS
    started: float | None = None
    last: float | None = None

    def level(self, now: float, logged: int) -> int:
        """The level to write a lookup failure at ``now`` with (``logged``: aiokafka's)."""
        if self.started is None or self.last is None or now - self.last > self.gap:
            self.started = now
        self.last = now
        return logging.INFO if now - self.started < self.grace else logged


class ElectionFilter(logging.Filter):
    """Rewrites an election wait's records to INFO during the grace; passes every record."""

    def __init__(
        self, wait: ElectionWait | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.wait = wait or ElectionWait()
        self._clock = clock

    def filter(self, record: logging.LogRecord) -> bool:
        """Adjust ``record``'s level if it reports an election; never drop it."""
        if is_election_wait(record):
            record.levelno = self.wait.level(self._clock(), record.levelno)
            record.levelname = logging.getLevelName(record.levelno)
        return True


def quiet_coordinator_elections() -> None:
    """Install one :class:`ElectionFilter` on aiokafka's coordinator logger (again: replaced).

    On the logger, not a handler: it runs before any handler sees the record, so the repeat
    filter groups the record under the level it is written at.
    """
    logger = logging.getLogger(COORDINATOR_LOGGER)
    for existing in [f for f in logger.filters if isinstance(f, ElectionFilter)]:
        logger.removeFilter(existing)
    logger.addFilter(ElectionFilter())
