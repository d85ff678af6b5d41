"""The steps of one harness run: calibration, ceilings, consoles, and one rate of the sweep.

Every step writes its signed requests just before it runs, runs the generator once, and turns
its records into figures (:mod:`winback_local.bench.stats`). Between steps the harness waits,
bounded, until the router has processed every response accepted so far, so a step never pays
for the backlog of the one before it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from winback_local.bench import console_agents, loadgen, settle, stats
from winback_local.bench.deliveries import DETRACTOR_NPS, PROMOTER_NPS, write_signed
from winback_local.bench.loadgen import Consoles, Plan, Records
from winback_local.bench.probes import (
    Probe,
    Usage,
    notifier_boards,
    notifier_written,
    refiner_backlog,
    routers_metrics,
)
from winback_local.bench.settle import Settled
from winback_local.stack import StackInfo

CLOSED_LOOP_CONNECTIONS = 32
IDLE_POLL_SECONDS = 1.0
"""How often the wait between steps reads the router's ``/metrics`` (each read costs the router a
render of every histogram; docs/performance.md, section 16). It only decides when the next step
may start; the drain time reported comes from the alerts' own arrival times."""
CLOSED_LOOP_MAX_REQUESTS = 20000
"""Signing costs the harness about 0.4 ms a request; a closed-loop run that uses them all up
before its time simply ends early, its rate still measured over what it sent."""
CONSOLES_SETTLE_SECONDS = 1.0
"""The consoles steps' pause between the last snapshot read and the first alert (the generator
collects its garbage first): the alerts then measure the fan-out alone (section 18)."""
CALIBRATION_FACTOR = 2
"""The generator must reach this multiple of the highest target rate against the bare endpoint."""
CALIBRATION_TOLERANCE = 0.98
"""Timer jitter over a few seconds: reaching 98% of the offered rate counts as reaching it."""


