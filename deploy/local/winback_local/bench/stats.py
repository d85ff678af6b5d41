"""Figures from what the generator recorded: percentiles, rates, fan-out. Pure functions.

Latencies count from each request's *scheduled* send time (open loop), so a generator or a
pipeline that falls behind shows as latency rather than as fewer requests sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ACCEPTED = 202


@dataclass(frozen=True)
class Ack:
    """One request: when it was due, when it went out, when its answer came (µs since start)."""

    index: int
    scheduled_us: int
    started_us: int
    done_us: int
    status: int
    error: str = ""


@dataclass(frozen=True)
class Arrival:
    """One alert on one console (µs since start)."""

    console: int
    index: int
    arrival_us: int


@dataclass(frozen=True)
class Percentiles:
    """p50/p90/p99 in milliseconds (NaN when there was nothing to measure)."""

    p50: float
    p90: float
    p99: float
    count: int

    def text(self) -> str:
        """``p50 / p90 / p99`` rounded for a table."""
        return " / ".join(_ms(v) for v in (self.p50, self.p90, self.p99))


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest rank: always a value that was observed, never an interpolation."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def percentiles_ms(micros: Iterable[float]) -> Percentiles:
    """p50/p90/p99 of microsecond values, in milliseconds."""
    values = sorted(v / 1000 for v in micros)
    return Percentiles(
        percentile(values, 50), percentile(values, 90), percentile(values, 99), len(values)
    )


def accepted(acks: Iterable[Ack]) -> list[Ack]:
    """The requests ingest answered 202."""
    return [a for a in acks if a.status == ACCEPTED]


def ack_latencies(acks: Iterable[Ack]) -> Percentiles:
    """Scheduled send → 202, for every accepted request."""
    return percentiles_ms(a.done_us - a.scheduled_us for a in accepted(acks))


def send_slip(acks: Iterable[Ack]) -> Percentiles:
    """Scheduled send → actual send: how far the generator itself fell behind its schedule."""
    return percentiles_ms(a.started_us - a.scheduled_us for a in acks if a.started_us >= 0)


def failures(acks: Iterable[Ack]) -> dict[str, int]:
    """Every answer but 202, by status code or transport error."""
    counts: dict[str, int] = {}
    for ack in acks:
        if ack.status != ACCEPTED:
            key = str(ack.status) if ack.status else (ack.error or "not sent")
            counts[key] = counts.get(key, 0) + 1
    return counts


def _steady_rate(times_us: Sequence[int]) -> float:
    """Events per second between the first and the last one (0 or 1 events: 0)."""
    if len(times_us) < 2:
        return 0.0
    span = (max(times_us) - min(times_us)) / 1e6
    return (len(times_us) - 1) / span if span > 0 else math.nan


def completion_rate(acks: Sequence[Ack]) -> float:
    """Accepted requests per second, between the first and the last answer."""
    return _steady_rate([a.done_us for a in accepted(acks)])


def first_arrivals(arrivals: Iterable[Arrival], console: int | None = None) -> dict[int, int]:
    """Arrival time per request index (on ``console``, or the earliest on any console)."""
    first: dict[int, int] = {}
    for a in arrivals:
        if console is not None and a.console != console:
            continue
        if a.index not in first or a.arrival_us < first[a.index]:
            first[a.index] = a.arrival_us
    return first


def popup_latencies(acks: Sequence[Ack], arrivals: Iterable[Arrival]) -> Percentiles:
    """Scheduled send → first console's pop-up, for every accepted request that alerted."""
    scheduled = {a.index: a.scheduled_us for a in accepted(acks)}
    first = first_arrivals(arrivals)
    return percentiles_ms(at - scheduled[i] for i, at in first.items() if i in scheduled)


def alert_rate(arrivals: Iterable[Arrival]) -> float:
    """Distinct alerts per second, between the first and the last one."""
    return _steady_rate(list(first_arrivals(arrivals).values()))


def drain_seconds(acks: Sequence[Ack], arrivals: Iterable[Arrival]) -> float:
    """Last scheduled send → last alert: how long the backlog took to clear once load stopped."""
    last = max((a.arrival_us for a in arrivals), default=None)
    if last is None or not acks:
        return math.nan
    return max(0.0, (last - max(a.scheduled_us for a in acks)) / 1e6)


@dataclass(frozen=True)
class Fanout:
    """One alert to many consoles."""

    to_all: Percentiles
    """Per alert, scheduled send → the last reading console had it."""
    each: Percentiles
    """Every (console, alert) delivery."""
    delivered: int
    expected: int


def fanout(acks: Sequence[Ack], arrivals: Sequence[Arrival], consoles: Sequence[int]) -> Fanout:
    """How long one alert takes to reach every one of ``consoles``, and each of them."""
    scheduled = {a.index: a.scheduled_us for a in accepted(acks)}
    wanted = set(consoles)
    last: dict[int, int] = {}
    each: list[int] = []
    reached: dict[int, set[int]] = {}
    for a in arrivals:
        if a.console not in wanted or a.index not in scheduled:
            continue
        each.append(a.arrival_us - scheduled[a.index])
        reached.setdefault(a.index, set()).add(a.console)
        last[a.index] = max(last.get(a.index, 0), a.arrival_us)
    complete = [i for i, seen in reached.items() if len(seen) == len(wanted)]
    return Fanout(
        to_all=percentiles_ms(last[i] - scheduled[i] for i in complete),
        each=percentiles_ms(each),
        delivered=len(each),
        expected=len(scheduled) * len(wanted),
    )


def bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The upper bound (seconds) of the histogram bucket holding quantile ``q`` of what was
    observed between two scrapes of cumulative bucket counts (NaN if nothing was)."""
    counts = sorted((bound, count - before.get(bound, 0.0)) for bound, count in after.items())
    if not counts or counts[-1][1] <= 0:
        return math.nan
    wanted = q * counts[-1][1]
    return next(bound for bound, count in counts if count >= wanted)


def signin_stages(signins: Iterable[dict[str, int]]) -> dict[str, Percentiles]:
    """Percentiles (ms) of each console's sign-in stages: ``dial`` (TCP and the websocket
    handshake), ``hello`` (the token sent -> the hello, the notifier's lookup and board), and
    ``snapshot`` (the hello -> the whole snapshot read)."""
    rows = list(signins)
    return {
        stage: percentiles_ms(row[f"{stage}_us"] for row in rows)
        for stage in ("dial", "hello", "snapshot")
    }
