"""How fast the router drains records, and how long a record waits for its alert.

    .venv/bin/python scripts/perf/router_drain.py --count 4000            # this checkout
    .venv/bin/python scripts/perf/router_drain.py --count 4000 --compare /tmp/router-before

A measuring aid for ``docs/performance.md``, not the load harness (that is
``winback_local.bench*``): it isolates the router. Each run gets a fresh schema and fresh topics
on the broker and server ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` name, writes ``--count``
ingest envelopes (generic-format detractors with comments, each with its own response id, and
optionally a share of re-deliveries and undecodable records), then starts the router in-process
and times it until every record is committed. ``--rate`` writes while the router runs instead of
before, and then the figure that matters is the wait from a record's write to the
acknowledgement of its alert, read back from the alerts topic.

``--compare DIR`` runs the same measurement in child processes alternately against ``DIR`` (a
``git archive`` of another commit's ``services/router``, and of its ``shared`` too when the two
commits' schemas differ: the migrations live there) and this checkout, so both see the same
load from the rest of the machine; it prints each run and the ratio of the medians.
``--profile FILE`` writes a cProfile of the router's run (``python -m pstats FILE``).
``--coding-process`` codes in a worker process (``WINBACK_ROUTER_CODING_PROCESS``); the CPU a
record then counts the worker's too.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

COMMENTS = [
    "I waited forty minutes on hold and nobody called me back",
    "The agent did not know the product and was rude",
    "Billing charged me twice and the refund never came",
    None,
    "Fine I guess",
]


BENCH_BODY: list[bool] = [False]
"""Whether each body is the whole-stack bench's own (``--bench-body``)."""


def use_long_comment(wanted: bool, bench_body: bool = False, labelled: bool = False) -> None:
    """Give every record the bench's long comment (coding costs about 5x the short ones'), or
    the bench's whole body (its comment, chosen reason, customer and interaction), or the
    labelled comments in turn (``coding_same.comments``: the blind set's file is never
    opened), whose variety (unseen words, model-coded comments quoting a sentence) the
    bench's one comment lacks."""
    if wanted or bench_body:
        from winback_local.bench.deliveries import COMMENT

        COMMENTS[:] = [COMMENT]
    elif labelled:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from coding_same import comments

        COMMENTS[:] = [text for key, text in comments() if ":" in key]
    BENCH_BODY[0] = bench_body


def bench_body(response_id: str) -> dict[str, Any]:
    """The body the whole-stack bench posts (``bench/deliveries.py``), with this response id."""
    from winback_local.bench.deliveries import COMMENT, DETRACTOR_NPS, REASON
    from winback_local.signing import sample_response

    body = sample_response(nps=DETRACTOR_NPS, reasons=[REASON], comment=COMMENT)
    body["response_id"] = response_id
    return body


Spec = tuple[int, str | None, int]
"""A record to write: its index, its response id (None: undecodable) and its NPS."""


def specs(count: int, repeats: float, bad: float) -> list[Spec]:
    """``count`` records: detractors, a share re-delivered (edited) and a share undecodable."""
    out: list[Spec] = []
    for index in range(count):
        if bad and index % round(1 / bad) == 0:
            out.append((index, None, 0))
        elif repeats and index % round(1 / repeats) == 0 and index > 0:
            out.append((index, f"r-{index - 1}", 1))  # an edit of the one before
        else:
            out.append((index, f"r-{index}", 2 + index % 5))
    return out


def envelope(spec: Spec) -> bytes:
    """One ``survey.received`` record as ingest writes it (generic format), stamped now."""
    index, response_id, nps = spec
    if response_id is None:
        return b"{not json"
    body = (
        bench_body(response_id)
        if BENCH_BODY[0]
        else {
            "response_id": response_id,
            "survey_id": "bench",
            "submitted_at": datetime.now(UTC).isoformat(),
            "customer": {"id": f"c-{index}", "name": "Dana", "email": "dana@example.com"},
            "interaction": {"id": f"i-{index}", "channel": "phone", "agent": "Sam"},
            "scores": [{"kind": "nps", "value": nps}],
            "reasons": [],
            "comment": COMMENTS[index % len(COMMENTS)],
            "follow_up_requested": False,
        }
    )
    return json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": "survey.received",
            "version": 1,
            "occurred_at": datetime.now(UTC).isoformat(),
            "source": "survey",
            "vendor": "generic",
            "content_type": "application/json",
            "body": json.dumps(body),
        }
    ).encode()