@dataclass
class Bench:
    """The generator's binary, the stack under test, and what was sent to it so far."""

    binary: Path
    work: Path
    info: StackInfo
    pids: dict[str, int]
    accepted: int = 0
    steps: int = 0
    profile_consoles: bool = False
    """Have the generator profile itself in the consoles steps (``loadgen.pprof``)."""
    settle: float = 0.0
    """Seconds between the consoles' last snapshot and the first alert (``Consoles.settle``)."""
    refiner_wait: float | None = None
    """Before each consoles step, wait at most this long for the refiner to have nothing left
    to send a console (:mod:`winback_local.bench.settle`); None: a stack without a refiner."""
    console_agents: int = 1
    """Agents the consoles sign in as, in turn (:mod:`winback_local.bench.console_agents`);
    1: every console as the stack's demo agent."""
    _tokens_file: Path | None = None

    @property
    def router_urls(self) -> list[str]:
        """Every router of the stack (``--routers``): one consumer group, partitions split."""
        return self.info.urls_of("router") or [self.info.router_url]

    @property
    def webhook_url(self) -> str:
        """Ingest's endpoint for the stack's source."""
        return f"{self.info.ingest_url}/webhooks/{self.info.demo_signing()[0]}"

    def consoles(self, reading: int, slow: int = 0, settle: float = 0.0) -> Consoles:
        """Consoles signed in as the stack's demo agent (a supervisor: it sees every queue), or
        as ``console_agents`` agents in turn (supervisors too; their tokens issued once)."""
        ws_url = self.info.notifier_url.replace("http://", "ws://", 1) + "/ws"
        if self.console_agents > 1 and self._tokens_file is None:
            self._tokens_file = console_agents.write_tokens(
                self.work / "console-agents.txt", self.info.database_url, self.console_agents
            )
        return Consoles(
            ws_url,
            self.info.agent_token,
            reading,
            slow,
            settle=settle,
            tokens_file=self._tokens_file,
        )

    def prepare(self, name: str, count: int, *, nps: int = DETRACTOR_NPS) -> tuple[Path, Path]:
        """Sign ``count`` fresh requests for a step; return their file and the step's directory."""
        self.steps += 1
        step_dir = self.work / f"{self.steps:02d}-{name}"
        step_dir.mkdir(parents=True)
        requests = step_dir / "requests.jsonl"
        write_signed(requests, self.info.demo_signing()[1], count, nps=nps)
        return requests, step_dir

    def run(self, plan: Plan, timeout: float, probe: Probe | None = None) -> Records:
        """Run the generator once; count what ingest accepted."""
        process = loadgen.start(self.binary, plan)
        if probe is not None:
            probe.add("loadgen", process.pid)
        try:
            records = loadgen.finish(process, plan, timeout)
        finally:
            if process.poll() is None:  # interrupted (SIGTERM, Ctrl-C): never leave it running
                process.kill()
                process.wait()
        if plan.url == self.webhook_url:
            self.accepted += len(stats.accepted(records.acks))
        return records

    def settle_refiner(self) -> Settled | None:
        """Wait (bounded) until the refiner has nothing left to re-code or to send; None
        without a refiner."""
        if self.refiner_wait is None:
            return None
        database_url = self.info.database_url
        return settle.wait_until_settled(lambda: refiner_backlog(database_url), self.refiner_wait)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the router has processed every accepted response (False if it did not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if routers_metrics(self.router_urls)["records"] >= self.accepted:
                    return True
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(IDLE_POLL_SECONDS)
        return False


@dataclass(frozen=True)
class Calibration:
    """The generator against the bare endpoint, open loop."""

    offered: float
    achieved: float
    ack: stats.Percentiles
    slip: stats.Percentiles
    failures: dict[str, int]
    required: float

    @property
    def ok(self) -> bool:
        """Did the generator keep its schedule at the required rate?"""
        return self.achieved >= CALIBRATION_TOLERANCE * self.required and not self.failures


def calibrate(bench: Bench, bare_url: str, highest_rate: float, seconds: float) -> Calibration:
    """Offer ``CALIBRATION_FACTOR`` times the highest target rate to the bare endpoint."""
    rate = CALIBRATION_FACTOR * highest_rate
    requests, out = bench.prepare("calibration", int(rate * seconds))
    plan = Plan(requests=requests, out=out, url=f"{bare_url}/webhooks/bench", rate=rate)
    records = bench.run(plan, timeout=seconds + 60)
    return Calibration(
        offered=rate,
        achieved=stats.completion_rate(records.acks),
        ack=stats.ack_latencies(records.acks),
        slip=stats.send_slip(records.acks),
        failures=stats.failures(records.acks),
        required=rate,
    )


def closed_loop_rate(bench: Bench, name: str, url: str, seconds: float, ceiling: float) -> float:
    """Accepted requests per second with ``CLOSED_LOOP_CONNECTIONS`` always busy.

    Promoters (no case, no alert) so the flood costs the router as little as it can; ``ceiling``
    bounds how many requests are signed for it.
    """
    count = min(int(ceiling * seconds), CLOSED_LOOP_MAX_REQUESTS)
    requests, out = bench.prepare(name, count, nps=PROMOTER_NPS)
    plan = Plan(
        requests=requests,
        out=out,
        url=url,
        duration=seconds,
        connections=CLOSED_LOOP_CONNECTIONS,
    )
    return stats.completion_rate(bench.run(plan, timeout=seconds + 60).acks)


@dataclass(frozen=True)
class Quiet:
    """Between the last console's snapshot and the first alert: how long, the generator's CPU
    while it idled, and the pings the consoles read before and during the alerts (a ping answered
    late is a console the machine starved; one inside the alerts shares their time)."""

    after_snapshot: float
    cpu: float
    pings_before: int
    pings_during: int

    @classmethod
    def of(cls, summary: dict[str, Any]) -> Quiet | None:
        """Read from the generator's ``summary.json`` (``None`` if it ran no consoles)."""
        quiet = summary.get("quiet")
        if not isinstance(quiet, dict):
            return None
        return cls(
            after_snapshot=int(quiet["after_snapshot_us"]) / 1e6,
            cpu=int(quiet["cpu_us"]) / 1e6,
            pings_before=int(quiet["pings_before"]),
            pings_during=int(summary.get("pings_during") or 0),
        )


@dataclass(frozen=True)
class Frames:
    """What the reading consoles read beside the step's alerts (the generator's count): each
    console's frames while the alerts arrived (from the first alert due until every console
    had every alert) that were not a request's first ``case.opened``, those summed over the
    consoles by frame type, and the frames all of them read between their snapshot and the
    first alert. The step measured one alert's fan-out alone when ``besides`` is all zeros."""

    besides: tuple[int, ...]
    by_type: dict[str, int]
    before: int

    @classmethod
    def of(cls, summary: dict[str, Any]) -> Frames | None:
        """Read from the generator's ``summary.json`` (None: no consoles, or an older one)."""
        frames = summary.get("frames")
        if not isinstance(frames, dict):
            return None
        return cls(
            besides=tuple(int(n) for n in frames.get("besides") or []),
            by_type={str(k): int(v) for k, v in (frames.get("by_type") or {}).items()},
            before=int(frames.get("before") or 0),
        )

    def per_console(self) -> tuple[int, int]:
        """Frames beside the alerts per console: the median console's and the most any had."""
        if not self.besides:
            return 0, 0
        ordered = sorted(self.besides)
        return ordered[(len(ordered) - 1) // 2], ordered[-1]


@dataclass(frozen=True)
class ConsolesResult:
    """One alert to many consoles, one more console not reading at all."""

    reading: int
    signed_in: int
    """Consoles (the one not reading included) that got their hello and snapshot."""
    connect_seconds: float
    fanout: stats.Fanout
    slow: list[dict[str, object]]
    errors: list[str]
    usage: dict[str, Usage] = field(default_factory=dict)
    """CPU and RSS over the step: the notifier's next to the generator's (its consoles), so a
    reader sees which side of the socket was the limit."""
    seconds: float = 0.0
    """How long the step ran: with ``usage``, the CPU seconds each side spent, which on a
    shared machine compare better than wall-clock times."""
    board_reads: float = math.nan
    """Board reads the notifier made for this step's snapshots (consoles share them)."""
    snapshots: float = math.nan
    target: str = "notifier"
    """``notifier``, or ``bare`` for the calibration against a bare fan-out
    (:mod:`winback_local.bench.bare_consoles`): the generator's own floor."""
    signin: dict[str, stats.Percentiles] = field(default_factory=dict)
    """Each console's sign-in by stage (``stats.signin_stages``), and the snapshot's size."""
    snapshot_bytes: int = 0
    written: tuple[float, float] = (math.nan, math.nan)
    """The notifier's own publish-to-written p50 and p99 over the step (seconds, histogram
    bucket bounds): the server's side of one alert's fan-out, without the client's."""
    quiet: Quiet | None = None
    """The pause before the first alert, as the generator measured it."""
    settled: Settled | None = None
    """The wait for the refiner before the step (None: no refiner in the stack)."""
    frames: Frames | None = None
    """What the consoles read beside the alerts: a polluted step shows here."""

    def cpu_seconds(self, process: str) -> float:
        """CPU seconds ``process`` spent over the step (NaN if it was not sampled)."""
        usage = self.usage.get(process)
        return math.nan if usage is None else usage.cpu_seconds(self.seconds)


def consoles_step(
    bench: Bench, reading: int, alerts: int, rate: float, bare_url: str | None = None
) -> ConsolesResult:
    """``alerts`` detractors at ``rate`` while ``reading`` consoles and one slow one listen:
    on the notifier, or (``bare_url``) on the bare fan-out that calibrates the generator."""
    settled = bench.settle_refiner()
    requests, out = bench.prepare(f"consoles-{reading}{'-bare' if bare_url else ''}", alerts)
    consoles = bench.consoles(reading, slow=1, settle=bench.settle)
    url = bench.webhook_url
    if bare_url is not None:
        ws_url = bare_url.replace("http://", "ws://", 1) + "/ws"
        consoles = Consoles(ws_url, "bare", reading, 1, settle=bench.settle)
        url = f"{bare_url}/webhooks/bench"
    plan = Plan(
        requests=requests,
        out=out,
        url=url,
        rate=rate,
        consoles=consoles,
        alert_wait=30.0,
        cpu_profile=out / "loadgen.pprof" if bench.profile_consoles else None,
    )
    probe = Probe(bench.pids, bench.router_urls)
    boards_before = notifier_boards(bench.info.notifier_url)
    written_before = notifier_written(bench.info.notifier_url)
    started = time.monotonic()
    with probe.running():
        records = bench.run(plan, timeout=alerts / rate + 90 + consoles.signin_limit, probe=probe)
    seconds = time.monotonic() - started
    boards = notifier_boards(bench.info.notifier_url)
    written = notifier_written(bench.info.notifier_url)
    if bare_url is not None:  # the notifier had no part in it
        boards = boards_before
        written = written_before
    return ConsolesResult(
        reading=reading,
        signed_in=int(records.summary.get("consoles_ready", 0)),
        connect_seconds=records.summary["console_connect_us"] / 1e6,
        # Measured over the consoles that signed in; those that did not are counted as lost.
        fanout=stats.fanout(records.acks, records.arrivals, records.summary.get("signed_in") or []),
        slow=list(records.summary.get("slow") or []),
        errors=list(records.summary.get("console_errors") or []),
        usage=probe.usage(),
        seconds=seconds,
        board_reads=math.nan if bare_url else boards["reads"] - boards_before["reads"],
        snapshots=math.nan if bare_url else boards["snapshots"] - boards_before["snapshots"],
        target="notifier" if bare_url is None else "bare",
        signin=stats.signin_stages(records.signins),
        snapshot_bytes=max((row["snapshot_bytes"] for row in records.signins), default=0),
        written=(
            stats.bucket_quantile(written_before, written, 0.5),
            stats.bucket_quantile(written_before, written, 0.99),
        ),
        quiet=Quiet.of(records.summary),
        settled=settled,
        frames=Frames.of(records.summary),
    )


@dataclass(frozen=True)
class SweepRow:
    """One offered rate."""

    offered: float
    sent: int
    achieved: float
    alert_rate: float
    ack: stats.Percentiles
    popup: stats.Percentiles
    alerts: int
    expected: int
    peak_lag: float
    drain_seconds: float
    failures: dict[str, int]
    slow: list[dict[str, object]] = field(default_factory=list)
    usage: dict[str, Usage] = field(default_factory=dict)
    seconds: float = math.nan
    """How long the probe sampled (consoles signing in, the load, the wait for its alerts):
    with ``usage``, the CPU seconds each process spent on the step's responses."""

    @property
    def complete(self) -> bool:
        """Every accepted response was alerted inside the step, so its work is in ``usage``."""
        return self.alerts == self.expected and not self.failures

    def cpu_ms_per_response(self, process: str) -> float:
        """Milliseconds of one core ``process`` spent a response alerted in the step (NaN if it
        was not sampled or nothing was alerted). Only a :attr:`complete` step's figure is the
        whole cost: otherwise work for responses still queued is counted against fewer."""
        usage = self.usage.get(process)
        if usage is None or not self.alerts or math.isnan(self.seconds):
            return math.nan
        return 1000 * usage.cpu_seconds(self.seconds) / self.alerts


def sweep_step(bench: Bench, rate: float, seconds: float, alert_wait: float) -> SweepRow:
    """Offer ``rate`` detractors per second for ``seconds`` to one listening console.

    A second console stops reading after its snapshot: at these volumes its buffers fill, so
    the notifier must drop it (1013) without the listening console's pop-ups waiting for it.
    """
    requests, out = bench.prepare(f"rate-{rate:g}", max(1, int(rate * seconds)))
    plan = Plan(
        requests=requests,
        out=out,
        url=bench.webhook_url,
        rate=rate,
        consoles=bench.consoles(1, slow=1),
        alert_wait=alert_wait,
    )
    probe = Probe(bench.pids, bench.router_urls)
    with probe.running():
        limit = seconds + alert_wait + 60 + Consoles.signin_limit
        records = bench.run(plan, timeout=limit, probe=probe)
    accepted = stats.accepted(records.acks)
    alerted = stats.first_arrivals(records.arrivals)
    return SweepRow(
        offered=rate,
        sent=len(records.acks),
        achieved=stats.completion_rate(records.acks),
        alert_rate=stats.alert_rate(records.arrivals),
        ack=stats.ack_latencies(records.acks),
        popup=stats.popup_latencies(records.acks, records.arrivals),
        alerts=sum(1 for a in accepted if a.index in alerted),
        expected=len(records.acks),
        peak_lag=probe.peak_lag,
        drain_seconds=stats.drain_seconds(records.acks, records.arrivals),
        failures=stats.failures(records.acks),
        slow=list(records.summary.get("slow") or []),
        usage=probe.usage(),
        seconds=probe.wall_seconds,
    )
