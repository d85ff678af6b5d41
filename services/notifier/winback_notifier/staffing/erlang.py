"""Erlang C: the M/M/N queue that staffing forecasts are traditionally built on.

Pure arithmetic, no I/O. Cases arrive as a Poisson stream (``traffic`` = arrival rate x mean
handling time, in erlangs), ``agents`` identical agents take them first come first served, a
case waits for as long as it takes (nobody gives up) and handling times are exponential. Under
those assumptions the probability that a case waits at all is Erlang's C formula, and the
probability it waits longer than ``t`` is ``C * exp(-(N - A) * t / h)``.

Erlang B is computed by its recurrence (``B(n) = A B(n-1) / (n + A B(n-1))``), and C from B,
rather than from ``A**N / N!``: the textbook form overflows a float at a few hundred agents,
the recurrence stays between 0 and 1 at any size.
"""

from __future__ import annotations

import math


def erlang_b(agents: int, traffic: float) -> float:
    """Probability that a case finding every agent busy would be lost (Erlang B)."""
    if agents < 0 or traffic < 0:
        raise ValueError("agents and traffic must not be negative")
    blocked = 1.0
    for n in range(1, agents + 1):
        blocked = traffic * blocked / (n + traffic * blocked)
    return blocked


def erlang_c(agents: int, traffic: float) -> float:
    """Probability that a case has to wait for an agent (Erlang C); 1 when the queue is not
    stable (``traffic >= agents``: it would grow without end)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    blocked = erlang_b(agents, traffic)
    return agents * blocked / (agents - traffic * (1 - blocked))


def wait_exceeds(agents: int, traffic: float, handle_seconds: float, wait_seconds: float) -> float:
    """Probability that a case waits longer than ``wait_seconds`` for an agent."""
    if handle_seconds <= 0:
        raise ValueError("handle_seconds must be positive")
    waits = erlang_c(agents, traffic)
    if waits >= 1.0:
        return 1.0
    return waits * math.exp(-(agents - traffic) * max(wait_seconds, 0.0) / handle_seconds)


def service_level(agents: int, traffic: float, handle_seconds: float, wait_seconds: float) -> float:
    """Share of cases an agent takes within ``wait_seconds`` (the call centre's "80/20")."""
    return 1.0 - wait_exceeds(agents, traffic, handle_seconds, wait_seconds)


def mean_wait_seconds(agents: int, traffic: float, handle_seconds: float) -> float:
    """Average wait of all cases (infinite when the queue is not stable)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * handle_seconds / (agents - traffic)


def agents_for(
    traffic: float, handle_seconds: float, wait_seconds: float, goal: float, *, limit: int = 10_000
) -> int:
    """The fewest agents for which at least ``goal`` of cases wait no longer than
    ``wait_seconds``; 0 when no case is expected."""
    if not 0 < goal < 1:
        raise ValueError("goal must be a share strictly between 0 and 1")
    if traffic <= 0:
        return 0
    agents = max(1, math.floor(traffic) + 1)
    while service_level(agents, traffic, handle_seconds, wait_seconds) < goal:
        agents += 1
        if agents > limit:
            raise ValueError(f"more than {limit} agents needed: check the inputs")
    return agents