async def produce(bootstrap: str, topic: str, planned: list[Spec], rate: float | None) -> None:
    """Write every record as fast as acks allow, or paced at ``rate`` per second (each stamped
    when it is written, so a record's wait starts when it was written)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        started = time.perf_counter()
        pending = []
        for spec in planned:
            if rate:
                delay = started + spec[0] / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            pending.append(await producer.send(topic, envelope(spec), key=str(spec[0]).encode()))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def alert_times(
    bootstrap: str, topic: str, expected: int, stop: asyncio.Event
) -> list[tuple[float, float]]:
    """When each opened case's alert reached the alerts topic, and when its record was
    written (its ``received_at``), as Unix times."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    times: list[tuple[float, float]] = []
    try:
        while len(times) < expected and not stop.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                for record in batch:
                    event = json.loads(record.value)
                    if event["type"] != "case.opened":
                        continue
                    received = datetime.fromisoformat(event["case"]["received_at"])
                    times.append((record.timestamp / 1000, received.timestamp()))
    finally:
        await consumer.stop()
    return times


async def drop_topics(bootstrap: str, names: list[str]) -> None:
    """Delete a run's topics: left-over partitions slow a shared broker down for everyone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.delete_topics([name for name in names if name in existing])
    finally:
        await admin.close()


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One run in this process, against whichever ``winback_router`` is importable."""
    from winback_router import kafka_stream
    from winback_router.adapters import AdapterContext
    from winback_router.adapters.vendor_api import VendorApiClient
    from winback_router.batch_store import PostgresBatchStore
    from winback_router.coding.compiler import load_and_compile
    from winback_router.consumer import RecoveryRouter, RouterTopics
    from winback_router.dead_letters.flood_guard import FloodGuard
    from winback_router.kafka_stream import KafkaPublisher, KafkaRecordSource
    from winback_router.settings import RouterSettings
    from winback_shared.db import create_pool
    from winback_shared.kafka import manual_commit_consumer, reliable_producer
    from winback_shared.startup import prepare_infrastructure
    from winback_shared.urls import with_query

    unique = uuid.uuid4().hex[:10]
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    base_url = os.environ["DATABASE_URL"]
    schema = f"perf_{unique}"
    admin = await asyncpg.connect(base_url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    topics = {
        "survey_responses": f"perf-responses-{unique}",
        "recovery_alerts": f"perf-alerts-{unique}",
        "dead_letters": f"perf-dead-{unique}",
        "case_events": f"perf-case-events-{unique}",
    }
    settings = RouterSettings(
        kafka_bootstrap_servers=bootstrap,
        database_url=with_query(base_url, search_path=schema),
        topics=topics,  # type: ignore[arg-type]
        router_group=f"perf-{unique}",
        use_reason_model=not args.rules_only,
    )
    pool = await create_pool(settings.database_url)
    await prepare_infrastructure(settings, pool)
    planned = specs(args.count, args.repeats, args.bad)
    if not args.rate:
        await produce(bootstrap, topics["survey_responses"], planned, None)
    # The producer the router's app builds (trees before section 23: the shared default).
    make_producer = getattr(kafka_stream, "alert_producer", reliable_producer)
    producer = make_producer(bootstrap)
    consumer = manual_commit_consumer(bootstrap, group_id=settings.router_group)
    router_args: dict[str, Any] = {}
    if args.max_batch and "max_batch" in inspect.signature(RecoveryRouter).parameters:
        router_args["max_batch"] = args.max_batch  # older routers fetch 500 at a time
    if args.batches_ahead is not None:
        router_args["batches_ahead"] = args.batches_ahead
    if args.normalise_ahead:
        router_args["normalise_ahead"] = True  # section 23's third stage (off by default)
    coding = None
    if args.coding_process:
        from winback_router.coding_process import CodingProcess

        coding = CodingProcess(settings.taxonomy_path, settings.reason_model)
        coding.start()
        router_args["coding_process"] = coding
    store_pool = pool
    if "reset_session" in inspect.signature(create_pool).parameters:  # as the router's app
        store_pool = await create_pool(
            settings.database_url, min_size=1, max_size=2, reset_session=False
        )
    counted = CountingPool(store_pool)
    router = RecoveryRouter(
        records=KafkaRecordSource(consumer),
        publisher=KafkaPublisher(producer),
        store=PostgresBatchStore(counted, settings.contact_policy()),  # type: ignore[arg-type]
        taxonomy=load_and_compile(settings.taxonomy_path, settings.reason_model),
        sources={"survey": _generic_source()},
        adapter_context=AdapterContext(api=VendorApiClient()),
        topics=RouterTopics(
            responses=topics["survey_responses"],
            alerts=topics["recovery_alerts"],
            dead_letters=topics["dead_letters"],
        ),
        flood_guard=FloodGuard(window=1000, max_ratio=1.0, min_records=1000),
        **router_args,
    )
    router.subscribe()
    await producer.start()
    await consumer.start()
    stop = asyncio.Event()
    profiler = cProfile.Profile() if args.profile else None
    loop_task = asyncio.create_task(router.run(stop))
    while not consumer.assignment():  # noqa: ASYNC110 -- time the routing, not the group's join
        await asyncio.sleep(0.01)
    started = time.perf_counter()
    cpu_started = _cpu(coding)
    rss_started = _rss_mb("VmRSS")
    _reset_peak_rss()
    if profiler:
        profiler.enable()
    started_at = time.time()
    # The generator and the alert reader run in their own process: no time from the router.
    spec = {
        "bootstrap": bootstrap,
        "responses": topics["survey_responses"],
        "alerts": topics["recovery_alerts"],
        "count": args.count,
        "repeats": args.repeats,
        "bad": args.bad,
        "rate": args.rate,
        "write": bool(args.rate),
        "long_comment": args.long_comment,
        "bench_body": args.bench_body,
        "labelled": args.labelled,
    }
    generator = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--load", json.dumps(spec), stdout=asyncio.subprocess.PIPE
    )
    waits: list[float] = []
    try:
        while True:
            committed = 0
            for tp in consumer.assignment():
                committed += await consumer.committed(tp) or 0
            if committed >= len(planned):
                break
            if time.perf_counter() - started > args.timeout:
                raise TimeoutError(f"only {committed} records committed after {args.timeout} s")
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        cpu = _cpu(coding) - cpu_started
        out, _ = await asyncio.wait_for(generator.communicate(), 60)
        times = json.loads(out.decode().strip().splitlines()[-1])
        # Paced: from each record's write. A backlog: from when the router started on it.
        waits = [alert - (received if args.rate else started_at) for alert, received in times]
    finally:
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        stop.set()
        await asyncio.wait({loop_task}, timeout=15)
        if coding is not None:
            coding.close()
        if generator.returncode is None:
            generator.kill()
        await consumer.stop()
        await producer.stop()
        async with pool.acquire() as conn:
            cases = await conn.fetchval("SELECT count(*) FROM recovery_cases")
            dead = await conn.fetchval("SELECT count(*) FROM dead_letters")
        if store_pool is not pool:
            await store_pool.close()
        await pool.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
        await drop_topics(bootstrap, list(topics.values()))
    waits.sort()
    batches = _batch_sizes()
    return {
        "records": len(planned),
        "seconds": round(elapsed, 3),
        "records_per_s": round(len(planned) / elapsed, 1),
        # This process's CPU (the router's loop and its coding thread, or its coding worker
        # process with --coding-process) per record: what a shared machine's load changes least.
        "cpu_ms_per_record": round(1000 * cpu / len(planned), 2),
        # This process's resident memory when the router started on the records, and its
        # peak from then on (with --coding-process, not the worker's).
        "rss_start_mb": round(rss_started, 1),
        "rss_peak_mb": round(_rss_mb("VmHWM"), 1),
        "batches": batches[0],
        "batch_records_mean": round(batches[1] / batches[0], 1) if batches[0] else None,
        # Each stage's wall time over the run, seconds (the router's own histogram): with
        # --rate, "fetch" includes waiting for records; "handover" is a coded batch waiting
        # for the one before it to commit.
        "stages_s": _stage_sums(),
        # The batch store's round trips to PostgreSQL per batch: its statements (BEGIN and
        # COMMIT included) plus the pool's reset query on each release, where the pool has one.
        "db_round_trips_per_batch": (
            round(counted.round_trips / batches[0], 2) if batches[0] else None
        ),
        "cases": cases,
        "dead_letters": dead,
        "alerts": len(waits),
        "first_alert_ms": round(1000 * waits[0], 1) if waits else None,
        "alert_wait_p50_ms": round(1000 * waits[len(waits) // 2], 1) if waits else None,
        "alert_wait_p99_ms": round(1000 * waits[int(len(waits) * 0.99)], 1) if waits else None,
    }


class CountingPool:
    """A pool as the batch store sees it, counting the round trips it costs: every statement
    (asyncpg's query logger sees each, BEGIN and COMMIT too) and, on each release, the reset
    query, unless the pool was made without one. A statement's first Parse on a connection
    (once per statement and connection) is not counted."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._resets = getattr(pool, "_reset", None) is None
        self.round_trips = 0

    def _logged(self, record: Any) -> None:
        self.round_trips += 1

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        async with self._pool.acquire() as conn:
            conn.add_query_logger(self._logged)
            try:
                yield conn
            finally:
                conn.remove_query_logger(self._logged)
                self.round_trips += self._resets


def _cpu(coding: Any) -> float:
    """CPU seconds of this process, plus its coding worker's (``--coding-process``)."""
    total = time.process_time()
    if coding is not None:
        import psutil

        for pid in coding.worker_pids():
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def _rss_mb(field: str) -> float:
    """``VmRSS`` or ``VmHWM`` (the peak) of this process, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(field)


def _reset_peak_rss() -> None:
    """Start ``VmHWM`` again from the present RSS (Linux: 5 written to ``clear_refs``), so the
    peak is the routing's, not the writing's before it."""
    Path("/proc/self/clear_refs").write_text("5")


def _batch_sizes() -> tuple[int, float]:
    """(batches, records) the router in this process fetched, from its own histogram (a fresh
    process per run, so since the start)."""
    from prometheus_client import REGISTRY

    count = REGISTRY.get_sample_value("winback_router_batch_records_count")
    total = REGISTRY.get_sample_value("winback_router_batch_records_sum")
    return int(count or 0), float(total or 0)


def _stage_sums() -> dict[str, float]:
    """Seconds spent in each stage of the router's loop in this process, by stage."""
    from prometheus_client import REGISTRY

    sums: dict[str, float] = {}
    for family in REGISTRY.collect():
        if family.name == "winback_router_stage_seconds":
            for sample in family.samples:
                if sample.name.endswith("_sum"):
                    sums[sample.labels["stage"]] = round(sample.value, 2)
    return sums


def _generic_source() -> Any:
    from winback_local.signing import new_secret
    from winback_shared.sources import SourceConfig

    return SourceConfig.model_validate({"vendor": "generic", "secrets": [new_secret()]})


async def load(spec: dict[str, Any]) -> list[tuple[float, float]]:
    """The child's side: write paced (with ``--rate``) and collect every alert's times."""
    planned = specs(spec["count"], spec["repeats"], spec["bad"])
    stop = asyncio.Event()
    reader = asyncio.create_task(
        alert_times(spec["bootstrap"], spec["alerts"], _expected_cases(planned), stop)
    )
    if spec["write"]:
        await produce(spec["bootstrap"], spec["responses"], planned, spec["rate"])
    return await reader


def _expected_cases(planned: list[Spec]) -> int:
    """Every distinct response here is a detractor, so each opens exactly one case."""
    return len({rid for _, rid, _ in planned if rid})


def alternate(
    script: str, compare_dir: str, argv: list[str], rounds: int
) -> dict[str, list[dict[str, Any]]]:
    """Run ``script`` with ``argv`` (its ``--compare`` taken out, ``--json`` added) ``rounds``
    times alternately on ``compare_dir``'s router and shared code ("before") and this
    checkout's ("after"), each in a child process with that code first on ``PYTHONPATH``;
    print each run's JSON line and return them by variant. The drain scripts share it."""
    here = Path(__file__).resolve().parents[2]
    other = Path(compare_dir).resolve()
    variants = {
        "before": os.pathsep.join(
            str(path) for path in (other / "services" / "router", other / "shared") if path.is_dir()
        ),
        "after": os.pathsep.join(str(here / part) for part in ("services/router", "shared")),
    }
    child_argv = [a for a in argv if not a.startswith("--compare") and a != compare_dir]
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for round_ in range(rounds):
        for name, path in variants.items():
            env = {**os.environ, "PYTHONPATH": path}
            out = subprocess.run(
                [sys.executable, script, *child_argv, "--json"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            results[name].append(result)
            print(f"round {round_ + 1} {name:6} {json.dumps(result)}", flush=True)
    return results


def compare(args: argparse.Namespace, argv: list[str]) -> None:
    """Alternate child runs of ``--compare DIR`` and this checkout; print runs and ratios."""
    results = alternate(__file__, args.compare, argv, args.rounds)
    keys = (
        "records_per_s",
        "cpu_ms_per_record",
        "rss_peak_mb",
        "first_alert_ms",
        "alert_wait_p50_ms",
    )
    for key in (*keys, "alert_wait_p99_ms"):
        if any(r[key] is None for rs in results.values() for r in rs):
            continue
        before = statistics.median(r[key] for r in results["before"])
        after = statistics.median(r[key] for r in results["after"])
        print(f"{key}: before {before} after {after} ratio after/before {after / before:.2f}")


def main() -> None:
    """Parse arguments; one run here, or alternating runs in children with ``--compare``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=None, help="write paced while routing")
    parser.add_argument("--repeats", type=float, default=0.0, help="share of re-deliveries")
    parser.add_argument("--bad", type=float, default=0.0, help="share of undecodable records")
    parser.add_argument("--rules-only", action="store_true", help="code without the model")
    parser.add_argument(
        "--long-comment",
        action="store_true",
        help="every record carries the whole-stack bench's ~560-character comment",
    )
    parser.add_argument(
        "--bench-body",
        action="store_true",
        help="every record is the whole-stack bench's body (its comment, one chosen reason)",
    )
    parser.add_argument(
        "--labelled",
        action="store_true",
        help="the records' comments are the labelled comments in turn (the blind set unread)",
    )
    parser.add_argument("--max-batch", type=int, default=None, help="router_max_batch setting")
    parser.add_argument(
        "--batches-ahead", type=int, default=None, help="router_batches_ahead setting"
    )
    parser.add_argument(
        "--normalise-ahead",
        action="store_true",
        help="router_normalise_ahead on: the next batch fetched and normalised while one is coded",
    )
    parser.add_argument(
        "--coding-process", action="store_true", help="router_coding_process setting"
    )
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--profile", default=None, help="write a cProfile here")
    parser.add_argument("--compare", default=None, help="a git archive of another commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--load", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        spec = json.loads(args.load)
        use_long_comment(
            spec.get("long_comment", False),
            spec.get("bench_body", False),
            spec.get("labelled", False),
        )
        print(json.dumps(asyncio.run(load(spec))))
        return
    use_long_comment(args.long_comment, args.bench_body, args.labelled)
    if args.compare:
        compare(args, sys.argv[1:])
        return
    result = asyncio.run(measure(args))
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
