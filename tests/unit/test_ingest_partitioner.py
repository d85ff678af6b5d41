"""Ingest's faster partitioner puts every key where aiokafka's (and Kafka's) default does."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from winback_ingest.partitioner import KeyPartitioner, murmur2

EXAMPLES = settings(max_examples=2000, deadline=None)


@EXAMPLES
@given(data=st.binary(max_size=300))
def test_the_hash_is_kafkas_murmur2(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


def test_the_hash_of_keys_like_ingests() -> None:
    """Each tail length (0 to 3 bytes past the last whole word), and an empty key."""
    assert murmur2(b"") == aiokafka_murmur2(b"") == 275646681
    for key in (b"survey:r-1001", "survey:réponse-7".encode(), b"\xff" * 7, b"a", b"ab", b"abc"):
        assert murmur2(key) == aiokafka_murmur2(key)


@EXAMPLES
@given(
    key=st.binary(min_size=1, max_size=80) | st.text(max_size=60).map(str.encode),
    partitions=st.integers(1, 64),
)
def test_a_key_lands_on_the_partition_aiokafka_chose(key: bytes, partitions: int) -> None:
    every = list(range(partitions))
    assert KeyPartitioner()(key, every, every) == DefaultPartitioner()(key, every, every)


def test_without_a_key_any_available_partition() -> None:
    chosen = {KeyPartitioner()(None, [0, 1, 2, 3], [1, 3]) for _ in range(200)}
    assert chosen == {1, 3}
    assert KeyPartitioner()(None, [0, 1], []) in (0, 1)
