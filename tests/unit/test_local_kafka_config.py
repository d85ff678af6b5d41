"""The local runner's Kafka configuration: one broker, or three that replicate."""

from __future__ import annotations

import base64
import string
from pathlib import Path

import pytest

from winback_local import kafka
from winback_local.kafka import Replication, new_cluster_id, server_properties
from winback_local.kafka_cluster import KafkaCluster
from winback_local.stack import Ports
from winback_shared.kafka import replication_factor_from


def properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_a_lone_broker_keeps_one_copy_and_bootstraps_its_own_quorum(tmp_path: Path) -> None:
    config = properties(server_properties(tmp_path, 9092, 9093))

    assert config["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert config["default.replication.factor"] == "1"
    assert config["min.insync.replicas"] == "1"
    assert config["offsets.topic.replication.factor"] == "1"


def test_cluster_nodes_share_voters_keep_three_copies_and_need_two(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, [(9101, 9102), (9103, 9104), (9105, 9106)])

    configs = [
        properties(
            server_properties(
                node.data_dir,
                node.port,
                node.controller_port,
                node_id=node.node_id,
                replication=node.replication,
            )
        )
        for node in cluster.nodes.values()
    ]

    assert [c["node.id"] for c in configs] == ["1", "2", "3"]
    voters = "1@127.0.0.1:9102,2@127.0.0.1:9104,3@127.0.0.1:9106"
    assert {c["controller.quorum.voters"] for c in configs} == {voters}
    for config in configs:
        assert "controller.quorum.bootstrap.servers" not in config
        assert config["default.replication.factor"] == "3"
        assert config["min.insync.replicas"] == "2"
        assert config["transaction.state.log.min.isr"] == "2"
    assert cluster.bootstrap_servers == "127.0.0.1:9101,127.0.0.1:9103,127.0.0.1:9105"
    assert {node.heap for node in cluster.nodes.values()} == {"384m"}


def test_min_insync_never_exceeds_the_copies() -> None:
    assert Replication(factor=1).min_insync == 1
    assert Replication(factor=3).min_insync == 2


def test_cluster_ports_default_to_the_next_pairs_or_are_all_free() -> None:
    assert Ports().kafka_nodes(3) == [(9092, 9093), (9094, 9095), (9096, 9097)]
    assert Ports().kafka_nodes(1) == [(9092, 9093)]
    free = Ports.free(brokers=3).kafka_nodes(3)
    assert len({port for pair in free for port in pair}) == 6


def test_topics_take_the_clusters_default_replication_factor() -> None:
    answer = {
        "resources": [
            {
                "config_entries": [
                    {"config_names": "default.replication.factor", "config_value": "3"}
                ]
            }
        ]
    }

    assert replication_factor_from(answer) == 3
    assert replication_factor_from({"resources": [{"config_entries": []}]}) == 1


def test_a_cluster_id_is_sixteen_random_bytes_in_kafkas_text_form() -> None:
    ids = [new_cluster_id() for _ in range(2_000)]

    assert len(set(ids)) == len(ids)
    for text in ids:
        assert len(text) == 22
        assert not text.startswith("-")
        assert set(text) <= set(string.ascii_letters + string.digits + "-_")
        assert len(base64.urlsafe_b64decode(text + "==")) == 16


def test_the_broker_runs_with_the_serial_collector_within_its_heap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """G1's concurrent work was a fifth of a lone development broker's CPU on two cores
    (docs/performance.md, section 43): the broker's own command line asks for the serial one."""
    started: list[list[str]] = []
    monkeypatch.setattr(kafka, "spawn", lambda command, log_path: started.append(command))
    broker = kafka.LocalKafka(tmp_path, 9092, 9093, heap="256m")

    broker.launch()

    (command,) = started
    assert command[0] == "java"
    assert "-XX:+UseSerialGC" in command
    assert "-Xmx256m" in command
    assert command.index("-XX:+UseSerialGC") < command.index("kafka.Kafka")
