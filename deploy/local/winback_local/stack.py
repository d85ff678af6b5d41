"""The whole pipeline on one machine: Kafka, PostgreSQL, ingest, router, notifier.

Infrastructure is local unless ``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` point elsewhere.
Services run as child processes exactly as they would in production (``python -m ...``), so
what works here works in the container image too.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from winback_local.kafka import LOCAL_DIR, LocalKafka
from winback_local.postgres import LocalPostgres
from winback_local.processes import spawn, stop
from winback_local.signing import new_secret
from winback_shared.agents import Role, issue_token
from winback_shared.db import create_pool
from winback_shared.settings import CommonSettings
from winback_shared.startup import prepare_infrastructure

REPO_ROOT = LOCAL_DIR.parents[1]
STATE_DIR = REPO_ROOT / ".winback"
STATE_FILE = STATE_DIR / "stack.json"
DEMO_SOURCE = "demo"
DEMO_AGENT = "demo-agent"


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


@dataclass
class Ports:
    """Where the services listen."""

    ingest: int = 8000
    router: int = 8001
    notifier: int = 8002
    kafka: int = 9092
    kafka_controller: int = 9093


def load_info(path: Path = STATE_FILE) -> StackInfo:
    """Read the running stack's details written by ``winback run``."""
    if not path.exists():
        raise SystemExit(f"no running stack found ({path} is missing): start it with `make run`")
    return StackInfo(**json.loads(path.read_text()))


class Stack:
    """Starts everything in dependency order and stops it in reverse."""

    def __init__(self, state_dir: Path = STATE_DIR, ports: Ports | None = None) -> None:
        self.state_dir = state_dir
        self.ports = ports or Ports()
        self._kafka: LocalKafka | None = None
        self._postgres: LocalPostgres | None = None
        self._services: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> StackInfo:
        """Start infrastructure and services; return once every service is ready."""
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if bootstrap is None:
            self._kafka = LocalKafka(
                self.state_dir / "kafka", self.ports.kafka, self.ports.kafka_controller
            )
            self._kafka.start()
            bootstrap = self._kafka.bootstrap_servers
        database_url = os.environ.get("DATABASE_URL")
        if database_url is None:
            self._postgres = LocalPostgres(self.state_dir / "postgres")
            database_url = self._postgres.start()
        settings = CommonSettings(kafka_bootstrap_servers=bootstrap, database_url=database_url)
        secret = self._demo_secret()
        token = asyncio.run(_prepare(settings))
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "DATABASE_URL": database_url,
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
        }
        for name in ("ingest", "router", "notifier"):
            self._services[name] = spawn(
                [sys.executable, "-m", f"winback_{name}"],
                log_path=self.state_dir / "logs" / f"{name}.log",
                env=env,
            )
        info = StackInfo(
            ingest_url=f"http://127.0.0.1:{self.ports.ingest}",
            router_url=f"http://127.0.0.1:{self.ports.router}",
            notifier_url=f"http://127.0.0.1:{self.ports.notifier}",
            source=DEMO_SOURCE,
            secret=secret,
            agent_token=token,
            kafka_bootstrap_servers=bootstrap,
            database_url=database_url,
        )
        self._wait_ready(info)
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

    def _wait_ready(self, info: StackInfo, timeout_seconds: float = 60) -> None:
        deadline = time.monotonic() + timeout_seconds
        urls = {"ingest": info.ingest_url, "router": info.router_url, "notifier": info.notifier_url}
        for name, url in urls.items():
            while True:
                process = self._services[name]
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited; see {self.state_dir / 'logs' / name}.log")
                try:
                    if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready after {timeout_seconds}s")
                time.sleep(0.2)

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
        if self._kafka is not None:
            self._kafka.stop()
        if self._postgres is not None:
            self._postgres.stop()
        self.info_path.unlink(missing_ok=True)


async def _prepare(settings: CommonSettings) -> str:
    """Create topics and schema, and a fresh token for the demo agent."""
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        await prepare_infrastructure(settings, pool)
        async with pool.acquire() as conn:
            _, token = await issue_token(conn, name=DEMO_AGENT, role=Role.SUPERVISOR)
        return token
    finally:
        await pool.close()
