"""End-to-end alert latency: signed webhook POST -> pop-up on an agent console's websocket.

    uv run python -m winback_local.bench_latency --count 1000
    uv run python -m winback_local.bench_latency --count 200 --rate 50 --json

The product promise is "a detractor's answer becomes a pop-up within a second", so this measures
exactly that path and nothing narrower: it starts its own stack (real Kafka, PostgreSQL and the
three services as child processes, in a temporary state dir on free ports, or the Kafka and
PostgreSQL that ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` name, as ``Stack`` does), connects
one console over the websocket like a browser would, and posts signed detractor responses.

For every ``response_id`` it records the monotonic time just before the POST, the time of the
202 (ingest's acknowledgement, which already includes Kafka's acknowledgement of the write) and
the time the matching ``case.opened`` alert arrived on the websocket. Sender and reader share one
clock because they run in one process.

Two passes are measured:

* sequential: one response at a time, each waiting for its own alert -- the experience of a
  single agent watching the console, with no queueing in the pipeline;
* load: ``--count`` responses with ``--concurrency`` in flight (optionally paced by ``--rate``),
  which shows whether latency holds up while the pipeline is busy.

It is bounded: ``--timeout`` caps the measurement (the stack's own start-up has its own limits),
after which it reports what it has and exits non-zero if any alert is missing. It only ever
talks to loopback, and the stack is stopped in a ``finally`` whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from winback_local.signing import sample_response, signed_request
from winback_local.stack import Ports, Stack, StackInfo

DETRACTOR_NPS = 2
DETRACTOR_REASON = "agent lacked product knowledge"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
PERCENTILES = (50, 90, 99)


class BenchError(RuntimeError):
    """The benchmark could not run as asked (the figures would be meaningless)."""


def require_loopback(url: str) -> None:
    """Refuse anything but loopback: a load generator must never hit a shared system by mistake."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK_HOSTS:
        raise BenchError(f"refusing non-loopback target {url!r}")


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile: always a value that was actually observed, never interpolated."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(seconds: list[float]) -> dict[str, float | int]:
    """Count and p50/p90/p99/max in milliseconds (NaN-free: empty lists give only the count)."""
    values = sorted(seconds)
    if not values:
        return {"n": 0}
    summary: dict[str, float | int] = {"n": len(values)}
    for pct in PERCENTILES:
        summary[f"p{pct}_ms"] = round(percentile(values, pct) * 1000, 1)
    summary["max_ms"] = round(values[-1] * 1000, 1)
    summary["mean_ms"] = round(sum(values) / len(values) * 1000, 1)
    return summary


