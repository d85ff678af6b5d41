"""The whole pipeline on one machine: Kafka, PostgreSQL, ingest, router, notifier (and, for
``make run``, the outbound process that posts case events to webhooks and chat).

Infrastructure is local unless ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` point elsewhere.
Services run as child processes exactly as they would in production (``python -m ...``), so
what works here works in the container image too.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from winback_local.kafka import LOCAL_DIR, LocalKafka, free_port
from winback_local.kafka_cluster import KafkaCluster
from winback_local.postgres import LocalPostgres
from winback_local.processes import kill, spawn, stop
from winback_local.signing import new_secret
from winback_shared.agents import Role, issue_token
from winback_shared.db import create_pool
from winback_shared.db_roles import SERVICE_ROLES, ensure_login, login_name
from winback_shared.settings import CommonSettings
from winback_shared.startup import prepare_infrastructure
from winback_shared.urls import with_login

REPO_ROOT = LOCAL_DIR.parents[1]
STATE_DIR = REPO_ROOT / ".winback"
STATE_FILE = STATE_DIR / "stack.json"
DEMO_SOURCE = "demo"
DEMO_AGENT = "demo-agent"
SERVICES = ("ingest", "router", "notifier")
OUTBOUND = "outbound"
MODULES = {OUTBOUND: "winback_notifier.outbound"}
"""Services whose module is not ``winback_<name>``."""
DATABASE_LOGINS = {OUTBOUND: "notifier"}
"""Services that connect with another service's login (outbound runs as the notifier's role)."""
KAFKA_START_SECONDS = 120


@dataclass
class StackInfo:
    """What a user (or the ``send`` command) needs to talk to a running stack."""

    ingest_url: str
    notifier_url: str
    router_url: str
    source: str
    secret: str
    agent_token: str
    kafka_bootstrap_servers: str
    database_url: str
    outbound_url: str = ""
    """Empty when the stack runs without the outbound process (the bench and fault harness)."""


@dataclass
class Ports:
    """Where the services listen."""

    ingest: int = 8000
    router: int = 8001
    notifier: int = 8002
    outbound: int = 8003
    kafka: int = 9092
    kafka_controller: int = 9093
    more_kafka: tuple[tuple[int, int], ...] = ()
    """(client, controller) ports of the cluster's other nodes; default: the next pairs up."""

    def kafka_nodes(self, count: int) -> list[tuple[int, int]]:
        """(client, controller) ports of ``count`` Kafka nodes."""
        more = list(self.more_kafka) or [
            (self.kafka + 2 * i, self.kafka_controller + 2 * i) for i in range(1, count)
        ]
        return [(self.kafka, self.kafka_controller), *more][:count]

    @classmethod
    def free(cls, brokers: int = 1) -> Ports:
        """Ports nobody listens on now, so a private stack never meets a developer's."""
        return cls(
            ingest=free_port(),
            router=free_port(),
            notifier=free_port(),
            outbound=free_port(),
            kafka=free_port(),
            kafka_controller=free_port(),
            more_kafka=tuple((free_port(), free_port()) for _ in range(brokers - 1)),
        )


def load_info(path: Path = STATE_FILE) -> StackInfo:
    """Read the running stack's details written by ``winback run``."""
    if not path.exists():
        raise SystemExit(f"no running stack found ({path} is missing): start it with `make run`")
    return StackInfo(**json.loads(path.read_text()))


