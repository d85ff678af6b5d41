"""The simulated day: reproducible from its seed, and it checks the forecast (the goal met at
the recommended staffing, visibly missed with 20 % fewer agents)."""

from __future__ import annotations

import random

import pytest

from winback_notifier.staffing.__main__ import main
from winback_notifier.staffing.check import run_check
from winback_notifier.staffing.forecast import Handling
from winback_notifier.staffing.simulate import (
    BURST_CASES,
    MORNING_CURVE,
    expected_rates,
    forecast_day,
    simulate_day,
    synthetic_day,
)
from winback_shared.deadlines import DEFAULT_CONTACT_TARGETS

HANDLING = Handling(busy_seconds=1200, prep_seconds=120, cases=0)


def test_the_same_seed_gives_the_same_day() -> None:
    agents = forecast_day(expected_rates(), HANDLING, DEFAULT_CONTACT_TARGETS, 0.95)
    first = synthetic_day(random.Random(7))
    again = synthetic_day(random.Random(7))
    assert first == again
    assert synthetic_day(random.Random(8)) != first
    one = simulate_day(first, agents, HANDLING, DEFAULT_CONTACT_TARGETS, seed=7)
    two = simulate_day(again, agents, HANDLING, DEFAULT_CONTACT_TARGETS, seed=7)
    assert one == two
    assert simulate_day(first, agents, HANDLING, DEFAULT_CONTACT_TARGETS, seed=8) != one


def test_the_day_has_its_peak_and_burst() -> None:
    rates = expected_rates()
    totals = [sum(hour.values()) for hour in rates]
    assert totals[10] == max(MORNING_CURVE)
    assert totals[14] == MORNING_CURVE[14] + BURST_CASES
    assert abs(sum(totals) - sum(MORNING_CURVE) - BURST_CASES) < 1e-9
    arrivals = synthetic_day(random.Random(1))
    in_burst = [a for a in arrivals if 14 * 3600 <= a.at < 14 * 3600 + 20 * 60]
    assert len(in_burst) >= BURST_CASES


def test_every_case_is_tried_and_staffing_scales() -> None:
    agents = forecast_day(expected_rates(), HANDLING, DEFAULT_CONTACT_TARGETS, 0.95)
    day = synthetic_day(random.Random(3))
    result = simulate_day(day, agents, HANDLING, DEFAULT_CONTACT_TARGETS, seed=3, factor=0.8)
    assert sum(row.cases for row in result.by_priority) == len(day)
    assert result.agents == [int(n * 0.8) for n in agents]


def test_the_forecast_holds_and_twenty_percent_fewer_do_not() -> None:
    check = run_check(
        seed=1,
        days=10,
        factors=[1.0, 0.8],
        handling=HANDLING,
        targets_minutes=DEFAULT_CONTACT_TARGETS,
    )
    full, fewer = check.rows
    assert full.goal_mean >= 0.95
    assert fewer.goal_mean < 0.90  # visibly: more than five points under
    assert check.holds


def test_cli_prints_the_table_and_its_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--days", "3", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "| forecast | " in out and "| 80% of it | " in out
    assert "verdict: the forecast holds" in out
    assert main(["simulate", "--goal", "2"]) == 2
