"""Reads ``recovery-alerts`` and hands each alert to the hub.

Every notifier instance reads every alert (no consumer group), starting from the end of the
topic: a console that connects gets open cases from PostgreSQL, so nothing before "now" needs
replaying, and several notifiers can run side by side.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer

from winback_notifier.hub import AlertHub
from winback_shared.events.recovery_alerts import RecoveryCaseOpened

log = logging.getLogger("winback.notifier")


class AlertsFeed:
    """Consumes alerts into the hub; ``ready`` is set once it reads from the topic's end."""

    def __init__(self, bootstrap_servers: str, topic: str, hub: AlertHub) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        self._hub = hub
        self.ready = asyncio.Event()

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The underlying consumer, for readiness probes."""
        return self._consumer

    async def start(self) -> None:
        """Connect and pin the start position, so alerts published after this are seen."""
        await self._consumer.start()
        for _ in range(200):
            if self._consumer.assignment():
                break
            await asyncio.sleep(0.05)
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)
        self.ready.set()

    async def run(self) -> None:
        """Forward alerts until cancelled."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    try:
                        alert = RecoveryCaseOpened.from_bytes(record.value or b"")
                    except ValueError:
                        log.error(
                            "unreadable alert skipped", extra={"fields": {"offset": record.offset}}
                        )
                        continue
                    self._hub.publish(alert.model_dump_json())

    async def stop(self) -> None:
        """Disconnect."""
        await self._consumer.stop()