class AlertCollector:
    """Receive times of ``case.opened`` alerts keyed by ``response_id``, with waiters.

    A future is registered before each POST so that an alert arriving before the 202 (possible:
    the router may beat the HTTP response back) is never missed.
    """

    def __init__(self) -> None:
        self.received: dict[str, float] = {}
        self.duplicates = 0
        self.unexpected = 0
        self._waiters: dict[str, asyncio.Future[float]] = {}

    def expect(self, response_id: str) -> asyncio.Future[float]:
        """A future resolved with the receive time of this response's alert."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiters[response_id] = future
        return future

    def record(self, response_id: str, at: float) -> None:
        """Note an alert; only the first one per response counts (redelivery is allowed)."""
        if response_id in self.received:
            self.duplicates += 1
            return
        waiter = self._waiters.pop(response_id, None)
        if waiter is None:
            self.unexpected += 1  # e.g. an older stack's case on a shared DATABASE_URL/Kafka
            return
        self.received[response_id] = at
        if not waiter.done():
            waiter.set_result(at)

    def fail_all(self, error: BaseException) -> None:
        """Wake every waiter: the websocket is gone, so no alert can arrive any more."""
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(error)


@dataclass
class Phase:
    """What one pass sent, what ingest acknowledged, and what the console received."""

    name: str
    concurrency: int
    rate: float | None
    sent: dict[str, float] = field(default_factory=dict)
    acked: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, float] = field(default_factory=dict)
    started: float = 0.0
    sending_done: float = 0.0
    finished: float = 0.0

    def note_status(self, status: str) -> None:
        """Count an HTTP status (or the name of a transport error)."""
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def report(self) -> dict[str, Any]:
        """The figures of this pass, JSON-ready."""
        end_to_end = [self.alerts[r] - self.sent[r] for r in self.alerts if r in self.sent]
        ingest = [self.acked[r] - self.sent[r] for r in self.acked]
        send_span = self.sending_done - self.started
        alert_span = (max(self.alerts.values()) - self.started) if self.alerts else 0.0
        return {
            "phase": self.name,
            "concurrency": self.concurrency,
            "rate_limit_per_s": self.rate,
            "sent": len(self.sent),
            "accepted_202": len(self.acked),
            "http_statuses": dict(sorted(self.statuses.items())),
            "alerts_received": len(self.alerts),
            "missing_alerts": len(self.acked) - len([r for r in self.acked if r in self.alerts]),
            "end_to_end": summarise(end_to_end),
            "ingest_202": summarise(ingest),
            "sent_per_s": round(len(self.sent) / send_span, 1) if send_span > 0 else None,
            "alerts_per_s": round(len(self.alerts) / alert_span, 1) if alert_span > 0 else None,
            "wall_seconds": round(self.finished - self.started, 2),
        }


class Bench:
    """One websocket console plus an HTTP sender against a running stack."""

    def __init__(self, info: StackInfo, deadline: float, alert_wait: float) -> None:
        for url in (info.ingest_url, info.notifier_url):
            require_loopback(url)
        self.info = info
        self.deadline = deadline
        self.alert_wait = alert_wait
        self.collector = AlertCollector()
        self.snapshot_cases = 0
        self.socket_error: str | None = None
        self._webhook_url = f"{info.ingest_url}/webhooks/{info.source}"

    def remaining(self) -> float:
        """Seconds left before the overall timeout."""
        return max(0.0, self.deadline - time.monotonic())

    async def run(self, args: argparse.Namespace) -> list[Phase]:
        """Connect the console, then run warm-up, sequential and load passes in that order.

        Warm-up is not reported: it absorbs first-request costs (connection set-up, Kafka
        metadata, prepared statements, cold imports and caches) that would otherwise land on
        the first sequential samples and say nothing about steady-state latency.
        """
        ws_url = self.info.notifier_url.replace("http://", "ws://", 1) + "/ws"
        require_loopback(ws_url)
        limits = httpx.Limits(
            max_connections=max(args.concurrency, 1), max_keepalive_connections=args.concurrency
        )
        async with (
            connect(ws_url, max_size=None, open_timeout=10, proxy=None) as socket,
            httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as http,
        ):
            await self._authenticate(socket)
            reader = asyncio.create_task(self._read_alerts(socket), name="alerts-reader")
            try:
                phases: list[Phase] = []
                if args.warmup:
                    await self._sequential(http, Phase("warmup", 1, None), args.warmup)
                if args.sequential:
                    phases.append(
                        await self._sequential(http, Phase("sequential", 1, None), args.sequential)
                    )
                if args.count:
                    load = Phase("load", args.concurrency, args.rate)
                    phases.append(await self._concurrent(http, load, args.count))
                return phases
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def _authenticate(self, socket: ClientConnection) -> None:
        """Send the token first, as the console page does; expect hello, then the snapshot."""
        await socket.send(json.dumps({"type": "auth", "token": self.info.agent_token}))
        async with asyncio.timeout(15):
            hello = json.loads(await socket.recv())
            if hello.get("type") != "hello":
                raise BenchError(f"expected hello, got {hello!r:.200}")
            snapshot = json.loads(await socket.recv())
            if snapshot.get("type") != "snapshot":
                raise BenchError(f"expected snapshot, got {snapshot!r:.200}")
        self.snapshot_cases = len(snapshot.get("cases", []))

    async def _read_alerts(self, socket: ClientConnection) -> None:
        """Timestamp each frame on arrival (before parsing) and hand alerts to the collector."""
        try:
            while True:
                frame = await socket.recv()
                at = time.monotonic()
                message = json.loads(frame)
                if message.get("type") == "case.opened":
                    self.collector.record(str(message["case"]["response_id"]), at)
        except ConnectionClosed as exc:
            self.socket_error = f"websocket closed: {exc}"
            self.collector.fail_all(exc)

    async def _post_one(self, http: httpx.AsyncClient, phase: Phase) -> asyncio.Future[float]:
        """Sign and post one detractor response; return the future of its alert."""
        payload = sample_response(nps=DETRACTOR_NPS, reasons=[DETRACTOR_REASON])
        response_id: str = payload["response_id"]
        body, headers = signed_request(self.info.secret, payload)
        alert = self.collector.expect(response_id)
        alert.add_done_callback(lambda f: _note_alert(phase, response_id, f))
        phase.sent[response_id] = time.monotonic()
        try:
            response = await http.post(self._webhook_url, content=body, headers=headers)
        except asyncio.CancelledError:
            phase.note_status("cancelled at timeout")
            alert.cancel()
            raise
        except httpx.HTTPError as exc:
            phase.note_status(type(exc).__name__)
            alert.cancel()
            return alert
        if response.status_code == 202:
            phase.acked[response_id] = time.monotonic()
        else:
            alert.cancel()
        phase.note_status(str(response.status_code))
        return alert

    async def _sequential(self, http: httpx.AsyncClient, phase: Phase, count: int) -> Phase:
        """Post, wait for that alert (bounded), repeat: latency with an idle pipeline."""
        phase.started = time.monotonic()
        for _ in range(count):
            if self.remaining() <= 0 or self.socket_error:
                break
            alert = await self._post_one(http, phase)
            if not alert.done():
                # A late alert still counts (with its real latency): the future stays registered.
                await asyncio.wait({alert}, timeout=min(self.alert_wait, self.remaining()))
        phase.sending_done = phase.finished = time.monotonic()
        return phase

    async def _concurrent(self, http: httpx.AsyncClient, phase: Phase, count: int) -> Phase:
        """Keep ``concurrency`` POSTs in flight (paced by ``rate`` if set), then await alerts."""
        alerts: list[asyncio.Future[float]] = []
        next_index = iter(range(count))
        phase.started = time.monotonic()

        async def worker() -> None:
            for index in next_index:  # shared iterator: each index is taken by one worker
                if self.remaining() <= 0 or self.socket_error:
                    return
                if phase.rate:
                    due = phase.started + index / phase.rate
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                alerts.append(await self._post_one(http, phase))

        workers = [asyncio.create_task(worker()) for _ in range(phase.concurrency)]
        try:
            async with asyncio.timeout(self.remaining()):
                await asyncio.gather(*workers)
        except TimeoutError:
            pass  # report what was sent
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        phase.sending_done = time.monotonic()
        pending = [a for a in alerts if not a.done()]
        if pending and self.remaining() > 0:
            await asyncio.wait(pending, timeout=self.remaining())
        phase.finished = time.monotonic()
        for alert in alerts:
            alert.cancel()  # no-op for resolved ones; silences never-retrieved futures
        return phase


def _note_alert(phase: Phase, response_id: str, alert: asyncio.Future[float]) -> None:
    if not alert.cancelled() and alert.exception() is None:
        phase.alerts[response_id] = alert.result()


@contextlib.contextmanager
def running_stack(keep_state: bool) -> Iterator[tuple[StackInfo, Path, float]]:
    """A stack of its own on free ports in a temporary state dir, always stopped afterwards.

    Free ports and a fresh directory mean a developer's ``winback run`` (or a test run) on the
    default ports is neither disturbed nor measured by mistake.
    """
    state_dir = Path(tempfile.mkdtemp(prefix="winback-bench-"))
    stack = Stack(state_dir, Ports.free())
    # One source sends everything here; the per-source rate limit would measure itself, not the
    # pipeline. The services inherit this process's environment.
    os.environ.setdefault("WINBACK_RATE_PER_SOURCE", "1000000")
    os.environ.setdefault("WINBACK_RATE_BURST", "1000000")
    try:
        started = time.monotonic()
        info = stack.start()
        yield info, state_dir, time.monotonic() - started
    finally:
        stack.stop()
        if not keep_state:
            shutil.rmtree(state_dir, ignore_errors=True)


def _raise_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception so the ``finally`` that stops the stack runs.

    Further SIGTERMs are ignored from then on: a second one must not abort the clean-up half-way
    and leave a broker or database behind (the clean-up is itself bounded in time).
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


async def _measure(bench: Bench, args: argparse.Namespace) -> list[Phase]:
    """Run the bench with SIGTERM cancelling it cleanly, rather than raising mid-callback."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await bench.run(args)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _raise_on_sigterm)


