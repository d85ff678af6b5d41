"""``python -m winback_local.bench``: one bounded run, calibration line first, then the tables.

    python -m winback_local.bench                      # 250, 500, 1,000, 2,000/s, 20 s each
    python -m winback_local.bench --rates 500,1000 --duration 30 --consoles 1,100,1000
    python -m winback_local.bench --short              # a few seconds per step (CI)
    python -m winback_local.bench --routers 2          # two router processes in one group
    WINBACK_REASON_MODEL_PATH=.../reason_model.npz python -m winback_local.bench --no-refiner
                                                       # the pipeline before refinement

Order of a run: build the generator (Go), start the stack (each service its own process, on
free ports; or the Kafka and PostgreSQL that ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL``
name), calibrate the generator against a bare endpoint at twice the highest rate, measure the
HTTP ceiling and ingest closed loop side by side, the consoles experiment (its largest step
also against a bare fan-out, the generator's floor), a warm-up at the lowest rate (not
reported; ``--warmup``), the rate sweep, then
the Kafka and PostgreSQL ceilings, and how long the refiner took to catch up after the sweep
(it runs niced beside the stack, off the hot path). Everything it starts is stopped at the end,
and every step has a time limit. Exit status 0 only if every accepted detractor reached every
reading console.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from winback_local.bench import bare_endpoint, ceilings, experiments, loadgen, probes, report
from winback_local.bench.deliveries import bodies
from winback_local.bench.environment import running_stack
from winback_local.bench.report import rate as rate_text
from winback_local.stack_info import service_of
from winback_shared.startup import DEFAULT_PARTITIONS

DEFAULT_RATES = (250.0, 500.0, 1000.0, 2000.0)
DEFAULT_CONSOLES = (1, 100, 1000)


def _numbers(text: str) -> list[float]:
    values = [float(part) for part in text.split(",") if part.strip()]
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("a comma-separated list of positive numbers")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; ``--short`` shortens every step unless told otherwise."""
    parser = argparse.ArgumentParser(
        prog="python -m winback_local.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--rates", type=_numbers, default=list(DEFAULT_RATES))
    parser.add_argument("--duration", type=float, help="seconds per rate (default 20; short 3)")
    parser.add_argument(
        "--consoles",
        type=_numbers,
        default=list(DEFAULT_CONSOLES),
        help="reading consoles per step of the consoles experiment (one more never reads)",
    )
    parser.add_argument("--console-alerts", type=int, help="alerts per consoles step (50; 10)")
    parser.add_argument(
        "--console-agents",
        type=int,
        default=1,
        help="sign the consoles in as this many agents, in turn, each with its own token "
        "(supervisors: every queue); 1 (default): all as the stack's demo agent",
    )
    parser.add_argument("--short", action="store_true", help="a few seconds per step")
    parser.add_argument(
        "--warmup",
        type=float,
        help="seconds at the lowest rate just before the sweep, not reported: the broker's JVM "
        "compiles its hot paths in its first minute under load, which a first step would "
        "measure instead (30; short 0)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (records, service logs)"
    )
    parser.add_argument(
        "--profile-consoles",
        action="store_true",
        help="the generator profiles its own consoles (loadgen.pprof in each consoles step; "
        "implies --keep): is the client the limit?",
    )
    parser.add_argument(
        "--routers",
        type=int,
        default=1,
        help="router processes in the consumer group (each its own column in the CPU table; "
        "at most WINBACK_TOPIC_PARTITIONS, 6 by default: one more would idle)",
    )
    parser.add_argument(
        "--no-refiner",
        action="store_true",
        help="leave the refiner out (with WINBACK_REASON_MODEL_PATH at the full model: the "
        "pipeline before refinement, for a before/after comparison)",
    )
    parser.add_argument(
        "--refiner-wait",
        type=float,
        help="seconds to wait for the refiner to catch up after the sweep (600; short 30)",
    )
    parser.add_argument(
        "--settle-wait",
        type=float,
        help="before each consoles step, seconds to wait at most for the refiner to have "
        "nothing left to re-code or to send a console (120; short 60); a step that starts "
        "unsettled says so",
    )
    args = parser.parse_args(argv)
    args.refiner_wait = args.refiner_wait or (30.0 if args.short else 600.0)
    args.settle_wait = args.settle_wait or (60.0 if args.short else 120.0)
    args.keep = args.keep or args.profile_consoles
    args.duration = args.duration or (3.0 if args.short else 20.0)
    if args.warmup is None:
        args.warmup = 0.0 if args.short else 30.0
    args.console_alerts = args.console_alerts or (10 if args.short else 50)
    args.step_seconds = 1.0 if args.short else 5.0
    args.ceiling_records = 1000 if args.short else 20000
    if args.duration > 300 or max(args.rates) > 20000 or max(args.consoles) > 5000:
        parser.error("bounded on purpose: at most 300 s per rate, 20,000/s, 5,000 consoles")
    partitions = int(os.environ.get("WINBACK_TOPIC_PARTITIONS") or DEFAULT_PARTITIONS)
    if not 1 <= args.routers <= partitions:
        parser.error(
            f"--routers between 1 and the topic's {partitions} partitions "
            "(WINBACK_TOPIC_PARTITIONS): a router without a partition has nothing to do"
        )
    if not 1 <= args.console_agents <= 5000:
        parser.error("--console-agents between 1 and 5,000")
    if args.refiner_wait > 3600 or args.settle_wait > 3600:
        parser.error("bounded on purpose: at most 3,600 s waiting for the refiner")
    return args


