"""Measurements behind issue 15's figures, side by side in one run (the machine is shared, so
only ratios within a run mean much). Loopback only, bounded in time, everything stopped after.

``python -m winback_local.measure router-restart [--trials 3]``
    kill -9 a router and start it again, then post one response: seconds from the restart to
    that response being stored, with dynamic group membership and with a static one
    (``WINBACK_ROUTER_INSTANCE_ID``), trials alternating. Uses ``KAFKA_BOOTSTRAP_SERVERS`` and
    ``DATABASE_URL`` (fresh topics, group and schema) or starts its own.

``python -m winback_local.measure group-rejoin [--trials 3]``
    the same without the router's start-up, which on a loaded machine can outlast the session
    timeout and hide the group's part: a consumer made by the router's consumer factory, in a
    small process of its own (``winback_local.rejoin_member``), kill -9'd and started again;
    seconds from the restart to its first record, dynamic and static membership, alternating.

``python -m winback_local.measure outage-logs [--outage 15]``
    ingest, router and notifier on a broker of this command's own (free ports: the shared one
    is never stopped), a light signed load, the broker stopped for ``--outage`` seconds and
    started again: warning and error lines the services wrote from the stop until all three
    were ready again, with every line written (``WINBACK_LOG_REPEAT_SECONDS=0``) and with
    repeats collapsed (the default).

``python -m winback_local.measure coding-worker-death [--batch 200]``
    a batch of held-out comments coded in the router's coding worker, then the same batch with
    one comment that kills the worker: seconds for each, and how many responses were coded
    from their chosen answers alone (``winback_local.worker_death``). No broker or database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient

from winback_local.kafka import LocalKafka, free_port
from winback_local.postgres import LocalPostgres
from winback_local.processes import spawn, stop
from winback_local.signing import new_secret, sample_response, signed_request
from winback_shared.db import create_pool
from winback_shared.kafka import ensure_topics, reliable_producer
from winback_shared.settings import CommonSettings, KafkaTopics
from winback_shared.startup import prepare_infrastructure
from winback_shared.urls import with_query

SOURCE = "measure"
WARNING_LEVELS = {"warning", "error", "critical"}


class Run:
    """One measurement's infrastructure: a broker, a schema, topics, a source, log files."""

    def __init__(self, work: Path, *, own_broker: bool) -> None:
        self.work = work
        self.unique = uuid.uuid4().hex[:10]
        self.secret = new_secret()
        self.topics = KafkaTopics(
            **{f: f"{f.replace('_', '-')}-m{self.unique}" for f in KafkaTopics.model_fields}
        )
        self.kafka: LocalKafka | None = None
        self.postgres: LocalPostgres | None = None
        bootstrap = None if own_broker else os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap is None:
            self.kafka = LocalKafka(work / "kafka", free_port(), free_port())
            self.kafka.start()
            bootstrap = self.kafka.bootstrap_servers
        self.bootstrap = bootstrap
        base_url = os.environ.get("DATABASE_URL")
        if base_url is None:
            self.postgres = LocalPostgres(work / "postgres", ephemeral=True)
            base_url = self.postgres.start()
        self.base_url = base_url
        self.schema = f"measure_{self.unique}"
        self.database_url = with_query(base_url, search_path=self.schema)
        asyncio.run(self._prepare())

    async def _prepare(self) -> None:
        conn = await asyncpg.connect(self.base_url)
        try:
            await conn.execute(f"CREATE SCHEMA {self.schema}")
        finally:
            await conn.close()
        settings = CommonSettings(
            kafka_bootstrap_servers=self.bootstrap,
            database_url=self.database_url,
            topics=self.topics,
        )
        pool = await create_pool(self.database_url, min_size=1, max_size=2)
        try:
            await prepare_infrastructure(settings, pool)
        finally:
            await pool.close()

    def env(self, **extra: str) -> dict[str, str]:
        """What every service of this run is started with."""
        topics = {
            f"WINBACK_TOPIC_{name.upper()}": value
            for name, value in self.topics.model_dump().items()
        }
        return {
            **os.environ,
            **topics,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "DATABASE_URL": self.database_url,
            "WINBACK_SOURCES": json.dumps(
                {SOURCE: {"vendor": "generic", "secrets": [self.secret]}}
            ),
            **extra,
        }

    def service(self, name: str, port: int, log: Path, **extra: str) -> subprocess.Popen[bytes]:
        """Start ``python -m winback_<name>`` on ``port``."""
        env = self.env(**{f"WINBACK_{name.upper()}_PORT": str(port), **extra})
        return spawn([sys.executable, "-m", f"winback_{name}"], log_path=log, env=env)

    def post(self, ingest_url: str) -> tuple[int, str]:
        """Post one signed detractor response; its status and response id."""
        payload = sample_response(nps=1, reasons=["long wait"])
        body, headers = signed_request(self.secret, payload)
        try:
            answer = httpx.post(
                f"{ingest_url}/webhooks/{SOURCE}", content=body, headers=headers, timeout=10
            )
        except httpx.HTTPError:
            return 0, str(payload["response_id"])
        return answer.status_code, str(payload["response_id"])

    def stored(self, response_id: str) -> bool:
        """Whether the router has stored this response."""

        async def probe() -> bool:
            conn = await asyncpg.connect(self.database_url)
            try:
                found = await conn.fetchval(
                    "SELECT 1 FROM survey_responses WHERE response_id = $1", response_id
                )
            finally:
                await conn.close()
            return found is not None

        return asyncio.run(probe())

    def close(self) -> None:
        """Drop the schema, stop what this run started."""

        async def drop() -> None:
            conn = await asyncpg.connect(self.base_url)
            try:
                await conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            finally:
                await conn.close()

        asyncio.run(drop())
        if self.kafka is not None:
            self.kafka.stop()
        else:
            asyncio.run(delete_topics(self.bootstrap, list(self.topics.model_dump().values())))
        if self.postgres is not None:
            self.postgres.stop()


