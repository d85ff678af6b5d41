"""The whole pipeline on one machine: Kafka, PostgreSQL, ingest, router, notifier, refiner (and,
for ``make run``, the outbound process that posts case events to webhooks and chat).

Infrastructure is local unless ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` point elsewhere.
Services run as child processes exactly as they would in production (``python -m ...``), so
what works here works in the container image too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from winback_local.kafka import LocalKafka, free_port, free_ports
from winback_local.kafka_cluster import KafkaCluster
from winback_local.postgres import LocalPostgres
from winback_local.processes import kill, last_error, spawn, stop
from winback_local.signing import new_secret
from winback_local.stack_info import STATE_DIR, STATE_FILE, service_of
from winback_local.stack_info import StackInfo as StackInfo  # re-exported for the harnesses
from winback_shared.agents import Role, authenticate, issue_token
from winback_shared.db import Connection, create_pool
from winback_shared.db_roles import SERVICE_ROLES, ensure_login, login_name
from winback_shared.settings import CommonSettings
from winback_shared.startup import prepare_infrastructure
from winback_shared.urls import with_login

DEMO_SOURCE = "demo"
DEMO_AGENT = "demo-agent"
"""The demo's supervisor (named before it had an agent beside it; saved console URLs sign in as
it): every queue in the console, and the ops page."""
DEMO_FLOOR_AGENT = "demo-floor-agent"
"""The demo's agent, of the default queue: its console open, the ops page counts one agent on
the floor. Supervisors are never counted (docs/staffing.md), so without it the staffing banner
of a demo with one case would rightly say the queue has nobody."""
DEMO_TOKEN_FILES = {DEMO_AGENT: "demo-token", DEMO_FLOOR_AGENT: "demo-floor-token"}
SERVICES = ("ingest", "router", "notifier", "refiner", "outbound")
MODULES = {"refiner": "winback_router.refine", "outbound": "winback_notifier.outbound"}
"""A service's module when it is not ``winback_<name>``."""
DATABASE_LOGINS = {"refiner": "router", "outbound": "notifier"}
"""A service that connects as another's role: the refiner writes what the router writes, the
outbound process reads case events and keeps its deliveries as the notifier does."""
KAFKA_START_SECONDS = 120
SOURCE_VARIABLES = ("WINBACK_SOURCES", "WINBACK_SOURCES_FILE")
"""Either names the user's own webhook sources; the demo source is added only without both."""


@dataclass(frozen=True)
class Instances:
    """How many processes of each service the stack runs (issue 16: several of each)."""

    ingest: int = 1
    router: int = 1
    notifier: int = 1
    refiner: int = 1
    """0 runs without the refiner (the bench's before/after); codes then stay the fast ones."""
    outbound: int = 0
    """The outbound process (webhooks, chat, paging): ``make run`` runs one; the harnesses
    measure the pipeline without it."""

    def names(self) -> list[str]:
        """Instance names in start order: ``router`` for the first, then ``router-2`` ..."""
        return [
            name if index == 1 else f"{name}-{index}"
            for name in SERVICES
            for index in range(1, getattr(self, name) + 1)
        ]


class ServiceFailed(RuntimeError):
    """A service of the stack exited before it was ready (the message quotes its log's cause)."""


class StartCancelled(RuntimeError):
    """A stop was asked for while the stack was starting; the caller stops what had started.

    Checked between steps and while waiting for readiness, rather than raised from the signal
    handler: an exception landing inside a spawn could leave a process nobody recorded.
    """


def never() -> bool:
    """The default ``should_stop``: a start nobody can interrupt (the harnesses)."""
    return False


@dataclass
class Ports:
    """Where the services listen."""

    ingest: int = 8000
    router: int = 8001
    notifier: int = 8002
    refiner: int = 8003
    outbound: int = 8004
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
        """Ports nobody listens on now, all different, so a private stack never meets a
        developer's."""
        ports = iter(free_ports(7 + 2 * (brokers - 1)))
        return cls(
            ingest=next(ports),
            router=next(ports),
            notifier=next(ports),
            refiner=next(ports),
            outbound=next(ports),
            kafka=next(ports),
            kafka_controller=next(ports),
            more_kafka=tuple((next(ports), next(ports)) for _ in range(brokers - 1)),
        )


def serves_own_sources(environ: Mapping[str, str], demo_only: bool = False) -> bool:
    """Whether the user configured webhook sources (then no demo source is added)."""
    return not demo_only and any(environ.get(variable) for variable in SOURCE_VARIABLES)


OUTBOUND_KEYS_VARIABLE = "WINBACK_OUTBOUND_SECRET_KEYS"
OUTBOUND_KEYS_FILE = "outbound-secret-keys"


def outbound_keys(environ: Mapping[str, str], state_dir: Path) -> str:
    """The Fernet key(s) sealing outbound subscription secrets: the user's
    ``WINBACK_OUTBOUND_SECRET_KEYS`` if set, else a key made on the first run and kept in the
    state dir (like the demo token), so what was sealed yesterday still opens today."""
    given = environ.get(OUTBOUND_KEYS_VARIABLE)
    if given:
        return given
    path = state_dir / OUTBOUND_KEYS_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())  # a Fernet key
        path.chmod(0o600)
    return path.read_text().strip()