_STARTED = time.monotonic()


def _status(message: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


def _machine(argv: list[str] | None) -> str:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "-m", "winback_local.bench", *given])
    return (
        f"machine: {os.cpu_count()} CPUs, load average {load} at the start (other work included); "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: {command}"
    )


def run(args: argparse.Namespace, work: Path, argv: list[str] | None) -> report.Result:
    """Every step in order; the calibration line is printed as soon as it is known."""
    binary = loadgen.build()
    machine = _machine(argv)
    highest = max(args.rates)
    _status(
        "starting the stack: Kafka and PostgreSQL (unless given), ingest, router, notifier,"
        " refiner ..."
    )
    refiner = not args.no_refiner
    with running_stack(work / "stack", refiner=refiner, routers=args.routers) as (info, stack):
        bench = experiments.Bench(
            binary,
            work,
            info,
            stack.pids(),
            profile_consoles=args.profile_consoles,
            settle=experiments.CONSOLES_SETTLE_SECONDS,
            refiner_wait=None if args.no_refiner else args.settle_wait,
            console_agents=args.console_agents,
        )
        with bare_endpoint.running(work, "asgi") as plain_url:
            calibration = experiments.calibrate(bench, plain_url, highest, args.step_seconds)
        print(report.calibration_line(calibration, highest), flush=True)
        result = report.Result(machine=machine, calibration=calibration, cores=os.cpu_count())
        _status("HTTP ceiling: a bare FastAPI endpoint, then ingest, closed loop ...")
        with bare_endpoint.running(work, "fastapi") as bare_url:
            result.bare_rate = experiments.closed_loop_rate(
                bench, "bare", f"{bare_url}/webhooks/bench", args.step_seconds, 10000
            )
        result.ingest_rate = experiments.closed_loop_rate(
            bench, "ingest", bench.webhook_url, args.step_seconds, 5000
        )
        _wait_idle(bench, result, 120)
        for reading in args.consoles:
            _status(f"consoles: {int(reading)} reading, 1 not reading ...")
            step = experiments.consoles_step(bench, int(reading), args.console_alerts, rate=10)
            result.consoles.append(step)
            _settle_note(result, step)
            _wait_idle(bench, result, 60)
            if reading == max(args.consoles):
                _status(f"consoles: {int(reading)} on a bare fan-out (the generator's floor) ...")
                # Its snapshot as large as the notifier's just measured: the same sign-in work.
                size = step.snapshot_bytes
                with bare_endpoint.running(work, "consoles", snapshot_bytes=size) as fan_out_url:
                    bare = experiments.consoles_step(
                        bench, int(reading), args.console_alerts, 10, fan_out_url
                    )
                result.consoles.append(bare)
                _settle_note(result, bare)
        alert_wait = min(120.0, max(20.0, 3 * args.duration))
        if args.warmup > 0:
            _warm_up(bench, result, min(args.rates), args.warmup, alert_wait)
        for offered in args.rates:
            _status(f"sweep: {offered:g}/s for {args.duration:g} s ...")
            try:
                row = experiments.sweep_step(bench, offered, args.duration, alert_wait)
            except loadgen.BenchError as exc:
                # The steps measured so far are still figures (a machine too loaded for the
                # generator to finish in its time is no reason to lose the consoles rows).
                result.notes.append(f"sweep stopped at {rate_text(offered)}: {exc}")
                result.cut_short = True
                break
            result.sweep.append(row)
            _wait_idle(bench, result, alert_wait)
        if args.routers > 1:
            result.notes.append(_routers_note(bench))
        if not args.no_refiner:
            _status("waiting for the refiner to catch up ...")
            result.notes.append(_refiner_drain(stack.refiner_url, args.refiner_wait))
        _status("Kafka and PostgreSQL ceilings ...")
        same_bodies = bodies(args.ceiling_records)
        result.kafka_rate = asyncio.run(
            ceilings.kafka_passthrough(info.kafka_bootstrap_servers, same_bodies)
        )
        result.postgres_rate = asyncio.run(
            ceilings.postgres_inserts(info.database_url, same_bodies)
        )
    return result


