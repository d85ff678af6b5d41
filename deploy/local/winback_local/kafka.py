"""A real Apache Kafka broker (KRaft) from Maven Central's jars: one node, or one of a cluster.

No Docker here: ``mvn dependency:copy-dependencies`` fetches the broker once into
``deploy/local/kafka-libs/`` (git-ignored), and ``java`` runs it. Readiness is a metadata
round-trip, never a sleep. :mod:`winback_local.kafka_cluster` runs three of these nodes as one
replicated cluster.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from winback_local.processes import kill, spawn, stop

LOCAL_DIR = Path(__file__).resolve().parents[1]
JARS_DIR = LOCAL_DIR / "kafka-libs"
POM = LOCAL_DIR / "pom.xml"
MAVEN_FETCH = [
    "mvn", "-q", "-B", "-Dstyle.color=never", "-f", str(POM), "dependency:copy-dependencies"
]  # fmt: skip
"""Batch mode and no colour; Debian's Maven 3.8 still writes a reset escape per quiet line, so
its output is shown only when the fetch fails (:func:`fetch_quietly`)."""
LOG4J_CONFIG = LOCAL_DIR / "log4j2.properties"


def free_port() -> int:
    """A TCP port on loopback nobody listens on right now."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different TCP ports on loopback nobody listens on right now.

    All are held open until the last is bound: drawn one at a time, each closed before the
    next, the system may hand the same port out twice.
    """
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


def ensure_jars() -> None:
    """Fetch the broker jars with Maven unless they are already there."""
    if any(JARS_DIR.glob("kafka_2.13-*.jar")):
        return
    if shutil.which(MAVEN_FETCH[0]) is None:
        raise RuntimeError("Maven (mvn) is required to fetch the Kafka broker jars")
    fetch_quietly(MAVEN_FETCH)


def fetch_quietly(command: Sequence[str]) -> None:
    """Run ``command`` with its output held back; on failure raise with that output.

    A newcomer's first ``make run`` should show what it does, not a line of raw escape codes
    (``ESC[0m`` several times) that Maven writes even with ``-q -Dstyle.color=never``.
    """
    done = subprocess.run(list(command), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output = _ANSI_ESCAPE.sub("", done.stdout + done.stderr).strip()
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{output}")


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


JVM_COLLECTOR = "-XX:+UseSerialGC"
"""The broker's garbage collector. On a 2-core machine the JVM picks G1, whose concurrent
marking and remembered-set rebuilding were a fifth of the broker's CPU in a profile of a bench
run (async-profiler); with the serial collector the broker spent 0.5-0.75x the CPU a response
in the same bench steps (docs/performance.md, section 43). A lone development broker's heap is
small and short-lived, so its pauses are short; a production broker keeps Kafka's own G1 flags."""


def _java(*args: str, heap: str = "512m") -> list[str]:
    return [
        "java",
        "-Xms128m",
        f"-Xmx{heap}",
        JVM_COLLECTOR,
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        f"{JARS_DIR}/*",
        *args,
    ]


@dataclass(frozen=True)
class Replication:
    """How a node's cluster replicates: copies of each partition, copies that must ack a write.

    A lone broker keeps one copy. The three-broker cluster keeps three and needs two in sync for
    an ``acks=all`` write, so one broker may die without losing or refusing anything.
    """

    voters: str | None = None
    """``controller.quorum.voters`` (``1@host:port,...``) of a static quorum; ``None``: alone."""
    factor: int = 1

    @property
    def min_insync(self) -> int:
        """Replicas that must hold a write before it is acknowledged."""
        return min(2, self.factor)

    def lines(self, controller_port: int) -> list[str]:
        """The replication and quorum part of ``server.properties``."""
        quorum = (
            f"controller.quorum.voters={self.voters}"
            if self.voters
            else f"controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}"
        )
        lines = [
            quorum,
            f"default.replication.factor={self.factor}",
            f"min.insync.replicas={self.min_insync}",
            f"offsets.topic.replication.factor={self.factor}",
            f"transaction.state.log.replication.factor={self.factor}",
            f"transaction.state.log.min.isr={self.min_insync}",
            f"share.coordinator.state.topic.replication.factor={self.factor}",
            f"share.coordinator.state.topic.min.isr={self.min_insync}",
        ]
        if self.voters:
            # A killed node is fenced (its partitions get new leaders) after 4 s, not the
            # default 9 s, so producers wait less; heartbeats come often enough for that.
            lines += ["broker.session.timeout.ms=4000", "broker.heartbeat.interval.ms=500"]
        return lines


def server_properties(
    data_dir: Path,
    port: int,
    controller_port: int,
    *,
    node_id: int = 1,
    replication: Replication = Replication(),
) -> str:
    """Configuration of a combined broker+controller on loopback."""
    return "\n".join(
        [
            "process.roles=broker,controller",
            f"node.id={node_id}",
            *replication.lines(controller_port),
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={data_dir / 'logs'}",
            "num.partitions=1",
            "offsets.topic.num.partitions=6",
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
    node_id: int = 1
    replication: Replication = Replication()
    heap: str = "512m"
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
        self.boot()
        try:
            asyncio.run(self.wait_until_ready(timeout_seconds))
        except BaseException:
            self.stop()
            raise

    def boot(self) -> None:
        """Format storage if new and start the broker, without waiting for it."""
        ensure_jars()
        self.format(None)
        self.launch()

    def format(self, cluster_id: str | None) -> None:
        """Write ``server.properties``; format the storage unless already formatted.

        A lone node formats itself as a standalone quorum with a fresh cluster id; a cluster's
        nodes share ``cluster_id`` and name their voters in the configuration.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text(
            server_properties(
                self.data_dir,
                self.port,
                self.controller_port,
                node_id=self.node_id,
                replication=self.replication,
            )
        )
        if (self.data_dir / "logs" / "meta.properties").exists():
            return
        quorum = [] if self.replication.voters else ["--standalone"]
        subprocess.run(
            _java(
                "kafka.tools.StorageTool",
                "format",
                *quorum,
                "--cluster-id",
                cluster_id or new_cluster_id(),
                "--config",
                str(config),
            ),
            check=True,
            capture_output=True,
        )

    def launch(self) -> None:
        """Start the (formatted) node without waiting for it."""
        config = self.data_dir / "server.properties"
        self._process = spawn(
            _java("kafka.Kafka", str(config), heap=self.heap), log_path=self.log_path
        )

    async def wait_until_ready(self, timeout_seconds: float) -> None:
        """Return once this node serves metadata that lists it (a fenced node is not listed)."""
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
                metadata = await admin._client.fetch_all_metadata()
                if metadata.broker_metadata(self.node_id) is not None:
                    return
            except (KafkaError, OSError):
                pass
            finally:
                await admin.close()
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka not ready after {timeout_seconds}s")
            await asyncio.sleep(0.25)

    @property
    def pid(self) -> int | None:
        """The running JVM's process id."""
        return self._process.pid if self._process and self._process.poll() is None else None

    def kill(self) -> None:
        """SIGKILL the JVM: a crash, no flush, no goodbye to the controller."""
        if self._process is not None:
            kill(self._process)

    def stop(self) -> None:
        """Stop the broker gracefully (it flushes its logs), then forcibly if it hangs."""
        if self._process is not None:
            stop(self._process, grace_seconds=30)
            self._process = None


def new_cluster_id() -> str:
    """A fresh KRaft cluster id: 16 random bytes in URL-safe base64 without padding.

    That is the form ``kafka-storage.sh random-uuid`` prints (Kafka's ``Uuid``), made here
    because asking the tool costs a JVM start, seconds on a busy two-core machine, for each
    fresh broker. Kafka's own generator never hands out an id whose text starts with ``-``
    (it would read as an option on a command line), so neither does this one.
    """
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not text.startswith("-"):
            return text