class Stack:
    """Starts everything in dependency order and stops it in reverse.

    ``brokers=3`` runs a replicated three-node Kafka cluster instead of one broker.
    ``own_infrastructure`` ignores ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL``: a harness that
    kills the broker or the database must never reach a shared one. ``outbound`` also runs the
    outbound process (``make run`` does; the harnesses measure the pipeline without it).
    """

    def __init__(
        self,
        state_dir: Path = STATE_DIR,
        ports: Ports | None = None,
        *,
        brokers: int = 1,
        own_infrastructure: bool = False,
        outbound: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.services = (*SERVICES, OUTBOUND) if outbound else SERVICES
        self.ports = ports or Ports()
        self.brokers = brokers
        self.own_infrastructure = own_infrastructure
        self.kafka: LocalKafka | KafkaCluster | None = None
        self.postgres: LocalPostgres | None = None
        self._services: dict[str, subprocess.Popen[bytes]] = {}
        self._env: dict[str, str] = {}
        self._service_urls: dict[str, str] = {}
        self.info: StackInfo | None = None

    def _external(self, variable: str) -> str | None:
        return None if self.own_infrastructure else os.environ.get(variable)

    def _new_kafka(self) -> LocalKafka | KafkaCluster:
        if self.brokers == 1:
            return LocalKafka(
                self.state_dir / "kafka", self.ports.kafka, self.ports.kafka_controller
            )
        return KafkaCluster(self.state_dir / "kafka-cluster", self.ports.kafka_nodes(self.brokers))

    def start(self) -> StackInfo:
        """Start infrastructure and services; return once every service is ready."""
        # Kafka's JVM boots while PostgreSQL starts: the two take the longest.
        bootstrap = self._external("KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap is None:
            self.kafka = self._new_kafka()
            self.kafka.boot()
        database_url = self._external("DATABASE_URL")
        if database_url is None:
            self.postgres = LocalPostgres(self.state_dir / "postgres")
            database_url = self.postgres.start()
        if self.kafka is not None:
            asyncio.run(self.kafka.wait_until_ready(KAFKA_START_SECONDS))
            bootstrap = self.kafka.bootstrap_servers
        assert bootstrap is not None
        settings = CommonSettings(kafka_bootstrap_servers=bootstrap, database_url=database_url)
        secret = self._demo_secret()
        token, self._service_urls = asyncio.run(_prepare(settings))
        self._env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "WINBACK_SOURCES": json.dumps(
                {DEMO_SOURCE: {"vendor": "generic", "secrets": [secret]}}
            ),
            "WINBACK_INGEST_PORT": str(self.ports.ingest),
            "WINBACK_ROUTER_PORT": str(self.ports.router),
            # One router, restarted in place: static membership spares it a rebalance.
            "WINBACK_ROUTER_INSTANCE_ID": os.environ.get(
                "WINBACK_ROUTER_INSTANCE_ID", "local-router"
            ),
            "WINBACK_NOTIFIER_PORT": str(self.ports.notifier),
            "WINBACK_OUTBOUND_PORT": str(self.ports.outbound),
            "WINBACK_CONSOLE_URL": os.environ.get(
                "WINBACK_CONSOLE_URL", f"http://127.0.0.1:{self.ports.notifier}"
            ),
        }
        # ingest never connects to PostgreSQL; the others get their own login (start_service)
        self._env.pop("DATABASE_URL", None)
        for name in self.services:
            self.start_service(name)
        self.info = info = StackInfo(
            ingest_url=f"http://127.0.0.1:{self.ports.ingest}",
            router_url=f"http://127.0.0.1:{self.ports.router}",
            notifier_url=f"http://127.0.0.1:{self.ports.notifier}",
            source=DEMO_SOURCE,
            secret=secret,
            agent_token=token,
            kafka_bootstrap_servers=bootstrap,
            database_url=database_url,
            outbound_url=f"http://127.0.0.1:{self.ports.outbound}"
            if OUTBOUND in self.services
            else "",
        )
        for name in self.services:
            self.wait_ready(name)
        self.info_path.write_text(json.dumps(asdict(info), indent=2))
        self.info_path.chmod(0o600)
        return info

    @property
    def info_path(self) -> Path:
        """Where the running stack's details are written for ``winback send``."""
        return self.state_dir / STATE_FILE.name

    def _demo_secret(self) -> str:
        """The demo source's secret, kept between runs so saved commands keep working."""
        path = self.state_dir / "demo-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_secret())
            path.chmod(0o600)
        return path.read_text().strip()

    def start_service(self, name: str) -> None:
        """Start one service (``ingest``, ``router``, ``notifier``, ``outbound``) as its own
        process."""
        login = self._service_urls.get(DATABASE_LOGINS.get(name, name))
        database = {"DATABASE_URL": login} if login is not None else {}
        self._services[name] = spawn(
            [sys.executable, "-m", MODULES.get(name, f"winback_{name}")],
            log_path=self.state_dir / "logs" / f"{name}.log",
            env={**self._env, **database},
        )

    def kill_service(self, name: str) -> None:
        """SIGKILL one service: no shutdown hooks, no goodbye, as in a crash."""
        kill(self._services[name])

    def wait_ready(self, name: str, timeout_seconds: float = 60) -> None:
        """Wait until the service's ``/readyz`` answers 200."""
        assert self.info is not None
        url = getattr(self.info, f"{name}_url")
        deadline = time.monotonic() + timeout_seconds
        while True:
            process = self._services[name]
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited; see {self.state_dir / 'logs' / name}.log")
            try:
                if httpx.get(f"{url}/readyz", timeout=2, trust_env=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout_seconds}s")
            time.sleep(0.2)

    def pids(self) -> dict[str, int]:
        """Process ids of what this stack started, by name (for measuring CPU and memory)."""
        pids = {name: process.pid for name, process in self._services.items()}
        brokers: dict[str, LocalKafka] = {}
        if isinstance(self.kafka, KafkaCluster):
            brokers = {f"kafka-{node_id}": node for node_id, node in self.kafka.nodes.items()}
        elif self.kafka is not None:
            brokers = {"kafka": self.kafka}
        for name, broker in brokers.items():
            if broker.pid is not None:
                pids[name] = broker.pid
        postgres_pid = self.postgres.pid() if self.postgres is not None else None
        if postgres_pid is not None:
            pids["postgres"] = postgres_pid
        return pids

    def failed_service(self) -> str | None:
        """The name of a service that exited on its own, if any."""
        return next((n for n, p in self._services.items() if p.poll() is not None), None)

    def stop(self) -> None:
        """Stop services first (they finish in-flight work), then Kafka, then PostgreSQL."""
        for process in self._services.values():
            if process.poll() is None:
                process.terminate()
        for process in self._services.values():
            stop(process)
        self._services.clear()
        if self.kafka is not None:
            self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()
        self.info_path.unlink(missing_ok=True)


async def _prepare(settings: CommonSettings) -> tuple[str, dict[str, str]]:
    """Create topics and schema (as the owner: ``DATABASE_URL`` is the administrator's), a
    fresh token for the demo agent, and one login per service in its role, with a password
    new on every run; returns the token and each service's ``DATABASE_URL``."""
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        await prepare_infrastructure(settings, pool, as_service=False)
        urls = {}
        async with pool.acquire() as conn:
            _, token = await issue_token(conn, name=DEMO_AGENT, role=Role.SUPERVISOR)
            for service, role in SERVICE_ROLES.items():
                login, password = login_name(role), secrets.token_urlsafe(24)
                await ensure_login(conn, login, role, password)
                urls[service] = with_login(settings.database_url, login, password)
        return token, urls
    finally:
        await pool.close()
