"""Checking the forecast by simulation: many simulated days at the recommended staffing and at
fewer agents, summed up as the table the docs show (pure; the CLI prints it)."""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from winback_notifier.staffing.forecast import DEFAULT_GOAL, Handling
from winback_notifier.staffing.simulate import (
    DayResult,
    Distribution,
    expected_rates,
    forecast_day,
    simulate_day,
    synthetic_day,
)


@dataclass(frozen=True)
class Staffing:
    """Many days at one staffing factor."""

    factor: float
    agent_hours: int
    days: list[DayResult]

    def mean_share(self, priority: int) -> float | None:
        """The priority's share within target over all the days' cases."""
        rows = [r for day in self.days for r in day.by_priority if r.priority == priority]
        cases = sum(r.cases for r in rows)
        return sum(r.within_target for r in rows) / cases if cases else None

    @property
    def goal_shares(self) -> list[float]:
        """P1 and P2 within target, day by day."""
        return [day.goal_share for day in self.days if day.goal_share is not None]

    @property
    def goal_mean(self) -> float:
        """P1 and P2 within target, all days' cases together (days weigh by their cases)."""
        met = cases = 0
        for day in self.days:
            for row in day.by_priority:
                if row.priority in (1, 2):
                    met += row.within_target
                    cases += row.cases
        return met / cases if cases else 1.0

    @property
    def burst_mean(self) -> float | None:
        """P1 and P2 within target in the burst's hour, on average over the days."""
        shares = [d.burst_hour_goal_share for d in self.days if d.burst_hour_goal_share is not None]
        return statistics.fmean(shares) if shares else None


@dataclass(frozen=True)
class Check:
    """The forecast, and how the floor did at each staffing."""

    agents_per_hour: list[int]
    goal: float
    rows: list[Staffing]

    @property
    def holds(self) -> bool:
        """At the forecast the goal is met; with fewer agents it visibly is not."""
        full = next(row for row in self.rows if row.factor == 1.0)
        fewer = [row for row in self.rows if row.factor < 1.0]
        return full.goal_mean >= self.goal and all(row.goal_mean < self.goal for row in fewer)


def run_check(
    *,
    seed: int,
    days: int,
    factors: Sequence[float],
    handling: Handling,
    targets_minutes: Mapping[int, float],
    goal: float = DEFAULT_GOAL,
    distribution: Distribution = "exponential",
    burst: bool = True,
    burst_foreseen: bool = True,
) -> Check:
    """Simulate ``days`` days (day ``i`` from seed ``seed + i``) at each factor of the forecast
    made from the same expected arrivals (without the burst if it is not foreseen)."""
    rates = expected_rates(burst=burst and burst_foreseen)
    agents = forecast_day(rates, handling, targets_minutes, goal)
    rows = []
    for factor in factors:
        results = [
            simulate_day(
                synthetic_day(random.Random(seed + day), burst=burst),
                agents,
                handling,
                targets_minutes,
                seed=seed + day,
                factor=factor,
                distribution=distribution,
            )
            for day in range(days)
        ]
        rows.append(Staffing(factor, sum(results[0].agents), results))
    return Check(agents, goal, rows)


def format_check(check: Check, distribution: str) -> str:
    """The table for the docs, and the verdict."""
    pct = "{:.1%}".format
    lines = [
        f"agents per hour from the forecast (00-23h): {' '.join(map(str, check.agents_per_hour))}",
        f"handling times {distribution}; {len(check.rows[0].days)} days per row",
        "",
        "| staffing | agent-hours | P1 | P2 | P3 | P4 | P1+P2 | worst day P1+P2 "
        f"| days >= {check.goal:.0%} | burst hour P1+P2 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in check.rows:
        shares = [row.mean_share(p) for p in (1, 2, 3, 4)]
        good = sum(1 for s in row.goal_shares if s >= check.goal)
        burst = row.burst_mean
        lines.append(
            f"| {'forecast' if row.factor == 1 else f'{row.factor:.0%} of it'} "
            f"| {row.agent_hours} | "
            + " | ".join("-" if s is None else pct(s) for s in shares)
            + f" | {pct(row.goal_mean)} | {pct(min(row.goal_shares))} "
            f"| {good}/{len(row.days)} | {'-' if burst is None else pct(burst)} |"
        )
    full = next(row for row in check.rows if row.factor == 1.0)
    parts = [
        f"at the recommended staffing P1+P2 within target {pct(full.goal_mean)} "
        f"({'meets' if full.goal_mean >= check.goal else 'misses'} the {check.goal:.0%} goal)"
    ]
    parts += [
        f"at {row.factor:.0%} of it {pct(row.goal_mean)} "
        f"({'below the goal' if row.goal_mean < check.goal else 'still meets the goal'})"
        for row in check.rows
        if row.factor < 1.0
    ]
    lines += [
        "",
        f"verdict: the forecast {'holds' if check.holds else 'does NOT hold'}: " + "; ".join(parts),
    ]
    return "\n".join(lines)
