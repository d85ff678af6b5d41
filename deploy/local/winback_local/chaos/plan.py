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


INFRASTRUCTURE = frozenset({Target.BROKER, Target.POSTGRES})
"""What no shared stack may lose: a plan that kills one of these needs a stack of its own."""


class Action(StrEnum):
    """What happens to the target."""

    KILL = "kill"
    """SIGKILL, wait ``down_seconds``, start the same instance again (a crash and a restart)."""
    LEAVE = "leave"
    """SIGKILL and never restart: an instance gone for good (scaled in, node lost)."""
    JOIN = "join"
    """Start one more instance of the target's service (scaled out)."""


@dataclass(frozen=True)
class Fault:
    """One step: by default SIGKILL ``target``, leave it down ``down_seconds``, restart it.

    ``instance`` names which of several (``router-2``; default the first, named like the
    service); for :attr:`Action.JOIN` it is the new instance's name.
    """

    target: Target
    down_seconds: float
    action: Action = Action.KILL
    instance: str | None = None


@dataclass(frozen=True)
class Plan:
    """A run: load alone for ``warmup_seconds``, then each fault followed by ``gap_seconds``."""

    faults: tuple[Fault, ...]
    warmup_seconds: float
    gap_seconds: float
    drain_seconds: float
    """After the load stops: how long to wait for stored responses and console frames."""

    @property
    def kills_infrastructure(self) -> bool:
        """Whether a fault hits the broker or PostgreSQL (then only a private stack will do)."""
        return any(fault.target in INFRASTRUCTURE for fault in self.faults)


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

SCALE = Plan(
    faults=(
        Fault(Target.ROUTER, 0, Action.LEAVE, "router-2"),
        Fault(Target.ROUTER, 0, Action.JOIN, "router-4"),
        Fault(Target.ROUTER, 2, Action.KILL, "router-3"),
        Fault(Target.NOTIFIER, 2, Action.KILL, "notifier-2"),
    ),
    warmup_seconds=5,
    gap_seconds=8,
    drain_seconds=40,
)
"""Issue 16's several-of-each run, on 2 ingest, 3 router and 2 notifier instances: a router
leaves for good, a new one joins, another crashes and restarts, a notifier crashes and restarts;
every response must still be handled exactly once and every console, whichever notifier it is
connected to, must see every case."""
