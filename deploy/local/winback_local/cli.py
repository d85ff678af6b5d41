"""``winback``: run the whole pipeline locally and talk to it.

winback run [--brokers 3]           start everything; Ctrl-C stops everything
winback run --ingest 2 --routers 3 --notifiers 2 --partitions 12   several of each
winback run --http-port 18000 --kafka-port 19092 --state-dir .winback-b   a second stack
winback send --nps 2 --reason "agent lacked product knowledge"
winback send --file response.json   post your own body (--file - reads stdin), signed
winback send --file typeform.json --source typeform-nps   a vendor's body to your own source
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import httpx

from winback_local.signing import sample_response, signed_request
from winback_local.stack import (
    DEMO_AGENT,
    DEMO_FLOOR_AGENT,
    OUTBOUND_KEYS_FILE,
    OUTBOUND_KEYS_VARIABLE,
    STATE_DIR,
    STATE_FILE,
    Instances,
    Ports,
    ServiceFailed,
    Stack,
    StackInfo,
    StartCancelled,
    load_info,
)
from winback_local.vendor_signing import configured_source, vendor_request
from winback_shared.sources import SourceConfig


def stack_from(args: argparse.Namespace) -> Stack:
    """The stack ``winback run`` starts, from its options."""
    return Stack(
        args.state_dir,
        Ports(
            ingest=args.http_port,
            router=args.http_port + 1,
            notifier=args.http_port + 2,
            refiner=args.http_port + 3,
            outbound=args.http_port + 4,
            kafka=args.kafka_port,
            kafka_controller=args.kafka_port + 1,
        ),
        brokers=args.brokers,
        instances=Instances(
            ingest=args.ingest, router=args.routers, notifier=args.notifiers, outbound=1
        ),
        partitions=args.partitions,
        new_token=args.new_token,
    )


def run(args: argparse.Namespace) -> int:
    """Start the stack, print how to use it, and stop it all on Ctrl-C or SIGTERM."""
    stack = stack_from(args)
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(
        "Starting Kafka, PostgreSQL, ingest, router, notifier, refiner and outbound ...", flush=True
    )
    try:
        try:
            info = stack.start(should_stop=lambda: stopping)
        except (ServiceFailed, TimeoutError) as failure:
            # What failed and why, without a traceback: a port taken is the usual cause.
            print(f"winback run could not start: {failure}", file=sys.stderr, flush=True)
            return 1
        except (StartCancelled, subprocess.CalledProcessError):
            # A terminal's Ctrl-C also reaches a tool the start runs in the foreground (Kafka's
            # storage tool on a first start), which then fails: that is the stop, not an error.
            if not stopping:
                raise
            print("Asked to stop while starting.", flush=True)
            return 0
        print(describe(info, stack.state_dir), flush=True)
        while not stopping:
            failed = stack.failed_service()
            if failed:
                log = stack.state_dir / "logs" / f"{failed}.log"
                print(f"{failed} stopped unexpectedly; see {log}", flush=True)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("Stopping ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


def describe(info: StackInfo, state_dir: Path) -> str:
    """What a newcomer needs: where everything is, how to send a response, where the secret is."""
    if info.source is not None:
        webhooks = f"POST {info.ingest_url}/webhooks/{info.source}   (Standard Webhooks signature)"
        secret = f"{info.secret_path}   (print it: cat {info.secret_path})"
        sending = """Send a detractor response (a pop-up appears in the console):
  .venv/bin/winback send --nps 2 --reason "agent lacked product knowledge"
A promoter makes no alert:
  .venv/bin/winback send --nps 10
A body of your own (the README's generic example saved to a file; - reads stdin):
  .venv/bin/winback send --file response.json"""
    else:
        webhooks = f"POST {info.ingest_url}/webhooks/<source>   (your WINBACK_SOURCES)"
        secret = "your sources' own (WINBACK_SOURCES / WINBACK_SOURCES_FILE; no demo source)"
        sending = f"""Your vendors post to the webhook above, signed with their source's secret.
A first test delivery, in a shell with the same WINBACK_SOURCES (or _FILE) exported: save a body
in the vendor's format (each vendor's example is in {info.ingest_url}/docs), then
  .venv/bin/winback send --file PATH --source NAME