@contextmanager
def measurement(*, own_broker: bool) -> Iterator[Run]:
    """A :class:`Run` in a temporary folder, closed afterwards."""
    with tempfile.TemporaryDirectory(prefix="winback-measure-") as folder:
        run = Run(Path(folder), own_broker=own_broker)
        try:
            yield run
        finally:
            run.close()


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until ``/readyz`` answers 200 (the process must stay up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the service exited")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout} s")


def until(check: Callable[[], bool], timeout: float) -> float | None:
    """Poll ``check()`` every 50 ms; seconds it took, or ``None`` past ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    return None


# ---- router restart -----------------------------------------------------------------------


def group_rejoin(trials: int) -> None:
    """Print seconds from a consumer's restart (after kill -9) to its first record."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if bootstrap is None:
        raise SystemExit("set KAFKA_BOOTSTRAP_SERVERS (this measurement stops no broker)")
    results: dict[str, list[float | None]] = {"dynamic": [], "static": []}
    for trial in range(trials):
        for mode in results:
            unique = uuid.uuid4().hex[:10]
            topic = group = f"rejoin-{unique}"
            asyncio.run(ensure_topics(bootstrap, {topic: 3}))
            argv = [sys.executable, "-m", "winback_local.rejoin_member", bootstrap, topic, group]
            argv += ["member-1"] if mode == "static" else []
            try:
                asyncio.run(_produce(bootstrap, topic))
                first = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
                assert first.stdout is not None
                first.stdout.readline()  # in the group, and read a record
                time.sleep(3)
                first.kill()
                first.wait()
                restarted = time.time()
                again = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
                assert again.stdout is not None
                asyncio.run(_produce(bootstrap, topic))
                line = again.stdout.readline().strip()
                again.kill()
                again.wait()
                seconds = float(line) - restarted if line else None
            finally:
                asyncio.run(delete_topics(bootstrap, [topic]))
            results[mode].append(seconds)
            print(f"{mode:8} trial {trial + 1}: restart to first record {_seconds(seconds)} s")
    for mode, figures in results.items():
        shown = ", ".join(_seconds(f) for f in figures)
        print(f"{mode:8} membership: consumer restart to first record (s) {shown}")


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    """Delete a measurement's topics from a broker it did not start."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str) -> None:
    producer = reliable_producer(bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"measure")
    finally:
        await producer.stop()


def log_moments(log: Path, start: int, *messages: str) -> dict[str, float]:
    """When (epoch seconds) each of ``messages`` was first logged in ``log`` after byte
    ``start``."""
    found: dict[str, float] = {}
    with log.open("rb") as handle:
        handle.seek(start)
        for raw in handle:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            message = entry.get("message") if isinstance(entry, dict) else None
            if message in messages and message not in found:
                found[message] = datetime.fromisoformat(entry["time"]).timestamp()
    return found


def router_restart(trials: int) -> None:
    """Print, per trial, restart-to-first-record seconds and, inside that, the seconds from
    the app's start-up to its partitions (the group's part), dynamic then static membership."""
    results: dict[str, list[tuple[float | None, float | None]]] = {}
    for mode, extra in (("dynamic", {}), ("static", {"WINBACK_ROUTER_INSTANCE_ID": "router-1"})):
        results[mode] = []
        with measurement(own_broker=False) as run:
            ports = {"ingest": free_port(), "router": free_port()}
            urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            extra = {**extra, "WINBACK_ROUTER_GROUP": f"router-{run.unique}"}
            log = run.work / "router.log"
            ingest = run.service("ingest", ports["ingest"], run.work / "ingest.log")
            router = run.service("router", ports["router"], log, **extra)
            try:
                wait_ready(urls["ingest"], ingest)
                for trial in range(trials):
                    wait_ready(urls["router"], router)  # in its group, partitions assigned
                    time.sleep(3)
                    router.kill()  # kill -9: no goodbye to the group
                    router.wait()
                    mark = log.stat().st_size
                    started = time.monotonic()
                    router = run.service("router", ports["router"], log, **extra)
                    status, response_id = run.post(urls["ingest"])
                    assert status == 202, status
                    taken = until(partial(run.stored, response_id), timeout=90)
                    seconds = None if taken is None else time.monotonic() - started
                    moments = log_moments(log, mark, STARTING, ASSIGNED)
                    join = moments[ASSIGNED] - moments[STARTING] if len(moments) == 2 else None
                    results[mode].append((seconds, join))
                    print(f"{mode:8} trial {trial + 1}: first record {seconds} s, join {join} s")
            finally:
                stop(router)
                stop(ingest)
    for mode, figures in results.items():
        totals = ", ".join(_seconds(total) for total, _ in figures)
        joins = ", ".join(_seconds(join) for _, join in figures)
        print(
            f"{mode:8} membership: restart to first record (s) {totals};"
            f" start-up to partitions assigned (s) {joins}"
        )


STARTING = "Waiting for application startup."
ASSIGNED = "partitions assigned"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# ---- log lines during a broker outage ---------------------------------------------------------


def warning_lines(log: Path, start: int) -> Counter[str]:
    """Warning-or-worse lines in ``log`` from byte ``start`` on (lines that are not JSON too),
    counted by logger and message."""
    found: Counter[str] = Counter()
    with log.open("rb") as handle:
        handle.seek(start)
        for raw in handle:
            try:
                entry = json.loads(raw)
            except ValueError:
                if raw.strip():
                    found[raw.decode(errors="replace").strip()[:100]] += 1
                continue
            if isinstance(entry, dict) and entry.get("level") in WARNING_LEVELS:
                found[f"{entry.get('logger')}: {str(entry.get('message'))[:100]}"] += 1
    return found


def steady_load(run: Run, ingest_url: str, done: threading.Event) -> None:
    """About ten signed responses a second until ``done`` (the run bounds it)."""
    while not done.is_set():
        run.post(ingest_url)
        done.wait(0.1)


def outage_logs(outage: float) -> None:
    """Print warning/error lines per service during a broker outage, per logging mode."""
    totals: dict[str, dict[str, int]] = {}
    for mode, repeat_seconds in (("every line", "0"), ("collapsed", "30")):
        with measurement(own_broker=True) as run:
            assert run.kafka is not None
            ports = {name: free_port() for name in ("ingest", "router", "notifier")}
            logs = {name: run.work / f"{name}.log" for name in ports}
            services = {
                name: run.service(
                    name, ports[name], logs[name], WINBACK_LOG_REPEAT_SECONDS=repeat_seconds
                )
                for name in ports
            }
            stop_load = threading.Event()
            try:
                for name, process in services.items():
                    wait_ready(f"http://127.0.0.1:{ports[name]}", process)
                ingest_url = f"http://127.0.0.1:{ports['ingest']}"

                loader = threading.Thread(
                    target=steady_load, args=(run, ingest_url, stop_load), daemon=True
                )
                loader.start()
                time.sleep(2)
                marks = {name: log.stat().st_size for name, log in logs.items()}
                run.kafka.stop()
                time.sleep(outage)
                run.kafka.start()
                for name, process in services.items():
                    wait_ready(f"http://127.0.0.1:{ports[name]}", process)
                stop_load.set()
                loader.join()
                lines = {name: warning_lines(logs[name], marks[name]) for name in logs}
                counts = {name: sum(found.values()) for name, found in lines.items()}
            finally:
                stop_load.set()
                for process in services.values():
                    stop(process)
            totals[mode] = counts
            print(f"{mode:10} warning/error lines: {counts} total {sum(counts.values())}")
            for name, found in lines.items():
                for message, times in found.most_common(4):
                    print(f"    {name:8} {times:5} x {message}")
    every, collapsed = (sum(totals[m].values()) for m in ("every line", "collapsed"))
    print(f"broker outage {outage:.0f} s: {every} lines written in full, {collapsed} collapsed")


def main(argv: list[str] | None = None) -> int:
    """``python -m winback_local.measure router-restart | group-rejoin | outage-logs |
    coding-worker-death``."""
    parser = argparse.ArgumentParser(prog="python -m winback_local.measure")
    commands = parser.add_subparsers(dest="command", required=True)
    restart = commands.add_parser("router-restart", help="router restart to first record")
    restart.add_argument("--trials", type=int, default=3)
    rejoin = commands.add_parser("group-rejoin", help="a restarted consumer's first record")
    rejoin.add_argument("--trials", type=int, default=3)
    logs = commands.add_parser("outage-logs", help="log lines during a broker outage")
    logs.add_argument("--outage", type=float, default=15.0)
    death = commands.add_parser(
        "coding-worker-death", help="a batch coded with and without a comment killing the worker"
    )
    death.add_argument("--batch", type=int, default=200)
    args = parser.parse_args(argv)
    if args.command == "router-restart":
        router_restart(args.trials)
    elif args.command == "group-rejoin":
        group_rejoin(args.trials)
    elif args.command == "coding-worker-death":
        from winback_local.worker_death import coding_worker_death  # loads the coder

        coding_worker_death(args.batch)
    else:
        outage_logs(args.outage)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
