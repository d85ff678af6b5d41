"""A real single-node Apache Kafka broker (KRaft) from Maven Central's jars.

No Docker here: ``mvn dependency:copy-dependencies`` fetches the broker once into
``deploy/local/kafka-libs/`` (git-ignored), and ``java`` runs it. Readiness is a metadata
round-trip, never a sleep.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from winback_local.processes import spawn, stop

LOCAL_DIR = Path(__file__).resolve().parents[1]
JARS_DIR = LOCAL_DIR / "kafka-libs"
POM = LOCAL_DIR / "pom.xml"
LOG4J_CONFIG = LOCAL_DIR / "log4j2.properties"


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_jars() -> None:
    """Fetch the broker jars with Maven unless they are already there."""
    if any(JARS_DIR.glob("kafka_2.13-*.jar")):
        return
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven (mvn) is required to fetch the Kafka broker jars")
    subprocess.run(["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies"], check=True)


def _java(*args: str) -> list[str]:
    return [
        "java",
        "-Xms128m",
        "-Xmx512m",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        f"{JARS_DIR}/*",
        *args,
    ]


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """Configuration of a combined broker+controller on loopback with replication factor 1."""
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir / 'logs'}",
            "num.partitions=1",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=6",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # Topics are created deliberately (with their partition counts) by the services.
            "auto.create.topics.enable=false",
            "",
        ]
    )


@dataclass
class LocalKafka:
    """One broker whose state lives in ``data_dir``; reused across runs if already formatted."""

    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    _process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """Address clients connect to."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where the broker's output goes."""
        return self.data_dir / "kafka.log"

    def start(self, timeout_seconds: float = 90) -> None:
        """Format storage if new, start the broker and wait until it serves metadata."""
        ensure_jars()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(server_properties(self.data_dir, self.port, self.controller_port))
        if not (self.data_dir / "logs" / "meta.properties").exists():
            cluster_id = subprocess.run(
                _java("kafka.tools.StorageTool", "random-uuid"),
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
            subprocess.run(
                _java(
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "--cluster-id",
                    cluster_id,
                    "--config",
                    str(config),
                ),
                check=True,
                capture_output=True,
            )
        self._process = spawn(_java("kafka.Kafka", str(config)), log_path=self.log_path)
        try:
            asyncio.run(self._wait_until_ready(timeout_seconds))
        except BaseException:
            self.stop()
            raise

    async def _wait_until_ready(self, timeout_seconds: float) -> None:
        # Refused connections are expected while the broker boots; don't print each one.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        deadline = time.monotonic() + timeout_seconds
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"Kafka exited early; see {self.log_path}")
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap_servers, request_timeout_ms=3000
            )
            try:
                await admin.start()
                await admin.list_topics()
                return
            except (KafkaError, OSError):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Kafka not ready after {timeout_seconds}s") from None
                await asyncio.sleep(0.25)
            finally:
                await admin.close()

    @property
    def pid(self) -> int | None:
        """The broker's process id, if running."""
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        """Stop the broker gracefully (it flushes its logs), then forcibly if it hangs."""
        if self._process is not None:
            stop(self._process, grace_seconds=30)
            self._process = None
