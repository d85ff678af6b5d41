"""``python -m winback_local.chaos [--short | --scale] [--brokers 1|3] [--rate 40] [--json]``.

Starts a private stack (loopback, free ports, its own state directory), drives a steady signed
detractor load with vendor retries, keeps a console connected, kills and restarts the pieces in
turn, and prints what was accepted, stored, lost, duplicated and never shown, and how long each
fault took to recover from. Exit status 0 only if nothing was lost, duplicated or never shown.

``--scale`` runs several of each (2 ingest, 3 routers, 2 notifiers, a console on each notifier)
while a router leaves for good, a new one joins, another and a notifier crash and restart.

``--given-infrastructure`` (``--short`` and ``--scale`` only: they kill neither the broker nor
PostgreSQL) runs the services on ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` instead, with the
topics and consumer group of ``WINBACK_TOPIC_*`` / ``WINBACK_ROUTER_GROUP``: how the test suite
runs them, on its own broker and a schema of its own, without starting a second Kafka and
PostgreSQL.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import signal
import sys
from datetime import UTC, datetime
from types import FrameType

from winback_local.chaos.plan import FULL, SCALE, SHORT
from winback_local.chaos.run import Options, Result, run
from winback_local.chaos.tally import format_table
from winback_local.stack import Instances


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m winback_local.chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help="under a minute: one router kill and one notifier kill (what CI runs)",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="about a minute: 2 ingest, 3 routers, 2 notifiers; routers leave, join, crash",
    )
    parser.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        default=None,
        help="Kafka nodes; with 3 the broker fault kills the ingest partition's leader "
        "(default: 3 for the full run, 1 for --short)",
    )
    parser.add_argument("--rate", type=float, default=40.0, help="new deliveries per second")
    parser.add_argument("--consoles", type=int, default=1, help="websocket consoles held open")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--keep-state", action="store_true", help="keep the state dir (service logs)"
    )
    parser.add_argument(
        "--given-infrastructure",
        action="store_true",
        help="--short/--scale only: run on KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL "
        "(with WINBACK_TOPIC_* and WINBACK_ROUTER_GROUP) instead of a private Kafka and PostgreSQL",
    )
    args = parser.parse_args(argv)
    if args.given_infrastructure and not (args.short or args.scale):
        parser.error("--given-infrastructure: the full run kills the broker and PostgreSQL")
    if args.given_infrastructure and not (
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("DATABASE_URL")
    ):
        parser.error("--given-infrastructure needs KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL")
    if args.rate <= 0 or args.consoles < 1:
        parser.error("--rate must be positive and --consoles at least 1")
    if args.short and args.scale:
        parser.error("--short and --scale are two different runs: choose one")
    if args.brokers is None:
        args.brokers = 1 if args.short or args.scale else 3
    return args


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM unwinds like Ctrl-C, so the ``finally`` that stops the stack runs (once)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def describe(result: Result, kind: str) -> str:
    """The human-readable report."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = (
        f"winback fault harness ({kind}), {when}, {platform.machine()} "
        f"{os.cpu_count()} CPUs; {result.brokers} broker(s); {result.rate:g} deliveries/s; "
        f"stack started in {result.stack_start_seconds} s, run {result.wall_seconds} s"
    )
    verdict = "OK" if result.ok else "FAILED: something lost, duplicated or never shown"
    return f"{head}\n\n{format_table(result.counts, result.recoveries)}\n\nverdict: {verdict}"


def main(argv: list[str] | None = None) -> int:
    """Run the harness; print the tables (or JSON)."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    kind = "short" if args.short else "scale" if args.scale else "full"
    options = Options(
        plan={"short": SHORT, "scale": SCALE, "full": FULL}[kind],
        brokers=args.brokers,
        instances=Instances(ingest=2, router=3, notifier=2) if args.scale else Instances(),
        rate=args.rate,
        consoles=args.consoles,
        keep_state=args.keep_state,
        given_infrastructure=args.given_infrastructure,
    )
    print("starting a private stack and the load ...", file=sys.stderr, flush=True)
    try:
        result = run(options)
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr, flush=True)
        return 130
    if args.json:
        print(json.dumps({**dataclasses.asdict(result), "ok": result.ok}, indent=2))
    else:
        print(describe(result, kind), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
