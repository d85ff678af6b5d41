"""``winback run``: start the whole pipeline locally, say how to use it, stop it on Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from winback_local.stack import (
    DEMO_AGENT,
    DEMO_FLOOR_AGENT,
    OUTBOUND_KEYS_FILE,
    OUTBOUND_KEYS_VARIABLE,
    Instances,
    Ports,
    ServiceFailed,
    Stack,
    StackInfo,
    StartCancelled,
)


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
    refiner = info.instance_urls.get("refiner", "(not running)")
    outbound = info.instance_urls.get("outbound", "(not running)")
    keys = (
        ""  # the user's own, already in their environment
        if os.environ.get(OUTBOUND_KEYS_VARIABLE)
        else f'  export {OUTBOUND_KEYS_VARIABLE}="$(cat {state_dir / OUTBOUND_KEYS_FILE})"\n'
    )
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
