"""Agents needed per queue and hour of the week, from arrivals and handling times (pure).

The model is Erlang C's M/M/N queue with one refinement the console makes true: the board puts
the most urgent cases first, so the priorities the goal is about (P1 and P2 by default) jump
the queue ahead of the rest. For two classes served in priority order without pre-emption and
with the same exponential handling time, a high-priority case waits at all with the Erlang C
probability of the *whole* load (every agent busy), and then for an exponential time of rate
``N/h - lambda_high`` (only the high-priority cases ahead of it count). With no low-priority
load this is exactly Erlang C; plain first-come-first-served Erlang C on the whole load would
staff for P3 cases delaying P1 cases, which the board never lets happen.

A case meets its target when its first contact attempt comes within the priority's contact
target of opening. The attempt follows the claim after the agent's preparation time (claim to
first attempt, measured), so the wait allowed for an agent to become free is the target less
that preparation time. An agent is busy with a case from claim to resolution (measured).

Where it breaks, so a team knows when to add a margin (docs/staffing.md says more):
- Bursts: arrivals in an hour are assumed Poisson around the hour's average. A campaign, an
  outage or a survey sent in one batch brings many cases at once; the forecast under-staffs
  that hour. The simulation shows by how much.
- Abandonment: nobody gives up here (a case waits until claimed), which matches a recovery
  queue better than a call centre; but agents who skip cases or claims that lapse are not
  modelled.
- Handling times are taken as exponential with the measured mean; a more regular work pattern
  needs slightly fewer agents, a heavy tail more.
- Agents are assumed to work one case at a time, all hour, in one queue; shrinkage (breaks,
  training, notes after the call) must be added on top, and an agent in two queues counts in
  both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from winback_notifier.staffing.erlang import erlang_c

HOURS_PER_WEEK = 168
DEFAULT_GOAL = 0.95
DEFAULT_PRIORITIES: tuple[int, ...] = (1, 2)
MAX_AGENTS = 10_000


@dataclass(frozen=True)
class Handling:
    """How long agents spend on a case, measured from the cases' own timestamps."""

    busy_seconds: float
    """Mean claim to resolution: the time an agent is taken by one case."""
    prep_seconds: float
    """Mean claim to first contact attempt: eaten out of the contact target after the claim."""
    cases: int
    """How many resolved cases the means come from (0: a default was used)."""


class HourForecast(BaseModel):
    """One hour of the week in one queue (``hour_of_week`` 0 is Monday 00:00-01:00)."""

    hour_of_week: int
    arrivals_per_hour: float
    """All priorities, on average over the history's weeks."""
    goal_arrivals_per_hour: float
    """Of which the priorities the goal is about."""
    traffic: float
    """Erlangs: arrivals per hour x hours of handling per case."""
    agents: int
    within_target: float | None
    """Predicted share of the goal's priorities tried within target at ``agents``
    (``None``: none expected)."""


class QueueForecast(BaseModel):
    """One queue, every hour of the week."""

    queue: str
    busy_minutes: float
    prep_minutes: float
    handling_cases: int
    """Resolved cases behind the handling times (0: the default handling time was used)."""
    cases: int
    """Cases that opened in the history window."""
    hours: list[HourForecast]


def high_priority_share_within(
    agents: int,
    arrivals_per_hour: Mapping[int, float],
    handling: Handling,
    targets_minutes: Mapping[int, float],
    priorities: Iterable[int] = DEFAULT_PRIORITIES,
) -> float | None:
    """Predicted share of the cases of ``priorities`` whose first attempt is within their
    priority's target, with ``agents`` on the queue (``None`` if none of them arrive)."""
    wanted = [p for p in priorities if arrivals_per_hour.get(p, 0) > 0 and p in targets_minutes]
    high = sum(arrivals_per_hour[p] for p in wanted)
    if high <= 0:
        return None
    per_second = sum(arrivals_per_hour.values()) / 3600
    traffic = per_second * handling.busy_seconds
    if agents <= traffic:
        return 0.0
    waits = erlang_c(agents, traffic)
    drain = agents / handling.busy_seconds - high / 3600
    met = 0.0
    for priority in wanted:
        allowed = targets_minutes[priority] * 60 - handling.prep_seconds
        late = 1.0 if allowed < 0 else waits * math.exp(-drain * allowed)
        met += arrivals_per_hour[priority] * (1.0 - late)
    return met / high


def agents_needed(
    arrivals_per_hour: Mapping[int, float],
    handling: Handling,
    targets_minutes: Mapping[int, float],
    *,
    goal: float = DEFAULT_GOAL,
    priorities: Iterable[int] = DEFAULT_PRIORITIES,
) -> tuple[int, float | None]:
    """The fewest agents that keep the queue stable and reach ``goal`` for ``priorities``, and
    the share they are predicted to reach. A goal no staffing can reach (a target shorter than
    the preparation time) gets the staffing at which more agents stop helping."""
    scope = tuple(priorities)
    traffic = sum(arrivals_per_hour.values()) / 3600 * handling.busy_seconds
    if traffic <= 0:
        return 0, None
    agents = math.floor(traffic) + 1
    share = high_priority_share_within(agents, arrivals_per_hour, handling, targets_minutes, scope)
    while share is not None and share < goal and agents < MAX_AGENTS:
        more = high_priority_share_within(
            agents + 1, arrivals_per_hour, handling, targets_minutes, scope
        )
        assert more is not None
        if more - share < 1e-9:
            break  # the target is out of reach whatever the staffing: say so, do not spin
        agents, share = agents + 1, more
    return agents, share


def forecast_queue(
    queue: str,
    counts: Mapping[tuple[int, int], int],
    weeks: float,
    handling: Handling,
    targets_minutes: Mapping[int, float],
    *,
    goal: float = DEFAULT_GOAL,
    priorities: Iterable[int] = DEFAULT_PRIORITIES,
) -> QueueForecast:
    """Every hour of the week of one queue, from ``counts[(hour_of_week, priority)]`` cases
    opened over ``weeks`` weeks of history."""
    if weeks <= 0:
        raise ValueError("weeks must be positive")
    scope = tuple(priorities)
    hours = []
    for hour in range(HOURS_PER_WEEK):
        rates = {p: n / weeks for (h, p), n in counts.items() if h == hour and n > 0}
        agents, share = agents_needed(rates, handling, targets_minutes, goal=goal, priorities=scope)
        total = sum(rates.values())
        hours.append(
            HourForecast(
                hour_of_week=hour,
                arrivals_per_hour=round(total, 4),
                goal_arrivals_per_hour=round(sum(rates.get(p, 0.0) for p in scope), 4),
                traffic=round(total / 3600 * handling.busy_seconds, 4),
                agents=agents,
                within_target=None if share is None else round(share, 4),
            )
        )
    return QueueForecast(
        queue=queue,
        busy_minutes=round(handling.busy_seconds / 60, 2),
        prep_minutes=round(handling.prep_seconds / 60, 2),
        handling_cases=handling.cases,
        cases=sum(counts.values()),
        hours=hours,
    )
