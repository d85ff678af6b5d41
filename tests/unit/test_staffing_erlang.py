"""Erlang C against published values, and the forecast built on it, figures by hand."""

from __future__ import annotations

import math

import pytest

from winback_notifier.staffing.erlang import (
    agents_for,
    erlang_b,
    erlang_c,
    mean_wait_seconds,
    service_level,
)
from winback_notifier.staffing.forecast import (
    Handling,
    agents_needed,
    forecast_queue,
    high_priority_share_within,
)


def test_erlang_c_small_cases_in_closed_form() -> None:
    # M/M/1: a case waits with probability rho. M/M/2 at A = 1: (1/2 * 2) / (1 + 1 + 1) = 1/3.
    assert erlang_c(1, 0.4) == pytest.approx(0.4)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # Wolfram's ErlangC[3, 2] documentation example: 4/9.
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9)
    assert erlang_b(1, 1.0) == pytest.approx(0.5)


def test_erlang_c_textbook_curve_value() -> None:
    """120 arrivals an hour, 3 minutes each, 10 servers: "the probability of waiting is about
    0.10" read from the Erlang C curve in the textbook exercise."""
    assert erlang_c(10, 120 / 60 * 3) == pytest.approx(0.1013, abs=5e-4)


def test_call_centre_worked_example() -> None:
    """The widely reproduced worked example (Call Centre Helper's): 100 calls in 30 minutes,
    180 s handling, 20 s answer target: A = 10 erlangs; with 14 agents the probability of
    waiting is 17.41 % and the service level 88.8 %."""
    traffic = 100 / 1800 * 180
    assert traffic == pytest.approx(10)
    assert erlang_c(14, traffic) == pytest.approx(0.1741, abs=1e-4)
    assert service_level(14, traffic, 180, 20) == pytest.approx(0.888, abs=1e-3)
    # By hand from the formula: 13 agents wait 28.53 % and reach 79.6 %, short of "80 % in
    # 20 s", so the answer is 14.
    assert erlang_c(13, traffic) == pytest.approx(0.2853, abs=1e-4)
    assert service_level(13, traffic, 180, 20) == pytest.approx(0.7956, abs=1e-3)
    assert agents_for(traffic, 180, 20, 0.8) == 14


def test_fewest_agents_for_ninety_percent_not_delayed() -> None:
    """Wolfram's technical-support application: 30 calls an hour, 5 minutes each, at least
    90 % not delayed at all (wait 0 s) needs 6 people."""
    assert agents_for(30 / 60 * 5, 300, 0, 0.9) == 6


def test_unstable_and_empty_queues() -> None:
    assert erlang_c(5, 5.0) == 1.0
    assert service_level(5, 6.0, 60, 30) == 0.0
    assert math.isinf(mean_wait_seconds(4, 4.0, 60))
    assert erlang_c(3, 0.0) == 0.0
    assert agents_for(0.0, 60, 10, 0.9) == 0


def test_large_floors_do_not_overflow() -> None:
    """A**N / N! overflows a float near N = 170; the recurrence does not."""
    assert 0 < erlang_c(1000, 950.0) < 1
    assert agents_for(950.0, 300, 20, 0.8) > 950


def test_mean_wait() -> None:
    # M/M/1 at rho 0.5, h 60 s: Wq = rho h / (1 - rho) = 60 s.
    assert mean_wait_seconds(1, 0.5, 60) == pytest.approx(60)


HANDLING = Handling(busy_seconds=1200, prep_seconds=120, cases=50)
TARGETS = {1: 10.0, 2: 15.0, 3: 60.0, 4: 240.0}


def test_only_high_priority_load_is_plain_erlang_c() -> None:
    # 6 P1 cases an hour, 20 min each: A = 2; allowed wait 10 min - 2 min prep = 480 s.
    rates = {1: 6.0}
    for agents in (3, 4, 5):
        expected = service_level(agents, 2.0, 1200, 480)
        assert high_priority_share_within(agents, rates, HANDLING, TARGETS) == pytest.approx(
            expected
        )


def test_priority_share_by_hand() -> None:
    """3 P1 and 3 P3 cases an hour, 20 min each (A = 2), 3 agents. By hand:
    C(3, 2) = 4/9; a P1 case behind all agents busy drains at 3/1200 - 3/3600 per second;
    allowed wait 480 s."""
    drain = 3 / 1200 - 3 / 3600
    expected = 1 - 4 / 9 * math.exp(-drain * 480)
    share = high_priority_share_within(3, {1: 3.0, 3: 3.0}, HANDLING, TARGETS)
    assert share == pytest.approx(expected)
    # P3 cases jumping the queue would be worse: first come, first served Erlang C.
    assert share is not None and share > service_level(3, 2.0, 1200, 480)


def test_two_priorities_weighted_by_arrivals() -> None:
    rates = {1: 2.0, 2: 4.0}
    waits = erlang_c(3, 2.0)
    drain = 3 / 1200 - 6 / 3600
    p1 = 1 - waits * math.exp(-drain * 480)
    p2 = 1 - waits * math.exp(-drain * 780)
    assert high_priority_share_within(3, rates, HANDLING, TARGETS) == pytest.approx(
        (2 * p1 + 4 * p2) / 6
    )


def test_agents_needed_is_the_fewest_reaching_the_goal() -> None:
    rates = {1: 3.0, 2: 6.0, 3: 6.0}
    agents, share = agents_needed(rates, HANDLING, TARGETS, goal=0.95)
    assert share is not None and share >= 0.95
    below = high_priority_share_within(agents - 1, rates, HANDLING, TARGETS)
    assert below is not None and below < 0.95


def test_low_priority_only_needs_a_stable_queue() -> None:
    # 3 P4 cases an hour at 20 min: A = 1, so 2 agents keep the queue from growing.
    assert agents_needed({4: 3.0}, HANDLING, TARGETS) == (2, None)
    assert agents_needed({}, HANDLING, TARGETS) == (0, None)


def test_target_shorter_than_preparation_is_flagged_not_looped() -> None:
    slow = Handling(busy_seconds=1200, prep_seconds=900, cases=50)
    agents, share = agents_needed({1: 6.0}, slow, TARGETS)
    assert share is not None and share < 0.95
    assert agents < 100


def test_forecast_divides_by_weeks_and_places_hours() -> None:
    # Monday 09:00 (hour 9): 16 P1 cases over 4 weeks = 4 an hour; Sunday 23:00: one P4.
    forecast = forecast_queue("billing", {(9, 1): 16, (167, 4): 1}, 4.0, HANDLING, TARGETS)
    assert len(forecast.hours) == 168
    nine = forecast.hours[9]
    assert nine.arrivals_per_hour == pytest.approx(4.0)
    assert nine.traffic == pytest.approx(4.0 / 3600 * 1200, abs=1e-4)
    assert nine.agents == agents_needed({1: 4.0}, HANDLING, TARGETS)[0]
    assert forecast.hours[167].agents == 1
    assert forecast.hours[10].agents == 0
    assert forecast.cases == 17