def service_environment(
    environ: Mapping[str, str],
    *,
    demo_secret: str | None,
    bootstrap: str,
    partitions: int | None = None,
) -> dict[str, str]:
    """The environment every service process starts with (ports and logins come per instance).

    With ``demo_secret`` the demo source is the only source (the user's sources variables are
    dropped, so a harness signs with a secret it knows); without, the user's ``WINBACK_SOURCES``
    / ``WINBACK_SOURCES_FILE`` pass through untouched. ``DATABASE_URL`` never passes: ingest
    does not connect, the others get their own login.
    """
    inherited = {k: v for k, v in environ.items() if k != "DATABASE_URL"}
    if demo_secret is not None:
        for variable in SOURCE_VARIABLES:
            inherited.pop(variable, None)
        inherited["WINBACK_SOURCES"] = json.dumps(
            {DEMO_SOURCE: {"vendor": "generic", "secrets": [demo_secret]}}
        )
    if partitions:
        inherited["WINBACK_TOPIC_PARTITIONS"] = str(partitions)
    return {**inherited, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}


class Stack:
    """Starts everything in dependency order and stops it in reverse.

    ``brokers=3`` runs a replicated three-node Kafka cluster instead of one broker.
    ``instances`` runs several of each service (the first of each on its port in ``ports``, the
    others on free ports); ``partitions`` is ``WINBACK_TOPIC_PARTITIONS`` for new topics.
    ``own_infrastructure`` ignores ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL``: a harness that
    kills the broker or the database must never reach a shared one. ``new_token`` replaces the
    demo agent's saved token instead of reusing it. ``demo_only`` serves the demo source alone
    whatever ``WINBACK_SOURCES`` says (the harnesses sign with its secret).
    """

    def __init__(
        self,
        state_dir: Path = STATE_DIR,
        ports: Ports | None = None,
        *,
        brokers: int = 1,
        instances: Instances | None = None,
        partitions: int | None = None,
        own_infrastructure: bool = False,
        new_token: bool = False,
        demo_only: bool = False,
    ) -> None:
        self.state_dir = state_dir
        self.ports = ports or Ports()
        self.brokers = brokers
        self.instances = instances or Instances()
        self.partitions = partitions
        self.own_infrastructure = own_infrastructure
        self.new_token = new_token
        self.demo_only = demo_only
        self._instance_ports: dict[str, int] = {}
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

    def start(self, should_stop: Callable[[], bool] = never) -> StackInfo:
        """Start infrastructure and services; return once every service is ready.

        ``should_stop`` is asked between steps and while waiting: once it answers true the start
        ends with :class:`StartCancelled` (a minute of start-up is too long to sit out a Ctrl-C).
        """
        # Kafka's JVM boots while PostgreSQL starts: the two take the longest.
        bootstrap = self._external("KAFKA_BOOTSTRAP_SERVERS")
        _check(should_stop)
        if bootstrap is None:
            self.kafka = self._new_kafka()
            self.kafka.boot()
        database_url = self._external("DATABASE_URL")
        _check(should_stop)
        if database_url is None:
            self.postgres = LocalPostgres(self.state_dir / "postgres")
            database_url = self.postgres.start()
        _check(should_stop)
        if self.kafka is not None:
            asyncio.run(self.kafka.wait_until_ready(KAFKA_START_SECONDS))
            bootstrap = self.kafka.bootstrap_servers
        _check(should_stop)
        assert bootstrap is not None
        settings = CommonSettings(kafka_bootstrap_servers=bootstrap, database_url=database_url)
        if self.partitions:
            settings.topic_partitions = self.partitions
        secret = None if serves_own_sources(os.environ, self.demo_only) else self._demo_secret()
        tokens, self._service_urls = asyncio.run(
            _prepare(settings, {name: self._saved_token(name) for name in DEMO_TOKEN_FILES})
        )
        for name, saved in tokens.items():
            self._save_token(name, saved)
        self._env = service_environment(
            os.environ, demo_secret=secret, bootstrap=bootstrap, partitions=self.partitions
        )
        self._env[OUTBOUND_KEYS_VARIABLE] = outbound_keys(os.environ, self.state_dir)
        names = self.instances.names()
        for name in names:
            _check(should_stop)
            self.start_service(name)
        urls = {name: f"http://127.0.0.1:{self._instance_ports[name]}" for name in names}
        self.info = info = StackInfo(
            ingest_url=urls["ingest"],
            router_url=urls["router"],
            notifier_url=urls["notifier"],
            source=None if secret is None else DEMO_SOURCE,
            secret=secret,
            agent_token=tokens[DEMO_AGENT],
            kafka_bootstrap_servers=bootstrap,
            database_url=database_url,
            instance_urls=urls,
            secret_path=None if secret is None else str(self.state_dir / "demo-secret"),
            floor_token=tokens[DEMO_FLOOR_AGENT],
        )
        for name in names:
            self.wait_ready(name, should_stop=should_stop)
        _check(should_stop)
        self.info_path.write_text(json.dumps(asdict(info), indent=2))
        self.info_path.chmod(0o600)
        return info

    def _saved_token(self, name: str) -> str | None:
        """A demo login's token from the last run of this state dir, unless new ones are asked.

        Kept so that yesterday's console URL still signs in; :func:`_prepare` checks it is still
        valid (not expired, not revoked, same database) before reusing it.
        """
        path = self.state_dir / DEMO_TOKEN_FILES[name]
        if self.new_token or not path.exists():
            return None
        return path.read_text().strip() or None

    def _save_token(self, name: str, token: str) -> None:
        path = self.state_dir / DEMO_TOKEN_FILES[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(token)
        path.chmod(0o600)

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
        """Start one instance (``ingest``, ``router-2`` ...) as its own process.

        An instance keeps its port across restarts; a new name gets a free port (the first of
        each service the one in :class:`Ports`). Each router has its own static member id
        (``local-router-2``), so one restarted in place gets its partitions back at once.
        """
        service = service_of(name)
        if name not in self._instance_ports:
            first = name == service
            self._instance_ports[name] = getattr(self.ports, service) if first else free_port()
        port = self._instance_ports[name]
        login = self._service_urls.get(DATABASE_LOGINS.get(service, service))
        own = {f"WINBACK_{service.upper()}_PORT": str(port)}
        if login is not None:
            own["DATABASE_URL"] = login
        if service == "outbound":
            own["WINBACK_CONSOLE_URL"] = os.environ.get(
                "WINBACK_CONSOLE_URL", f"http://127.0.0.1:{self.ports.notifier}"
            )
        if service == "router":
            own["WINBACK_ROUTER_INSTANCE_ID"] = os.environ.get(
                "WINBACK_ROUTER_INSTANCE_ID", "local-router"
            ) + ("" if name == service else name.removeprefix("router"))
        self._services[name] = spawn(
            [sys.executable, "-m", MODULES.get(service, f"winback_{service}")],
            log_path=self.state_dir / "logs" / f"{name}.log",
            env={**self._env, **own},
        )
        if self.info is not None and name not in self.info.instance_urls:
            self.info.instance_urls[name] = f"http://127.0.0.1:{port}"

    @property
    def refiner_url(self) -> str:
        """Where the refiner's probes and metrics answer."""
        return f"http://127.0.0.1:{self.ports.refiner}"

    def kill_service(self, name: str) -> None:
        """SIGKILL one service: no shutdown hooks, no goodbye, as in a crash."""
        kill(self._services[name])

    def wait_ready(
        self, name: str, timeout_seconds: float = 60, should_stop: Callable[[], bool] = never
    ) -> None:
        """Wait until the instance's ``/readyz`` answers 200 (or ``should_stop`` answers true)."""
        url = f"http://127.0.0.1:{self._instance_ports[name]}"
        deadline = time.monotonic() + timeout_seconds
        while True:
            _check(should_stop)
            process = self._services[name]
            if process.poll() is not None:
                log = self.state_dir / "logs" / f"{name}.log"
                cause = last_error(log)
                raise ServiceFailed(f"{name} exited{f': {cause}' if cause else ''}; see {log}")
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


def _check(should_stop: Callable[[], bool]) -> None:
    if should_stop():
        raise StartCancelled("asked to stop while starting")


async def _prepare(
    settings: CommonSettings, saved_tokens: Mapping[str, str | None] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Create topics and schema (as the owner: ``DATABASE_URL`` is the administrator's), the
    demo logins' tokens (:data:`DEMO_TOKEN_FILES`: the supervisor and the agent), and one login
    per service in its role, with a password new on every run; returns the tokens by login name
    and each service's ``DATABASE_URL``.

    A token in ``saved_tokens`` is reused when it still signs in its login (a console URL saved
    from an earlier run keeps working); otherwise a new one is issued.
    """
    saved = saved_tokens or {}
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        await prepare_infrastructure(settings, pool, as_service=False)
        urls = {}
        async with pool.acquire() as conn:
            tokens = {
                DEMO_AGENT: await _demo_token(
                    conn, DEMO_AGENT, Role.SUPERVISOR, saved.get(DEMO_AGENT)
                ),
                DEMO_FLOOR_AGENT: await _demo_token(
                    conn, DEMO_FLOOR_AGENT, Role.AGENT, saved.get(DEMO_FLOOR_AGENT)
                ),
            }
            for service, role in SERVICE_ROLES.items():
                login, password = login_name(role), secrets.token_urlsafe(24)
                await ensure_login(conn, login, role, password)
                urls[service] = with_login(settings.database_url, login, password)
        return tokens, urls
    finally:
        await pool.close()


async def _demo_token(conn: Connection, name: str, role: Role, saved_token: str | None) -> str:
    """The saved token if it still signs in ``name``, else a new one (the login is created in
    ``role``, of the default queue, if missing)."""
    if saved_token is not None:
        agent = await authenticate(conn, saved_token)
        if agent is not None and agent.name == name:
            return saved_token
    _, token = await issue_token(conn, name=name, role=role)
    return token