signs it the way that vendor does, with the source's first secret."""
    instances = "\n".join(
        f"  {name:<15} {url}" for name, url in info.instance_urls.items() if "-" in name
    )
    more = f"\nMore instances\n{instances}\n" if instances else ""
    # The agent's console is the one to open first: a supervisor is never counted on the floor,
    # so with only the supervisor's open the ops page rightly warns that nobody works the queue.
    consoles = (
        f"  Agent console   {info.notifier_url}/#token={info.floor_token}"
        f"   ({DEMO_FLOOR_AGENT}, queue default: on the floor while open)\n"
        f"  Supervisor      {info.notifier_url}/#token={info.agent_token}"
        f"   ({DEMO_AGENT}: every queue)"
        if info.floor_token
        else f"  Agent console   {info.notifier_url}/#token={info.agent_token}"
    )
    refiner = info.instance_urls.get("refiner", "(not running)")
    outbound = info.instance_urls.get("outbound", "(not running)")
    keys = (
        ""  # the user's own, already in their environment
        if os.environ.get(OUTBOUND_KEYS_VARIABLE)
        else f'  export {OUTBOUND_KEYS_VARIABLE}="$(cat {state_dir / OUTBOUND_KEYS_FILE})"\n'
    )
    return f"""
winback is running.

{consoles}
  Ops page        {info.notifier_url}/ops#token={info.agent_token}
  Webhook         {webhooks}
  Signing secret  {secret}
  API docs        {info.ingest_url}/docs   {info.notifier_url}/docs
  Refiner         {refiner}/metrics   (re-codes with the full model, off the hot path)
  Kafka           {info.kafka_bootstrap_servers}
  PostgreSQL      {info.database_url}
  Logs            {state_dir / "logs"}/
{more}
The console URLs stay valid across restarts of this state folder (--new-token for new ones).

{sending}

The tools (agents, reports, dead letters, re-coding) read the same database and broker:
  export DATABASE_URL='{info.database_url}' KAFKA_BOOTSTRAP_SERVERS={info.kafka_bootstrap_servers}
{keys}  .venv/bin/python -m winback_notifier.reports sla

Case events to a webhook, Slack or Teams (outbound, {outbound}/readyz; docs/outbound.md):
  .venv/bin/python -m winback_notifier.outbound subscribe floor --channel slack \\
      --url https://hooks.slack.com/services/... --event case.breached --max-priority 1

Ctrl-C stops everything."""


def send(args: argparse.Namespace) -> int:
    """Sign and post one response to the running stack: a sample built from the options to the
    demo source, or the JSON body of ``--file`` to the demo source or ``--source``."""
    info = load_info(args.state_dir / STATE_FILE.name)
    if args.source is not None and args.file is None:
        raise SystemExit("--source goes with --file: a sample (--nps) is for the demo source")
    if args.file is not None:
        if args.reason or args.comment or args.follow_up:
            raise SystemExit(
                "--reason, --comment and --follow-up shape a sample; with --file,"
                " write them into the file's JSON"
            )
        url, body, headers = file_request(info, args.file, sys.stdin, args.source)
        response = post(url, body, headers)
        print(f"{response.status_code} {response.text}")
        return 0 if response.status_code == 202 else 1
    payload = sample_response(
        nps=args.nps,
        reasons=args.reason or [],
        comment=args.comment,
        follow_up=args.follow_up,
        varied_customer=True,
    )
    source, secret = info.demo_signing()
    body, headers = signed_request(secret, payload)
    response = post(f"{info.ingest_url}/webhooks/{source}", body, headers)
    print(f"{response.status_code} {response.text}  (response_id {payload['response_id']})")
    return 0 if response.status_code == 202 else 1


def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST to ingest; an ingest that does not answer is a clear exit, not a traceback."""
    try:
        return httpx.post(url, content=body, headers=headers, timeout=10)
    except httpx.TransportError as failure:
        raise SystemExit(
            f"ingest at {url} does not answer ({failure}): is `make run` running?"
        ) from None


def file_request(
    info: StackInfo,
    path: str,
    stdin: TextIO,
    source: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> tuple[str, bytes, dict[str, str]]:
    """(URL, body, headers) posting the JSON in ``path`` (``-``: stdin) to ``source`` as its
    vendor would: the demo source when none is named, else one of the user's sources (from
    ``environ``, as ``make run`` read them). Signed over exactly the bytes read, so what ingest
    verifies is what the user wrote."""
    payload, body = read_body(path, stdin)
    if source is None or source == info.source:
        if info.source is None:
            raise SystemExit(
                "this stack serves your own WINBACK_SOURCES, not the demo source: name the source"
                " to post to with --source NAME, with the same WINBACK_SOURCES /"
                " WINBACK_SOURCES_FILE exported in this shell (docs/sources.md)"
            )
        name, secret = info.demo_signing()
        config = SourceConfig.model_validate({"vendor": "generic", "secrets": [secret]})
    else:
        name, config = source, configured_source(environ, source)
    body, headers = vendor_request(config, payload, body)
    return f"{info.ingest_url}/webhooks/{name}", body, headers


def read_body(path: str, stdin: TextIO) -> tuple[dict[str, Any], bytes]:
    """The bytes of ``path`` (``-``: stdin), refused with a clear exit unless a JSON object."""
    where = "stdin" if path == "-" else path
    try:
        text = stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as failure:
        raise SystemExit(f"cannot read {where}: {failure}") from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as failure:
        raise SystemExit(
            f"{where} is not JSON ({failure}): `winback send --file` posts a JSON body as is"
        ) from None
    if not isinstance(parsed, dict):
        raise SystemExit(
            f"{where} holds JSON but not an object: a delivery is one response object, like the"
            " README's example under Sending survey responses"
        )
    return parsed, text.encode()


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
    sender.set_defaults(func=send)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``winback`` command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
