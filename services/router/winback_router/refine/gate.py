"""The refiner's gate: looks at the hot path before each batch and says whether to go on.

It joins the lag probe (:mod:`~winback_router.refine.hot_path`) to the pure decision
(:mod:`~winback_router.refine.pause`) and keeps the metrics that show the refiner's state.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

from winback_router.refine.metrics import PAUSED, PAUSED_SECONDS, ROUTER_LAG, SMALL_BATCHES
from winback_router.refine.pause import RUNNING, Step, YieldPolicy, decide

log = logging.getLogger("winback.refiner")


class LagProbe(Protocol):
    """What the gate needs from a probe: the hot path's lag now, None when unknown."""

    async def lag(self) -> int | None: ...


class HotPathGate:
    """``step()`` before each batch (and between the chunks of one): refine, wait or trickle."""

    def __init__(
        self,
        probe: LagProbe,
        policy: YieldPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._policy = policy
        self._clock = clock
        self._state = RUNNING
        self._last = clock()
        PAUSED.set(0)

    @property
    def paused(self) -> bool:
        """Whether the refiner is yielding now."""
        return self._state.paused

    async def step(self) -> Step:
        """Measure the lag, decide, and count the time spent paused since the last look."""
        lag = await self._probe.lag()
        now = self._clock()
        if self._state.paused:
            PAUSED_SECONDS.inc(max(0.0, now - self._last))
        self._last = now
        was_paused = self._state.paused
        self._state, step = decide(self._policy, self._state, lag, now)
        if self._state.paused != was_paused:
            log.info(
                "paused for the hot path" if self._state.paused else "resumed",
                extra={"fields": {"router_lag": lag}},
            )
        ROUTER_LAG.set(math.nan if lag is None else lag)
        PAUSED.set(int(self._state.paused))
        if step is Step.TRICKLE:
            SMALL_BATCHES.inc()
        return step
