"""A day on the floor, simulated: arrivals against agent bots, to check the staffing forecast.

Cases arrive through a day (a synthetic curve with a morning peak and an afternoon burst),
each with a priority and the contact deadline the product stamps
(:func:`winback_shared.deadlines.contact_deadline`). Agent bots work the way the console lets
them: a free bot takes the most urgent unclaimed case of its board (priority, then oldest:
the board's order), claims it, prepares, makes the first contact attempt, then works the case
to resolution; every step is a transition :func:`winback_notifier.cases.rules.decide` accepts,
so the bots cannot do what an agent could not. Staffing follows the forecast hour by hour
(times a factor); a bot whose shift ends finishes its case first.

The clock is virtual (event to event, a day in well under a second), and everything random
comes from one seeded generator: the same seed gives the same day and the same table.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from winback_notifier.cases.rules import Action, CaseState, decide
from winback_notifier.staffing.forecast import DEFAULT_PRIORITIES, Handling, agents_needed
from winback_shared.agents import Agent, Role
from winback_shared.case_vocabulary import CaseStatus
from winback_shared.deadlines import ContactPolicy, contact_deadline

QUEUE = "default"
DAY = datetime(2026, 11, 30, tzinfo=UTC)  # a Monday; only hours matter
MORNING_CURVE: tuple[float, ...] = (
    2, 1, 1, 1, 1, 2, 4, 9, 20, 34, 40, 36, 30, 26, 24, 24, 22, 18, 12, 9, 7, 5, 4, 3,
)  # fmt: skip
"""Cases per hour from 00:00 to 23:00: quiet nights, a peak at 10:00, a long afternoon."""
PRIORITY_MIX: Mapping[int, float] = {1: 0.2, 2: 0.4, 3: 0.3, 4: 0.1}
BURST_AT = timedelta(hours=14)
BURST_CASES = 20
BURST_MINUTES = 20
"""A survey batch landing at once: 20 more cases in 20 minutes at 14:00."""
Distribution = Literal["exponential", "lognormal"]


@dataclass(frozen=True)
class Arrival:
    """A case opening."""

    at: float
    """Seconds since midnight."""
    priority: int


def synthetic_day(
    rng: random.Random,
    curve: Sequence[float] = MORNING_CURVE,
    mix: Mapping[int, float] = PRIORITY_MIX,
    *,
    burst: bool = True,
) -> list[Arrival]:
    """A day of Poisson arrivals following ``curve``, plus the burst."""
    priorities, weights = list(mix), list(mix.values())
    arrivals = []
    for hour, rate in enumerate(curve):
        moment = hour * 3600.0
        while rate > 0:
            moment += rng.expovariate(rate / 3600)
            if moment >= (hour + 1) * 3600:
                break
            arrivals.append(Arrival(moment, rng.choices(priorities, weights)[0]))
    if burst:
        start = BURST_AT.total_seconds()
        for _ in range(BURST_CASES):
            moment = start + rng.uniform(0, BURST_MINUTES * 60)
            arrivals.append(Arrival(moment, rng.choices(priorities, weights)[0]))
    return sorted(arrivals, key=lambda a: a.at)


def expected_rates(
    curve: Sequence[float] = MORNING_CURVE,
    mix: Mapping[int, float] = PRIORITY_MIX,
    *,
    burst: bool = True,
) -> list[dict[int, float]]:
    """Cases per hour and priority the forecast sees: the curve, the burst spread over its hour
    (what an hourly history would show)."""
    rates = []
    for hour, rate in enumerate(curve):
        extra = BURST_CASES if burst and hour == int(BURST_AT.total_seconds() // 3600) else 0
        rates.append({p: (rate + extra) * share for p, share in mix.items()})
    return rates


def forecast_day(
    rates: Sequence[Mapping[int, float]],
    handling: Handling,
    targets_minutes: Mapping[int, float],
    goal: float,
) -> list[int]:
    """Agents per hour of the day from the forecast."""
    return [
        agents_needed(hour, handling, targets_minutes, goal=goal, priorities=DEFAULT_PRIORITIES)[0]
        for hour in rates
    ]


@dataclass
class _Case:
    id: int
    priority: int
    opened: float
    due: float
    state: CaseState
    first_attempt: float | None = None


@dataclass
class _Bot:
    agent: Agent
    on_shift: bool = True
    busy: bool = False


@dataclass(frozen=True)
class PriorityResult:
    """How one priority fared."""

    priority: int
    cases: int
    within_target: int

    @property
    def share(self) -> float | None:
        """Tried within target, of the priority's cases."""
        return self.within_target / self.cases if self.cases else None


@dataclass(frozen=True)
class DayResult:
    """One simulated day at one staffing."""

    factor: float
    agents: list[int]
    by_priority: list[PriorityResult]
    burst_hour_goal_share: float | None
    """P1/P2 within target among the cases opened in the burst's hour."""

    @property
    def goal_share(self) -> float | None:
        """P1 and P2 together."""
        rows = [r for r in self.by_priority if r.priority in DEFAULT_PRIORITIES]
        cases = sum(r.cases for r in rows)
        return sum(r.within_target for r in rows) / cases if cases else None


