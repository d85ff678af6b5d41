"""Which pieces the harness kills, in which order, and how long each stays down.

Pure data: the runner executes a plan, the tests read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Target(StrEnum):
    """A piece of the stack that runs as its own process."""

    ROUTER = "router"
    NOTIFIER = "notifier"
    INGEST = "ingest"
    POSTGRES = "postgres"
    BROKER = "broker"
    """The only broker (an outage), or in a cluster the leader of the ingest topic's partition 0."""


@dataclass(frozen=True)
class Fault:
    """SIGKILL ``target``, leave it down ``down_seconds``, restart it."""

    target: Target
    down_seconds: float


@dataclass(frozen=True)
class Plan:
    """A run: load alone for ``warmup_seconds``, then each fault followed by ``gap_seconds``."""

    faults: tuple[Fault, ...]
    warmup_seconds: float
    gap_seconds: float
    drain_seconds: float
    """After the load stops: how long to wait for stored responses and console frames."""


FULL = Plan(
    faults=(
        Fault(Target.ROUTER, 3),
        Fault(Target.ROUTER, 3),
        Fault(Target.ROUTER, 3),
        Fault(Target.BROKER, 15),
        Fault(Target.POSTGRES, 5),
        Fault(Target.NOTIFIER, 5),
        Fault(Target.INGEST, 3),
    ),
    warmup_seconds=10,
    gap_seconds=15,
    drain_seconds=60,
)

SHORT = Plan(
    faults=(Fault(Target.ROUTER, 2), Fault(Target.NOTIFIER, 2)),
    warmup_seconds=4,
    gap_seconds=6,
    drain_seconds=20,
)
