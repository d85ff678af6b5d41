"""The load harness's ingest ÷ bare endpoint, with the rest of the pipeline working and paused.

    .venv/bin/python scripts/perf/ingest_in_stack.py --seconds 5 --rounds 3

A measuring aid for ``docs/performance.md`` (section 13), not the harness itself. It starts the
harness's stack (``winback_local.bench``: ingest, router, notifier, refiner; Kafka and
PostgreSQL unless ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` name them) and its bare
FastAPI endpoint, then per round runs the harness's own closed loops
(``experiments.closed_loop_rate``'s: the Go generator, 32 connections, unique promoters; the
window timed around the generator's run alone, not the signing before it): the
bare endpoint, ingest as the harness runs it (the router and refiner consuming the same records
meanwhile), and ingest with the router and refiner stopped (SIGSTOP, then SIGCONT), so the
router's lag is drained afterwards. Each line gives the rates, ingest ÷ bare, and every stack
process's CPU over the window (100 % = one core): what the rest of the pipeline takes from
ingest in the harness's figure. ``--profile PREFIX`` records ingest with py-spy in round 1
(``PREFIX.running.folded``, ``PREFIX.paused.folded``). Everything started is stopped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

from winback_local.bench import bare_endpoint, experiments, loadgen, stats
from winback_local.bench.deliveries import PROMOTER_NPS
from winback_local.bench.environment import running_stack
from winback_local.bench.loadgen import Plan

PAUSED = ("router", "refiner")


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds each process (with its children) has used so far."""
    used: dict[str, float] = {}
    for name, pid in pids.items():
        process = psutil.Process(pid)
        tree = [process, *process.children(recursive=True)]
        used[name] = sum(sum(p.cpu_times()[:2]) for p in tree)
    return used


@contextlib.contextmanager
def stopped(pids: list[int]) -> Iterator[None]:
    """These processes stopped (SIGSTOP) for the block, continued whatever happens."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def main() -> None:
    """Start the stack and the bare endpoint, alternate the three closed loops, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", default=None, metavar="PREFIX", help="py-spy outputs")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ingest-in-stack-"))
    spy = Path(sys.executable).with_name("py-spy")
    binary = loadgen.build()
    with running_stack(work / "stack") as (info, stack):
        pids = stack.pids()
        bench = experiments.Bench(binary, work, info, pids)

        def closed_loop(
            name: str, url: str, ceiling: float, profile: str | None
        ) -> tuple[float, str]:
            """The harness's closed loop on ``url`` (``experiments.closed_loop_rate``, with the
            signing left out of the window): its rate, and each process's CPU share."""
            count = min(int(ceiling * args.seconds), experiments.CLOSED_LOOP_MAX_REQUESTS)
            requests, out = bench.prepare(name, count, nps=PROMOTER_NPS)
            plan = Plan(
                requests=requests,
                out=out,
                url=url,
                duration=args.seconds,
                connections=experiments.CLOSED_LOOP_CONNECTIONS,
            )
            recorder = None
            if profile is not None:
                recorder = subprocess.Popen(
                    [
                        *(str(spy), "record", "-r", "200", "--format", "raw", "--nonblocking"),
                        *("--duration", str(round(args.seconds)), "--pid", str(pids["ingest"])),
                        *("-o", profile),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            before, started = cpu_seconds(pids), time.monotonic()
            rate = stats.completion_rate(bench.run(plan, timeout=args.seconds + 60).acks)
            wall = time.monotonic() - started
            after = cpu_seconds(pids)
            if recorder is not None:
                recorder.wait(timeout=60)
            shares = ", ".join(
                f"{process} {100 * (after[process] - before[process]) / wall:.0f}%"
                for process in pids
            )
            return rate, shares

        with bare_endpoint.running(work, "fastapi") as bare_url:
            for round_ in range(args.rounds):
                first = round_ == 0 and args.profile is not None
                bare = closed_loop("bare", f"{bare_url}/webhooks/bench", 10000, None)
                running = closed_loop(
                    "ingest",
                    bench.webhook_url,
                    5000,
                    f"{args.profile}.running.folded" if first else None,
                )
                bench.wait_idle(120)
                with stopped([pids[name] for name in PAUSED if name in pids]):
                    paused = closed_loop(
                        "ingest-paused",
                        bench.webhook_url,
                        5000,
                        f"{args.profile}.paused.folded" if first else None,
                    )
                bench.wait_idle(120)
                lines = {"bare": bare, "ingest": running, "ingest, router+refiner stopped": paused}
                for label, (rate, shares) in lines.items():
                    print(
                        f"round {round_ + 1} {label:31} {rate:6.0f} req/s"
                        f"  ÷ bare {rate / bare[0]:.2f}  CPU: {shares}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