@dataclass
class _Floor:
    rng: random.Random
    handling: Handling
    distribution: Distribution
    policy: ContactPolicy
    bots: list[_Bot] = field(default_factory=list)
    waiting: list[tuple[int, float, int]] = field(default_factory=list)
    cases: dict[int, _Case] = field(default_factory=dict)
    events: list[tuple[float, int, str, int]] = field(default_factory=list)
    order: int = 0

    def schedule(self, at: float, kind: str, ref: int) -> None:
        self.order += 1
        heapq.heappush(self.events, (at, self.order, kind, ref))

    def draw(self, mean: float) -> float:
        if mean <= 0:
            return 0.0
        if self.distribution == "exponential":
            return self.rng.expovariate(1 / mean)
        sigma = 0.8  # a right tail like real handling times; same mean as the exponential
        return self.rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)

    def open(self, case_id: int, arrival: Arrival) -> None:
        opened = DAY + timedelta(seconds=arrival.at)
        deadline = contact_deadline(self.policy, opened, arrival.priority)
        due = math.inf if deadline is None else (deadline - DAY).total_seconds()
        state = CaseState(case_id, CaseStatus.OPEN, QUEUE, None, None, 0)
        self.cases[case_id] = _Case(case_id, arrival.priority, arrival.at, due, state)
        heapq.heappush(self.waiting, (arrival.priority, arrival.at, case_id))

    def staff(self, wanted: int) -> None:
        """Bring bots on shift or send the free ones home (busy ones leave when done)."""
        on = [bot for bot in self.bots if bot.on_shift]
        for bot in on[wanted:]:
            bot.on_shift = False
        for bot in self.bots:
            if len([b for b in self.bots if b.on_shift]) >= wanted:
                break
            if not bot.on_shift and not bot.busy:
                bot.on_shift = True
        while len([b for b in self.bots if b.on_shift]) < wanted:
            number = len(self.bots) + 1
            agent = Agent(
                id=number, name=f"bot-{number}", role=Role.AGENT, queues=frozenset({QUEUE})
            )
            self.bots.append(_Bot(agent))

    def dispatch(self, now: float) -> None:
        """Every free bot on shift takes the most urgent waiting case."""
        for index, bot in enumerate(self.bots):
            if not self.waiting:
                return
            if bot.on_shift and not bot.busy:
                _, _, case_id = heapq.heappop(self.waiting)
                self.work(index, bot, self.cases[case_id], now)

    def work(self, index: int, bot: _Bot, case: _Case, now: float) -> None:
        agent = bot.agent
        claimed = decide(Action.CLAIM, case.state, agent)
        case.state = CaseState(case.id, claimed.status, QUEUE, agent.id, agent.name, 0)
        prep = min(self.draw(self.handling.prep_seconds), self.handling.busy_seconds * 10)
        rest = self.draw(max(self.handling.busy_seconds - self.handling.prep_seconds, 1.0))
        bot.busy = True
        case.first_attempt = now + prep
        attempted = decide(Action.ATTEMPT, case.state, agent, reached=True)
        case.state = CaseState(case.id, attempted.status, QUEUE, agent.id, agent.name, 0)
        resolved = decide(Action.RESOLVE, case.state, agent)
        case.state = CaseState(case.id, resolved.status, QUEUE, agent.id, agent.name, 0)
        self.schedule(now + prep + rest, "done", index)


def simulate_day(
    arrivals: Sequence[Arrival],
    agents_per_hour: Sequence[int],
    handling: Handling,
    targets_minutes: Mapping[int, float],
    *,
    seed: int,
    factor: float = 1.0,
    distribution: Distribution = "exponential",
) -> DayResult:
    """Run one day; ``factor`` scales each hour's agents (rounded down)."""
    policy = ContactPolicy(targets={p: timedelta(minutes=m) for p, m in targets_minutes.items()})
    floor = _Floor(random.Random(seed), handling, distribution, policy)
    staffing = [math.floor(n * factor + 1e-9) for n in agents_per_hour]
    for hour, _ in enumerate(staffing):
        floor.schedule(hour * 3600.0, "shift", hour)
    for case_id, arrival in enumerate(arrivals, start=1):
        floor.schedule(arrival.at, "arrive", case_id)
    while floor.events:
        now, _, kind, ref = heapq.heappop(floor.events)
        if kind == "shift":
            floor.staff(staffing[ref])
        elif kind == "arrive":
            floor.open(ref, arrivals[ref - 1])
        else:
            floor.bots[ref].busy = False
        floor.dispatch(now)
        if not floor.events and floor.waiting:
            floor.staff(max(1, staffing[-1]))  # past midnight the last shift stays on
            floor.dispatch(now)
    results = []
    for priority in sorted({case.priority for case in floor.cases.values()}):
        mine = [c for c in floor.cases.values() if c.priority == priority]
        met = sum(1 for c in mine if c.first_attempt is not None and c.first_attempt <= c.due)
        results.append(PriorityResult(priority, len(mine), met))
    burst_hour = int(BURST_AT.total_seconds() // 3600)
    in_burst = [
        c
        for c in floor.cases.values()
        if int(c.opened // 3600) == burst_hour and c.priority in DEFAULT_PRIORITIES
    ]
    burst_share = (
        sum(1 for c in in_burst if c.first_attempt is not None and c.first_attempt <= c.due)
        / len(in_burst)
        if in_burst
        else None
    )
    return DayResult(factor, staffing, results, burst_share)
