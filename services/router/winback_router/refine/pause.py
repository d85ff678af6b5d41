"""When the refiner yields to the hot path: pure, no I/O, the clock passed in.

The signal is the router group's consumer lag on ``survey-responses``: records the brokers hold
that the router has not committed yet, i.e. work the hot path still owes a pop-up. The refiner
pauses when that lag reaches ``pause_lag`` (a full router batch by default: the router is
behind, not just busy) and resumes only once it has stayed at or below ``resume_lag`` for
``resume_after`` seconds, so it neither flaps within a burst nor restarts at its first lull.
While paused it still refines one small batch every ``max_pause`` seconds: a stack whose router
never catches up still sees its responses refined, slowly, and nothing waits forever.

docs/performance.md (section 11) has the measurements behind this choice and the defaults.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar


class Step(enum.Enum):
    """What the refiner does next."""

    REFINE = "refine"
    """Refine a full batch: the hot path is idle (or keeping up)."""
    WAIT = "wait"
    """Paused: look again after a short wait."""
    TRICKLE = "trickle"
    """Paused for ``max_pause``: refine one small batch anyway, then pause again."""


@dataclass(frozen=True)
class YieldPolicy:
    """The thresholds; ``resume_lag < pause_lag`` is the hysteresis."""

    pause_lag: int
    resume_lag: int
    resume_after: float
    """Seconds the lag must stay at or below ``resume_lag`` before the refiner resumes."""
    max_pause: float
    """Seconds paused before one small batch is refined anyway (the starvation bound)."""

    def __post_init__(self) -> None:
        if not 0 <= self.resume_lag < self.pause_lag:
            raise ValueError("resume_lag must be at least 0 and below pause_lag")
        if self.resume_after < 0 or self.max_pause <= 0:
            raise ValueError("resume_after must be at least 0 and max_pause above 0")


@dataclass(frozen=True)
class GateState:
    """Where the gate stands. ``paused_since`` is when the pause began or its last small
    batch ran (the starvation clock); ``calm_since`` when the lag last fell to the resume level
    while paused (None: it is above it)."""

    paused: bool = False
    paused_since: float = 0.0
    calm_since: float | None = None


RUNNING = GateState()


def decide(
    policy: YieldPolicy, state: GateState, lag: int | None, now: float
) -> tuple[GateState, Step]:
    """The next state and step, given the lag just measured at ``now`` (monotonic seconds).

    An unknown lag (``None``: the brokers did not answer) counts as none: without Kafka the
    router has nothing to do, so the refiner gives way to nobody by waiting.
    """
    current = 0 if lag is None else lag
    if not state.paused:
        if current >= policy.pause_lag:
            return GateState(paused=True, paused_since=now), Step.WAIT
        return state, Step.REFINE
    calm_since = state.calm_since
    if current > policy.resume_lag:
        calm_since = None
    elif calm_since is None:
        calm_since = now
    if calm_since is not None and now - calm_since >= policy.resume_after:
        return RUNNING, Step.REFINE
    if now - state.paused_since >= policy.max_pause:
        return GateState(paused=True, paused_since=now, calm_since=calm_since), Step.TRICKLE
    return GateState(paused=True, paused_since=state.paused_since, calm_since=calm_since), Step.WAIT


_P = TypeVar("_P")


def group_lag(ends: Mapping[_P, int], committed: Mapping[_P, int]) -> int:
    """Records on the partitions in ``ends`` (their end offsets) beyond the group's committed
    offsets. A partition the group never committed counts as none: no router has taken it yet,
    or the group is not the one this stack runs (nothing of the hot path to give way to).
    """
    return sum(
        max(0, end - committed[partition])
        for partition, end in ends.items()
        if partition in committed
    )