def format_report(result: dict[str, Any]) -> str:
    """The human-readable report."""
    lines = [
        f"winback end-to-end latency (loopback, {result['cpus']} CPUs; stack started in "
        f"{result['stack_start_seconds']} s; kafka {result['kafka']}; "
        f"{result['snapshot_cases']} open cases in the first snapshot)",
    ]
    for phase in result["phases"]:
        pace = f", rate {phase['rate_limit_per_s']}/s" if phase["rate_limit_per_s"] else ""
        lines.append("")
        lines.append(
            f"{phase['phase']} pass: concurrency {phase['concurrency']}{pace}, "
            f"{phase['wall_seconds']} s wall"
        )
        lines.append(
            f"  sent {phase['sent']}  202s {phase['accepted_202']}  "
            f"alerts {phase['alerts_received']}  missing {phase['missing_alerts']}  "
            f"statuses {phase['http_statuses']}"
        )
        for label, key in (
            ("end-to-end (POST -> ws alert)", "end_to_end"),
            ("ingest ack   (POST -> 202)   ", "ingest_202"),
        ):
            s = phase[key]
            if not s["n"]:
                lines.append(f"  {label}: no samples")
                continue
            lines.append(
                f"  {label}: p50 {s['p50_ms']:8.1f}  p90 {s['p90_ms']:8.1f}  "
                f"p99 {s['p99_ms']:8.1f}  max {s['max_ms']:8.1f}  mean {s['mean_ms']:8.1f} ms"
            )
        lines.append(
            f"  throughput: {phase['sent_per_s']} responses/s sent, "
            f"{phase['alerts_per_s']} alerts/s delivered"
        )
    extras = []
    if result["duplicate_alerts"]:
        extras.append(f"{result['duplicate_alerts']} duplicate alerts")
    if result["unexpected_alerts"]:
        extras.append(f"{result['unexpected_alerts']} alerts for responses not sent by this run")
    if result["socket_error"]:
        extras.append(result["socket_error"])
    if result["timed_out"]:
        extras.append("overall timeout reached")
    if extras:
        lines.append("")
        lines.append("notes: " + "; ".join(extras))
    lines.append("")
    lines.append("verdict: " + ("OK" if result["ok"] else "FAILED (missing alerts or errors)"))
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m winback_local.bench_latency",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=1000, help="responses in the load pass")
    parser.add_argument("--concurrency", type=int, default=8, help="POSTs in flight (load pass)")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="target responses per second in the load pass (default: unlimited)",
    )
    parser.add_argument(
        "--sequential",
        type=int,
        default=100,
        help="responses sent one at a time, each awaiting its alert (0: skip)",
    )
    parser.add_argument(
        "--warmup", type=int, default=10, help="unreported sequential responses sent first"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300,
        help="seconds for all measurement (after the stack is up)",
    )
    parser.add_argument(
        "--alert-wait",
        type=float,
        default=10,
        help="seconds a sequential response waits for its alert",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--keep-state",
        action="store_true",
        help="keep the temporary state dir (service logs) for investigation",
    )
    args = parser.parse_args(argv)
    if args.count < 0 or args.sequential < 0 or args.warmup < 0:
        parser.error("counts must not be negative")
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Start a private stack, measure, report; 0 only if every accepted response alerted."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    if not args.json:
        print(
            "starting Kafka, PostgreSQL, ingest, router and notifier ...",
            file=sys.stderr,
            flush=True,
        )
    with running_stack(args.keep_state) as (info, state_dir, start_seconds):
        deadline = time.monotonic() + args.timeout
        bench = Bench(info, deadline, args.alert_wait)
        if not args.json:
            print("measuring ...", file=sys.stderr, flush=True)
        try:
            phases = asyncio.run(_measure(bench, args))
        except asyncio.CancelledError:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("terminated; stopping the stack", file=sys.stderr, flush=True)
            raise SystemExit(128 + signal.SIGTERM) from None
        reports = [phase.report() for phase in phases]
        failed = (
            any(r["missing_alerts"] or r["accepted_202"] != r["sent"] for r in reports)
            or sum(r["sent"] for r in reports) < args.count + args.sequential
        )
        result: dict[str, Any] = {
            "cpus": os.cpu_count(),
            "stack_start_seconds": round(start_seconds, 1),
            "kafka": info.kafka_bootstrap_servers,
            "snapshot_cases": bench.snapshot_cases,
            "phases": reports,
            "duplicate_alerts": bench.collector.duplicates,
            "unexpected_alerts": bench.collector.unexpected,
            "socket_error": bench.socket_error,
            "timed_out": bench.remaining() <= 0,
            "ok": not failed and bench.socket_error is None,
            "state_dir": str(state_dir) if args.keep_state else None,
        }
    print(json.dumps(result, indent=2) if args.json else format_report(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