def _warm_up(
    bench: experiments.Bench, result: report.Result, rate: float, seconds: float, wait: float
) -> None:
    """A step like the sweep's, whose figures are dropped: four 250/s steps in a row showed the
    broker's CPU falling 42 -> 18 % and the first step's pop-up p50 at 2 s against 0.3 s after
    (docs/performance.md, section 40). Its cases stay on the board like any step's."""
    _status(f"warm-up: {rate:g}/s for {seconds:g} s (not reported) ...")
    try:
        experiments.sweep_step(bench, rate, seconds, wait)
    except loadgen.BenchError as exc:
        result.notes.append(f"warm-up at {rate_text(rate)} failed ({exc}); the sweep ran cold")
        return
    result.notes.append(
        f"warm-up: {rate_text(rate)} for {seconds:g} s just before the sweep, not reported (the "
        "broker's JVM compiles its hot paths in its first minute under load)"
    )
    _wait_idle(bench, result, wait)


def _refiner_drain(url: str, timeout: float) -> str:
    """A note on the refiner's backlog after the sweep, how long it took to clear, and how long
    the refiner had yielded to the hot path until then."""
    started = time.monotonic()
    paused = probes.refiner_paused_seconds(url)
    refined = probes.refiner_refined(url)
    backlog = probes.refiner_pending(url)
    pending = backlog
    while pending > 0 and time.monotonic() - started < timeout:
        time.sleep(1)
        pending = probes.refiner_pending(url)
    waited = time.monotonic() - started
    head = f"refiner: {backlog:,.0f} responses pending after the sweep"
    if not math.isnan(paused):  # a refiner that yields
        head += f" (paused {paused:,.0f} s for the hot path until then)"
    # From the refiner's own count: a router still draining its backlog adds to the pending.
    done = probes.refiner_refined(url) - refined
    rate = f"{done / waited:,.0f} refined a second" if backlog > 0 < waited else ""
    if pending > 0:
        return f"{head}, {pending:,.0f} still after {waited:.0f} s ({rate})"
    return f"{head}, all refined {waited:.0f} s later" + (f" ({rate})" if rate else "")


def _routers_note(bench: experiments.Bench) -> str:
    """Records each router processed over the whole run: how the group split the work."""
    counts = []
    for name, url in bench.info.instance_urls.items():
        if service_of(name) == "router":
            try:
                counts.append(f"{name} {probes.router_metrics(url)['records']:,.0f}")
            except (httpx.HTTPError, ValueError):
                counts.append(f"{name} unknown")
    return "records processed per router over the run: " + ", ".join(counts)


def _settle_note(result: report.Result, step: experiments.ConsolesResult) -> None:
    """Say so when a consoles step started before the refiner had settled (it may be
    polluted: its frames column shows by how much)."""
    settled = step.settled
    if settled is None:
        return
    if not settled.settled:
        who = f"{step.reading:,} console{'' if step.reading == 1 else 's'}"
        who += ", bare fan-out" if step.target == "bare" else ""
        result.notes.append(f"consoles step ({who}) started unsettled: refiner {settled.text()}")
    elif settled.seconds > 1:
        _status(f"  refiner settled in {settled.seconds:.1f} s ({settled.text()})")


def _wait_idle(bench: experiments.Bench, result: report.Result, timeout: float) -> None:
    started = time.monotonic()
    if not bench.wait_idle(timeout):
        result.notes.append(
            f"the router had not caught up {timeout:.0f} s after step {bench.steps}; "
            "the next step started on its backlog"
        )
    elif time.monotonic() - started > 1:
        _status(f"  router caught up in {time.monotonic() - started:.1f} s")


def main(argv: list[str] | None = None) -> int:
    """Run, print the report, stop everything; 0 only if no alert went missing."""
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="winback-bench-"))
    try:
        result = run(args, work, argv)
        print("", report.render(result), sep="\n", flush=True)
        return 0 if result.all_alerts else 1
    except loadgen.BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            _status(f"records and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
