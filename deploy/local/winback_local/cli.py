"""``winback``: run the whole pipeline locally and talk to it.

winback run [--brokers 3]           start everything; Ctrl-C stops everything
winback send --nps 2 --reason "agent lacked product knowledge"
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

import httpx

from winback_local.signing import sample_response, signed_request
from winback_local.stack import Stack, load_info


def run(args: argparse.Namespace) -> int:
    """Start the stack, print how to use it, and stop it all on Ctrl-C or SIGTERM."""
    stack = Stack(brokers=args.brokers, outbound=True)
    stopping = False

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print("Starting Kafka, PostgreSQL, ingest, router, notifier and outbound ...", flush=True)
    try:
        info = stack.start()
        print(
            f"""
winback is running.

  Agent console   {info.notifier_url}/#token={info.agent_token}
  Webhook         POST {info.ingest_url}/webhooks/{info.source}   (Standard Webhooks signature)
  API docs        {info.ingest_url}/docs   {info.notifier_url}/docs
  Kafka           {info.kafka_bootstrap_servers}
  PostgreSQL      {info.database_url}
  Logs            .winback/logs/

Send a detractor response (a pop-up appears in the console):
  .venv/bin/winback send --nps 2 --reason "agent lacked product knowledge"
A promoter makes no alert:
  .venv/bin/winback send --nps 10

The tools (agents, reports, dead letters, re-coding) read the same database and broker:
  export DATABASE_URL='{info.database_url}' KAFKA_BOOTSTRAP_SERVERS={info.kafka_bootstrap_servers}
  .venv/bin/python -m winback_notifier.reports sla

Case events to a webhook, Slack or Teams (outbound, {info.outbound_url}/readyz; docs/outbound.md):
  .venv/bin/python -m winback_notifier.outbound subscribe floor --channel slack \\
      --url https://hooks.slack.com/services/... --event case.breached --max-priority 1

Ctrl-C stops everything.""",
            flush=True,
        )
        while not stopping:
            failed = stack.failed_service()
            if failed:
                print(f"{failed} stopped unexpectedly; see .winback/logs/{failed}.log", flush=True)
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("Stopping ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


def send(args: argparse.Namespace) -> int:
    """Sign and post one sample response to the running stack's demo source."""
    info = load_info()
    payload = sample_response(
        nps=args.nps, reasons=args.reason or [], comment=args.comment, follow_up=args.follow_up
    )
    body, headers = signed_request(info.secret, payload)
    response = httpx.post(
        f"{info.ingest_url}/webhooks/{info.source}", content=body, headers=headers, timeout=10
    )
    print(f"{response.status_code} {response.text}  (response_id {payload['response_id']})")
    return 0 if response.status_code == 202 else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``winback`` command."""
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
    runner.set_defaults(func=run)
    sender = commands.add_parser("send", help="post a signed sample survey response")
    sender.add_argument("--nps", type=int, required=True, choices=range(11), metavar="0-10")
    sender.add_argument("--reason", action="append", help="a chosen reason (repeatable)")
    sender.add_argument("--comment")
    sender.add_argument("--follow-up", action="store_true", help="customer asked to be contacted")
    sender.set_defaults(func=send)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
