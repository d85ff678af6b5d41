"""One harness run: a private stack, the load, the consoles, the faults in turn, the tally.

The stack is the harness's own: its own state directory, free loopback ports, its own
broker(s) and PostgreSQL, whatever ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` say (a harness
that kills the broker must never reach a shared one). Only when asked (``given_infrastructure``)
and only for a plan that kills neither the broker nor PostgreSQL (``--short``, ``--scale``) do
its services run on the broker and database those variables name, with the topics, schema and
consumer group of ``WINBACK_TOPIC_*`` and ``WINBACK_ROUTER_GROUP``: the test run's, which saves
starting a second Kafka and PostgreSQL. Everything it started is stopped in a ``finally``, on
success, on error and on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from winback_local.bench.environment import require_loopback
from winback_local.chaos.console import Console
from winback_local.chaos.faults import FaultInjector, FaultRecord
from winback_local.chaos.load import Delivery, Vendor, VendorHabits
from winback_local.chaos.plan import Plan
from winback_local.chaos.tally import (
    Counts,
    Recovery,
    StoredCase,
    count,
    read_stored,
    recoveries,
)
from winback_local.stack import Instances, Ports, Stack, StackInfo

LOAD_FINISH_SECONDS = 60
"""After the load stops, how long in-flight POSTs and persistent retries may take."""
CONSOLE_CONNECT_SECONDS = 30


@dataclass(frozen=True)
class Options:
    """How to run: the plan, the cluster size, the load and how many consoles watch."""

    plan: Plan
    brokers: int = 1
    instances: Instances = field(default_factory=Instances)
    """Processes of each service; the load is split over the ingests, and ``consoles`` are
    connected to each notifier."""
    rate: float = 40.0
    consoles: int = 1
    habits: VendorHabits = field(default_factory=VendorHabits)
    keep_state: bool = False
    given_infrastructure: bool = False
    """Run the services on ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL``; refused for a plan
    that kills the broker or PostgreSQL."""


@dataclass(frozen=True)
class Result:
    """What the run measured."""

    counts: Counts
    recoveries: list[Recovery]
    brokers: int
    rate: float
    stack_start_seconds: float
    wall_seconds: float
    state_dir: str | None

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing doubled, nothing kept from the console."""
        c = self.counts
        return c.lost == 0 and c.duplicated == 0 and c.never_shown == 0


def run(options: Options) -> Result:
    """Start a private stack, drive it through the plan, stop it, return the tally."""
    if options.given_infrastructure and options.plan.kills_infrastructure:
        raise ValueError("a plan that kills the broker or PostgreSQL needs a stack of its own")
    state_dir = Path(tempfile.mkdtemp(prefix="winback-chaos-"))
    # One source sends everything: its rate limit would otherwise be what the harness measures.
    os.environ.setdefault("WINBACK_RATE_PER_SOURCE", "1000000")
    os.environ.setdefault("WINBACK_RATE_BURST", "1000000")
    stack = Stack(
        state_dir,
        Ports.free(options.brokers),
        brokers=options.brokers,
        instances=options.instances,
        own_infrastructure=not options.given_infrastructure,
        demo_only=True,
    )
    try:
        started = time.monotonic()
        info = stack.start()
        stack_seconds = time.monotonic() - started
        for url in info.instance_urls.values():
            require_loopback(url)
        counts, recovered = asyncio.run(_drive(stack, info, options))
        return Result(
            counts=counts,
            recoveries=recovered,
            brokers=options.brokers,
            rate=options.rate,
            stack_start_seconds=round(stack_seconds, 1),
            wall_seconds=round(time.monotonic() - started, 1),
            state_dir=str(state_dir) if options.keep_state else None,
        )
    finally:
        stack.stop()
        if not options.keep_state:
            shutil.rmtree(state_dir, ignore_errors=True)


async def _drive(stack: Stack, info: StackInfo, options: Options) -> tuple[Counts, list[Recovery]]:
    plan = options.plan
    source, secret = info.demo_signing()
    ingests = info.urls_of("ingest")
    vendors = [
        Vendor(f"{url}/webhooks/{source}", secret, options.rate / len(ingests), options.habits)
        for url in ingests
    ]
    consoles = [
        Console(url.replace("http://", "ws://", 1) + "/ws", info.agent_token)
        for url in info.urls_of("notifier")
        for _ in range(options.consoles)
    ]
    stop_load, stop_consoles = asyncio.Event(), asyncio.Event()
    watching = [asyncio.create_task(c.run(stop_consoles)) for c in consoles]
    loading: list[asyncio.Task[None]] = []
    records: list[FaultRecord] = []
    try:
        async with asyncio.timeout(CONSOLE_CONNECT_SECONDS):
            await asyncio.gather(*(c.connected.wait() for c in consoles))
        loading = [asyncio.create_task(vendor.run(stop_load)) for vendor in vendors]
        await asyncio.sleep(plan.warmup_seconds)
        injector = FaultInjector(stack)
        for fault in plan.faults:
            records.append(await injector.inject(fault))
            await asyncio.sleep(plan.gap_seconds)
        stop_load.set()
        await asyncio.wait_for(asyncio.gather(*loading), LOAD_FINISH_SECONDS)
        deliveries = [d for vendor in vendors for d in vendor.deliveries]
        stored = await _drain(info, deliveries, consoles, plan.drain_seconds)
        stop_consoles.set()
        await asyncio.gather(*watching)
    finally:
        for task in [*watching, *loading]:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return (
        count(deliveries, stored, consoles),
        recoveries(records, deliveries, stored, consoles),
    )


async def _drain(
    info: StackInfo, deliveries: list[Delivery], consoles: list[Console], timeout_seconds: float
) -> list[StoredCase]:
    """Wait until every accepted delivery is stored and every case shown, or the time is up.

    The pipeline may still be working off a backlog from the last fault; what is missing once
    the time is up is what the tally reports.
    """
    deadline = time.monotonic() + timeout_seconds
    accepted = {d.response_id for d in deliveries if d.accepted}
    source, _ = info.demo_signing()
    while True:
        stored = await read_stored(info.database_url, source)
        stored_ids = {s.response_id for s in stored}
        case_ids = {s.case_id for s in stored if s.case_id is not None}
        shown = all(case_ids <= c.seen.keys() for c in consoles)
        if (accepted <= stored_ids and shown) or time.monotonic() > deadline:
            return stored
        await asyncio.sleep(1.0)
