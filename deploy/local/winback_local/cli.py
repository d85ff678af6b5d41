"""``winback``: run the whole pipeline locally and talk to it.

winback run [--brokers 3]           start everything; Ctrl-C stops everything
winback run --ingest 2 --routers 3 --notifiers 2 --partitions 12   several of each
winback run --http-port 18000 --kafka-port 19092 --state-dir .winback-b   a second stack
winback send --nps 2 --reason "agent lacked product knowledge"
winback send --file response.json   post your own body (--file - reads stdin), signed
winback send --file typeform.json --source typeform-nps   a vendor's body to your own source
winback send --nps 10 --no-wait   post and return at once (default: wait up to 10 s for its fate)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from winback_local.stack_info import STATE_DIR

# Parsing the options needs only argparse: each command imports its module when it runs (a
# sub-command registry in functions), so `winback --help` and `winback send` never load what
# `winback run` needs (Kafka and PostgreSQL clients, every service's settings). A test in
# tests/unit/test_cli_imports.py keeps it so.


def run(args: argparse.Namespace) -> int:
    """``winback run``: see :mod:`winback_local.commands.run`."""
    from winback_local.commands import run as command

    return command.run(args)


def send(args: argparse.Namespace) -> int:
    """``winback send``: see :mod:`winback_local.commands.send`."""
    from winback_local.commands import send as command

    return command.send(args)


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``winback`` command's options."""
    parser = argparse.ArgumentParser(
        prog="winback", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    runner = commands.add_parser("run", help="start the whole pipeline locally")
    runner.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        default=1,
        help="Kafka nodes: 3 runs a replicated cluster (RF 3, min.insync.replicas 2)",
    )
    for flag, default, what in (
        ("--ingest", 1, "ingest processes"),
        ("--routers", 1, "router processes (one consumer group: they split the partitions)"),
        ("--notifiers", 1, "notifier processes (each console may connect to any)"),
    ):
        runner.add_argument(flag, type=positive, default=default, metavar="N", help=what)
    runner.add_argument(
        "--partitions",
        type=positive,
        default=None,
        metavar="N",
        help="partitions of each topic the stack creates (WINBACK_TOPIC_PARTITIONS; default 6);"
        " more routers than partitions idle",
    )
    runner.add_argument(
        "--http-port",
        type=int,
        default=8000,
        metavar="PORT",
        help="ingest's port; the router, notifier, refiner and outbound take the next four"
        " (default 8000)",
    )
    runner.add_argument(
        "--kafka-port",
        type=int,
        default=9092,
        metavar="PORT",
        help="the local broker's port; its controller takes the next (default 9092)",
    )
    runner.add_argument(
        "--state-dir",
        type=Path,
        default=STATE_DIR,
        help="where data, logs, the demo secret and tokens live (default .winback/)",
    )
    runner.add_argument(
        "--new-token",
        action="store_true",
        help="issue the demo logins new tokens instead of reusing the saved ones",
    )
    runner.set_defaults(func=run)
    sender = commands.add_parser("send", help="post a signed survey response")
    body = sender.add_mutually_exclusive_group(required=True)
    body.add_argument(
        "--nps", type=int, choices=range(11), metavar="0-10", help="a sample response's NPS"
    )
    sender.add_argument("--reason", action="append", help="a chosen reason (repeatable)")
    sender.add_argument("--comment")
    sender.add_argument("--follow-up", action="store_true", help="customer asked to be contacted")
    body.add_argument(
        "--file",
        metavar="PATH",
        help="post this JSON body instead of a sample (- reads stdin), signed for the demo source"
        " or --source",
    )
    sender.add_argument(
        "--source",
        metavar="NAME",
        help="with --file: post to this source of your WINBACK_SOURCES (exported in this shell),"
        " signed the way its vendor signs (docs/sources.md)",
    )
    sender.add_argument(
        "--state-dir",
        type=Path,
        default=STATE_DIR,
        help="the state folder of the `winback run` to post to: its ports and demo secret"
        " (default .winback/)",
    )
    waiting = sender.add_mutually_exclusive_group()
    waiting.add_argument(
        "--wait",
        type=float,
        default=10,
        metavar="SECONDS",
        help="after the 202, wait up to this long for what the router made of it: a case, a"
        " response stored without one, or a dead letter (default 10)",
    )
    waiting.add_argument(
        "--no-wait",
        dest="wait",
        action="store_const",
        const=0,
        help="print ingest's answer and return at once",
    )
    sender.set_defaults(func=send)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``winback`` command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
