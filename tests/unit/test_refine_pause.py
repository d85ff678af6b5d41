"""When the refiner yields to the hot path, without I/O: the router group's lag in, pause or
resume out, with hysteresis and the starvation bound; and the gate's metrics."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import asyncpg
import pytest
from prometheus_client import REGISTRY

from tests.recode_support import survey_response
from winback_router.coding import code_responses
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.learned import FAST_MODEL
from winback_router.recoding.plan import StoredCoding
from winback_router.recoding.report import Summary
from winback_router.refine.gate import HotPathGate
from winback_router.refine.loop import Refiner
from winback_router.refine.pause import (
    RUNNING,
    GateState,
    Step,
    YieldPolicy,
    decide,
    group_lag,
)
from winback_router.refine.select import Pending

POLICY = YieldPolicy(pause_lag=200, resume_lag=50, resume_after=5.0, max_pause=30.0)


def run(lags: Iterable[tuple[float, int | None]], policy: YieldPolicy = POLICY) -> list[Step]:
    """The steps for a series of (time, lag) looks, from a running refiner."""
    state = RUNNING
    steps = []
    for now, lag in lags:
        state, step = decide(policy, state, lag, now)
        steps.append(step)
    return steps


def test_it_refines_while_the_router_keeps_up_and_pauses_once_a_batch_is_waiting() -> None:
    assert run([(0, 0), (1, 120), (2, 199)]) == [Step.REFINE] * 3
    state, step = decide(POLICY, RUNNING, 200, 3.0)
    assert step is Step.WAIT and state == GateState(paused=True, paused_since=3.0)


def test_hysteresis_a_lag_between_the_two_levels_keeps_each_state() -> None:
    # Running: 150 is no reason to pause; paused: 150 is no reason to resume.
    assert run([(0, 150), (1, 150)]) == [Step.REFINE, Step.REFINE]
    assert run([(0, 300), (1, 150), (2, 150), (10, 150), (20, 150)]) == [Step.WAIT] * 5


def test_it_resumes_only_after_the_lag_stayed_low_for_resume_after() -> None:
    looks = [(0, 300), (1, 40), (3, 0), (5.9, 10), (6.0, 50)]
    assert run(looks) == [Step.WAIT, Step.WAIT, Step.WAIT, Step.WAIT, Step.REFINE]


def test_a_rise_while_calming_restarts_the_calm_period() -> None:
    looks = [(0, 300), (1, 0), (4, 51), (5, 0), (9, 0), (10, 0)]
    assert run(looks) == [Step.WAIT] * 5 + [Step.REFINE]


def test_after_the_longest_pause_one_small_batch_then_the_pause_starts_again() -> None:
    looks = [(0, 500), (29.9, 500), (30, 500), (31, 500), (59.9, 500), (60, 500), (90, 500)]
    assert run(looks) == [
        Step.WAIT,
        Step.WAIT,
        Step.TRICKLE,
        Step.WAIT,
        Step.WAIT,
        Step.TRICKLE,
        Step.TRICKLE,
    ]


def test_under_a_lag_that_never_ends_the_refiner_still_makes_progress() -> None:
    """Looked at every half second for an hour of constant overload: one small batch each
    ``max_pause``, never more often, never fewer."""
    steps = run((t / 2, 10_000) for t in range(1, 7201))
    assert steps.count(Step.TRICKLE) == 3600 // 30 - 1
    assert Step.REFINE not in steps


def test_a_calm_spell_shorter_than_resume_after_does_not_reset_the_starvation_clock() -> None:
    looks = [(0, 500), (27, 0), (30, 0), (31, 500)]
    assert run(looks) == [Step.WAIT, Step.WAIT, Step.TRICKLE, Step.WAIT]


def test_an_unknown_lag_counts_as_none() -> None:
    """Kafka away: the router has nothing to do either, so the refiner does not wait for it."""
    assert run([(0, None), (1, None)]) == [Step.REFINE, Step.REFINE]
    assert run([(0, 300), (1, None), (6, None)]) == [Step.WAIT, Step.WAIT, Step.REFINE]


def test_a_resume_after_of_zero_resumes_at_the_first_low_look() -> None:
    policy = YieldPolicy(pause_lag=10, resume_lag=0, resume_after=0, max_pause=1)
    assert run([(0, 10), (0.5, 1), (0.6, 0)], policy) == [Step.WAIT, Step.WAIT, Step.REFINE]


@pytest.mark.parametrize(
    ("pause_lag", "resume_lag", "resume_after", "max_pause"),
    [(100, 100, 5, 30), (100, 150, 5, 30), (100, -1, 5, 30), (100, 10, -1, 30), (100, 10, 5, 0)],
)
def test_a_policy_without_hysteresis_or_bound_is_refused(
    pause_lag: int, resume_lag: int, resume_after: float, max_pause: float
) -> None:
    with pytest.raises(ValueError):
        YieldPolicy(pause_lag, resume_lag, resume_after, max_pause)


def test_group_lag_counts_only_the_partitions_the_group_committed() -> None:
    ends = {0: 1_000, 1: 500, 2: 70, 3: 40}
    committed = {0: 900, 1: 500, 2: 80}  # 2: an end read before the commit; 3: never committed
    assert group_lag(ends, committed) == 100
    assert group_lag(ends, {}) == 0


class FakeProbe:
    def __init__(self, lags: list[int | None]) -> None:
        self.lags = lags

    async def lag(self) -> int | None:
        return self.lags.pop(0)


class FakeClock:
    def __init__(self, times: list[float]) -> None:
        self.times = times

    def __call__(self) -> float:
        return self.times.pop(0)


def metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None
    return value


async def test_the_gate_shows_its_state_and_counts_the_seconds_paused() -> None:
    probe = FakeProbe([0, 400, 400, 400, 0, 0])
    gate = HotPathGate(probe, POLICY, clock=FakeClock([0, 1, 2, 12, 32, 33, 38]))
    paused_before = metric("winback_refiner_paused_seconds_total")
    small_before = metric("winback_refiner_starvation_batches_total")

    assert await gate.step() is Step.REFINE
    assert (metric("winback_refiner_paused"), metric("winback_refiner_router_lag")) == (0, 0)
    assert await gate.step() is Step.WAIT  # at 2 s: paused
    assert gate.paused and metric("winback_refiner_paused") == 1
    assert metric("winback_refiner_router_lag") == 400
    assert await gate.step() is Step.WAIT  # 12 s
    assert await gate.step() is Step.TRICKLE  # 32 s: 30 s paused
    assert metric("winback_refiner_starvation_batches_total") == small_before + 1
    assert await gate.step() is Step.WAIT  # 33 s: calm from here
    assert await gate.step() is Step.REFINE  # 38 s: calm for 5 s
    assert not gate.paused and metric("winback_refiner_paused") == 0
    assert metric("winback_refiner_paused_seconds_total") == paused_before + 36


async def test_a_batch_is_coded_in_chunks_and_stops_at_the_chunk_where_the_router_lags() -> None:
    """The loop's half of the pause, without a database: looks between chunks, none before
    the first; the chunks coded before the pause are kept, the rest is left pending."""
    taxonomy = load_and_compile(None, FAST_MODEL)
    batch = [
        Pending(StoredCoding(n, survey_response(nps=3, comment="it broke"), []), 1, False)
        for n in range(5)
    ]
    probe = FakeProbe([0, 500])  # before the second chunk: idle; before the third: lagging
    gate = HotPathGate(probe, POLICY)
    refiner = Refiner(
        pool=cast(asyncpg.Pool, None),
        taxonomy=taxonomy,
        run_id=1,
        summary=Summary(taxonomy_sha256="x", replay_source="refine", dry_run=False),
        batch=256,
        idle_seconds=0.1,
        gate=gate,
        small_batch=2,
    )
    codes = await refiner._code(batch)
    assert len(codes) == 4 and gate.paused and probe.lags == []
    assert codes[0] == code_responses([batch[0].stored.response], taxonomy)[0]

    ungated = Refiner(
        pool=cast(asyncpg.Pool, None),
        taxonomy=taxonomy,
        run_id=1,
        summary=Summary(taxonomy_sha256="x", replay_source="refine", dry_run=False),
        batch=256,
        idle_seconds=0.1,
    )
    assert len(await ungated._code(batch)) == 5
