"""The router group's consumer lag, read from the brokers without joining the group.

The admin client gives the group's committed offsets; a consumer without a group gives the
partitions' end offsets (``read_committed``, as the router reads). Neither joins the router's
group, so probing never triggers a rebalance of the hot path it watches.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from winback_router.refine.pause import group_lag
from winback_shared.transient import is_transient

log = logging.getLogger("winback.refiner")


class GroupLagProbe:
    """``lag()``: how many records of ``topic`` the consumer ``group`` has not committed."""

    def __init__(
        self, bootstrap_servers: str, *, group: str, topic: str, timeout_seconds: float = 2.0
    ) -> None:
        self._group = group
        self._topic = topic
        self._timeout = timeout_seconds
        self._admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout_seconds * 1000)
        )
        self._reader = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=int(timeout_seconds * 1000),
        )
        self._admin_started = self._reader_started = False

    async def lag(self) -> int | None:
        """The group's lag now, or None if the brokers did not answer in time (logged)."""
        try:
            async with asyncio.timeout(self._timeout):
                await self._start()
                return await self._measure()
        except Exception as exc:
            if not is_transient(exc):
                raise  # a bug or a refused authorization: stop with it, not a warning forever
            log.warning(
                "router lag unknown; refining as if the router were idle",
                extra={"fields": {"error": repr(exc)}},
            )
            return None

    async def _start(self) -> None:
        """Connect both clients on first use (again after a failed start)."""
        if not self._admin_started:
            await self._admin.start()
            self._admin_started = True
        if not self._reader_started:
            await self._reader.start()
            self._reader_started = True

    async def _measure(self) -> int:
        committed = await self._admin.list_consumer_group_offsets(self._group)
        ours = {
            partition: meta.offset
            for partition, meta in committed.items()
            if partition.topic == self._topic and meta.offset >= 0
        }
        if not ours:
            return 0
        ends: dict[TopicPartition, int] = await self._reader.end_offsets(list(ours))
        return group_lag(ends, ours)

    async def close(self) -> None:
        """Close both clients (safe if never started)."""
        if self._reader_started:
            await self._reader.stop()
        if self._admin_started:
            await self._admin.close()
