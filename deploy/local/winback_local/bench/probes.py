"""What the processes did while a step ran: CPU%, peak RSS, and the router's lag; and what the
refiner still owes the consoles before a consoles step.

Sampled from outside (psutil, the services' Prometheus ``/metrics``, two counts in the database)
so the services run exactly as they would in production, with nothing added for the measurement.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from winback_local.bench.settle import Backlog
from winback_shared.transient import is_transient

LAG_METRIC = "winback_router_consumer_lag"
RECORDS_METRIC = "winback_router_records"
REFINER_PENDING_METRIC = "winback_refiner_pending"
REFINER_PAUSED_METRIC = "winback_refiner_paused_seconds"
REFINER_RESPONSES_METRIC = "winback_refiner_responses"
"""Counters: the parser names a family without its ``_total``."""
BOARD_METRICS = {
    "winback_notifier_board_reads": "reads",
    "winback_notifier_board_snapshots": "snapshots",
}


@dataclass(frozen=True)
class Usage:
    """One process (with its children: PostgreSQL's backends) over one step."""

    cpu_percent: float
    """Of one core: 150 means one and a half cores busy on average."""
    peak_rss_mb: float

    def cpu_seconds(self, seconds: float) -> float:
        """The CPU seconds spent over a step of ``seconds`` wall-clock seconds."""
        return self.cpu_percent * seconds / 100


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its descendants, those that have exited included.

    A child's time leaves the tree's sum when it exits; once its parent reaps it, the kernel
    adds it to the parent's children's times. PostgreSQL's backends and autovacuum workers come
    and go under the postmaster, so without those a step's PostgreSQL CPU read as low as 4 % of
    a core where the live tree alone was counted (docs/performance.md, section 43)."""
    total = 0.0
    for process in _tree(pid):
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def _rss_bytes(pid: int) -> int:
    total = 0
    for process in _tree(pid):
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


def refiner_pending(refiner_url: str) -> float:
    """How many stored responses wait for the refiner (its lag)."""
    return _refiner_metric(refiner_url, REFINER_PENDING_METRIC)


def refiner_paused_seconds(refiner_url: str) -> float:
    """Seconds the refiner has spent yielding to the hot path (NaN: a refiner that never
    yields, as before ``WINBACK_REFINE_YIELD``)."""
    return _refiner_metric(refiner_url, REFINER_PAUSED_METRIC)


def refiner_refined(refiner_url: str) -> float:
    """Responses the refiner has refined so far, whatever the outcome."""
    return _refiner_metric(refiner_url, REFINER_RESPONSES_METRIC)


REFINER_BACKLOG_SQL = """
SELECT (SELECT count(*) FROM survey_responses WHERE refine_pending) AS to_refine,
       (SELECT count(*) FROM case_history WHERE published_at IS NULL) AS unsent
"""
"""Both counts read their partial index (``survey_responses_refine_pending``,
``case_history_unpublished_idx``): cheap enough to poll once a second beside a step."""


def refiner_backlog(database_url: str) -> Backlog | None:
    """What the refiner still owes the consoles, read from the database (None: the database did
    not answer this time; any other error, a bug, is raised)."""
    try:
        return asyncio.run(_read_backlog(database_url))
    except Exception as exc:
        if not is_transient(exc):
            raise
        return None


async def _read_backlog(database_url: str) -> Backlog:
    conn = await asyncpg.connect(database_url, timeout=5)
    try:
        row = await conn.fetchrow(REFINER_BACKLOG_SQL, timeout=5)
    finally:
        await conn.close()
    assert row is not None
    return Backlog(to_refine=int(row["to_refine"]), unsent=int(row["unsent"]))


def _refiner_metric(refiner_url: str, name: str) -> float:
    text = httpx.get(f"{refiner_url}/metrics", timeout=2, trust_env=False).text
    for family in text_string_to_metric_families(text):
        if family.name == name:
            return sum(s.value for s in family.samples if not s.name.endswith("_created"))
    return math.nan


def router_metrics(router_url: str) -> dict[str, float]:
    """The router's consumer lag (summed over partitions) and records processed so far."""
    text = httpx.get(f"{router_url}/metrics", timeout=2, trust_env=False).text
    found = {"lag": 0.0, "records": 0.0}
    for family in text_string_to_metric_families(text):
        if family.name == LAG_METRIC:
            found["lag"] = sum(s.value for s in family.samples)
        elif family.name == RECORDS_METRIC:
            found["records"] = sum(s.value for s in family.samples if s.name.endswith("_total"))
    return found


def routers_metrics(router_urls: Sequence[str]) -> dict[str, float]:
    """Lag and records summed over every router of the group (each reports only the partitions
    it has processed, so the sum is the group's)."""
    found = {"lag": 0.0, "records": 0.0}
    for url in router_urls:
        for key, value in router_metrics(url).items():
            found[key] += value
    return found


def notifier_boards(notifier_url: str) -> dict[str, float]:
    """Board reads and snapshots the notifier made for signing-in consoles so far (NaN each
    when it does not count them: a notifier from before it shared reads)."""
    found = dict.fromkeys(BOARD_METRICS.values(), math.nan)
    with contextlib.suppress(httpx.HTTPError, ValueError):
        text = httpx.get(f"{notifier_url}/metrics", timeout=2, trust_env=False).text
        for family in text_string_to_metric_families(text):
            if family.name in BOARD_METRICS:
                found[BOARD_METRICS[family.name]] = sum(
                    s.value for s in family.samples if s.name.endswith("_total")
                )
    return found


WRITTEN_METRIC = "winback_notifier_frame_written_seconds"


def notifier_written(notifier_url: str) -> dict[float, float]:
    """The notifier's publish-to-written histogram so far: cumulative count per bucket bound
    (empty when it does not keep one: a notifier from before it did)."""
    buckets: dict[float, float] = {}
    with contextlib.suppress(httpx.HTTPError, ValueError):
        text = httpx.get(f"{notifier_url}/metrics", timeout=2, trust_env=False).text
        for family in text_string_to_metric_families(text):
            if family.name == WRITTEN_METRIC:
                for sample in family.samples:
                    if sample.name.endswith("_bucket"):
                        buckets[float(sample.labels["le"])] = sample.value
    return buckets


PROBE_INTERVAL = 1.0
"""Seconds between samples. Rendering the router's ``/metrics`` (every histogram) cost the router
3.6-6.7 % of its ticks at four reads a second (docs/performance.md, section 16): the harness must
not load what it measures. A peak lag sampled once a second is still the burst's peak within a
second's worth of records."""


class Probe:
    """Samples ``pids`` and the routers every ``interval`` seconds until stopped (the lag is the
    group's: summed over the routers at each sample)."""

    def __init__(
        self,
        pids: Mapping[str, int],
        router_urls: Sequence[str],
        interval: float = PROBE_INTERVAL,
    ) -> None:
        self.pids = dict(pids)
        self.router_urls = list(router_urls)
        self.interval = interval
        self.peak_lag = 0.0
        self._peak_rss = dict.fromkeys(self.pids, 0)
        self._cpu_start: dict[str, float] = {}
        self._cpu_seen: dict[str, float] = {}
        self._cpu: dict[str, float] = {}
        self._wall = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-probe", daemon=True)

    def add(self, name: str, pid: int) -> None:
        """Also sample a process started after the probe (the generator)."""
        self._cpu_start[name] = cpu_seconds(pid)
        self._peak_rss[name] = 0
        self.pids[name] = pid

    def _sample(self) -> None:
        for name, pid in list(self.pids.items()):
            self._peak_rss[name] = max(self._peak_rss.get(name, 0), _rss_bytes(pid))
            # A process that has exited reads as 0 s: keep the last figure it had.
            self._cpu_seen[name] = max(self._cpu_seen.get(name, 0.0), cpu_seconds(pid))
        with contextlib.suppress(httpx.HTTPError, ValueError):
            self.peak_lag = max(self.peak_lag, routers_metrics(self.router_urls)["lag"])

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    @property
    def wall_seconds(self) -> float:
        """How long the last ``running`` block sampled (0 before it ends)."""
        return self._wall

    def usage(self) -> dict[str, Usage]:
        """Per process, over the probe's life."""
        return {
            name: Usage(
                cpu_percent=100 * self._cpu.get(name, math.nan) / self._wall
                if self._wall > 0
                else math.nan,
                peak_rss_mb=self._peak_rss.get(name, 0) / 2**20,
            )
            for name in self.pids
        }

    @contextlib.contextmanager
    def running(self) -> Iterator[Probe]:
        """Sample while the ``with`` block runs; CPU is counted from its start to its end."""
        started = time.monotonic()
        self._cpu_start.update({n: cpu_seconds(p) for n, p in self.pids.items()})
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self._sample()
            self._wall = time.monotonic() - started
            self._cpu = {
                n: self._cpu_seen.get(n, 0.0) - self._cpu_start.get(n, 0.0) for n in self.pids
            }
