"""Kafka's key-to-partition rule (murmur2, as the Java client and aiokafka apply it), faster.

Every delivery is keyed by source and response id, and aiokafka's default partitioner hashes
each key in a pure-Python loop that masks every intermediate value: 4.5 % of ingest's CPU under
load (docs/performance.md, section 6). This computes the same hash with the key's 32-bit words
unpacked at once and a mask only where a product can overflow, so a key lands on the same
partition as before and as any other Kafka client would put it (the router's ordering per
response depends on that; ``tests/unit/test_ingest_partitioner.py`` holds it to aiokafka's
own function).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

SEED = 0x9747B28C
M = 0x5BD1E995
MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of ``data`` (``org.apache.kafka.common.utils.Utils.murmur2``)."""
    length = len(data)
    h = (SEED ^ length) & MASK
    for k in struct.unpack_from(f"<{length // 4}I", data):
        k = (k * M) & MASK
        k = ((k ^ (k >> 24)) * M) & MASK
        h = ((h * M) & MASK) ^ k
    tail = length & 3
    if tail:
        base = length - tail
        if tail == 3:
            h ^= data[base + 2] << 16
        if tail >= 2:
            h ^= data[base + 1] << 8
        h = ((h ^ data[base]) * M) & MASK
    h ^= h >> 13
    h = (h * M) & MASK
    return h ^ (h >> 15)


class KeyPartitioner:
    """aiokafka's ``DefaultPartitioner`` with the faster hash: the same partition for a key."""

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]
    ) -> int:
        """A key's partition by its hash; without a key, any available one."""
        if key is None:
            return random.choice(available or all_partitions)
        return all_partitions[(murmur2(key) & 0x7FFFFFFF) % len(all_partitions)]
