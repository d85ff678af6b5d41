"""Three Kafka nodes on loopback as one replicated KRaft cluster.

Each node is broker and controller at once; the three controllers form a static quorum, so any
one node may die and the other two still elect a controller and partition leaders. Topics get
three replicas and an ``acks=all`` write needs two of them (:class:`~winback_local.kafka.
Replication`): killing the leader of a partition loses nothing, and producers move to the new
leader. Each JVM gets a small heap; the cluster is for a developer machine, not for throughput.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from winback_local.kafka import LocalKafka, Replication, ensure_jars, new_cluster_id

CLUSTER_SIZE = 3
NODE_HEAP = "384m"


@dataclass
class KafkaCluster:
    """Nodes ``1..n`` under ``data_dir/node-<id>``; ``ports`` holds (client, controller) pairs."""

    data_dir: Path
    ports: list[tuple[int, int]]
    nodes: dict[int, LocalKafka] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        voters = ",".join(
            f"{node_id}@127.0.0.1:{controller}"
            for node_id, (_, controller) in enumerate(self.ports, start=1)
        )
        replication = Replication(voters=voters, factor=min(3, len(self.ports)))
        for node_id, (port, controller) in enumerate(self.ports, start=1):
            self.nodes[node_id] = LocalKafka(
                self.data_dir / f"node-{node_id}",
                port,
                controller,
                node_id=node_id,
                replication=replication,
                heap=NODE_HEAP,
            )

    @property
    def bootstrap_servers(self) -> str:
        """Every node, so clients find the cluster whichever node is down."""
        return ",".join(node.bootstrap_servers for node in self.nodes.values())

    def start(self, timeout_seconds: float = 120) -> None:
        """Format new storage with one shared cluster id, start every node, wait for all."""
        try:
            self.boot()
            asyncio.run(self.wait_until_ready(timeout_seconds))
        except BaseException:
            self.stop()
            raise

    def boot(self) -> None:
        """Format new storage with one shared cluster id and start every node, without waiting.

        All nodes start before any is awaited: a controller alone cannot form a quorum.
        """
        ensure_jars()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        id_file = self.data_dir / "cluster-id"
        if not id_file.exists():
            id_file.write_text(new_cluster_id())
        cluster_id = id_file.read_text().strip()
        for node in self.nodes.values():
            node.format(cluster_id)
        for node in self.nodes.values():
            node.launch()

    async def wait_until_ready(self, timeout_seconds: float) -> None:
        """Return once every node is up and listed by the cluster."""
        await asyncio.gather(*(n.wait_until_ready(timeout_seconds) for n in self.nodes.values()))

    def stop(self) -> None:
        """Stop every node gracefully."""
        for node in self.nodes.values():
            node.stop()


async def partition_leader(bootstrap_servers: str, topic: str, partition: int = 0) -> int:
    """The node id currently leading ``topic``'s ``partition``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    leaders = {p["partition"]: p["leader"] for p in described["partitions"]}
    return int(leaders[partition])
