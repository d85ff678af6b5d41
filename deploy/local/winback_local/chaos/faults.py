"""Killing one piece of a running :class:`~winback_local.stack.Stack` and bringing it back.

Every kill is a SIGKILL: no shutdown hook runs, nothing is flushed, as in a crash or an OOM kill.
Restarting is what an operator (or a supervisor such as systemd) would do: start the same
process again, with the same configuration and state. Processes are started on the event loop's
thread (a child's parent-death signal follows the thread that started it) and only the waiting
happens elsewhere, so the load and the console keep going meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from winback_local.chaos.plan import Action, Fault, Target
from winback_local.kafka import LocalKafka
from winback_local.kafka_cluster import KafkaCluster, partition_leader
from winback_local.stack import Stack
from winback_shared.settings import KafkaTopics

KAFKA_RESTART_SECONDS = 120

Kill = Callable[[], None]
Restart = Callable[[], Awaitable[None]]


@dataclass
class FaultRecord:
    """What happened: which piece, when it died, was started again, was ready again."""

    fault: Fault
    label: str
    killed_at: float
    restarting_at: float | None = None
    restarted_at: float | None = None


class FaultInjector:
    """Kills and restarts the pieces of ``stack``."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def inject(self, fault: Fault) -> FaultRecord:
        """Kill, wait ``down_seconds``, restart and wait until ready (or only one of the two,
        for an instance that leaves or joins)."""
        if fault.action is Action.JOIN:
            name = fault.instance or fault.target.value
            record = FaultRecord(fault, f"{name} joins", killed_at=time.time())
            record.restarting_at = record.killed_at
            await self._start(name)
            record.restarted_at = time.time()
            return record
        label, kill, restart = await self._actions(fault.target, fault.instance)
        kill()
        if fault.action is Action.LEAVE:
            return FaultRecord(fault, f"{label} leaves", killed_at=time.time())
        record = FaultRecord(fault, label, killed_at=time.time())
        await asyncio.sleep(fault.down_seconds)
        record.restarting_at = time.time()
        await restart()
        record.restarted_at = time.time()
        return record

    async def _start(self, name: str) -> None:
        self.stack.start_service(name)
        await asyncio.to_thread(self.stack.wait_ready, name)

    async def _actions(self, target: Target, instance: str | None) -> tuple[str, Kill, Restart]:
        stack = self.stack
        if target is Target.POSTGRES:
            postgres = stack.postgres
            assert postgres is not None

            async def restart_postgres() -> None:
                await asyncio.to_thread(postgres.restart)  # pg_ctl daemonises the postmaster

            return "postgres (postmaster)", postgres.kill, restart_postgres
        if target is Target.BROKER:
            return await self._broker()
        name = instance or target.value

        async def restart_service() -> None:
            await self._start(name)

        return name, lambda: stack.kill_service(name), restart_service

    async def _broker(self) -> tuple[str, Kill, Restart]:
        kafka = self.stack.kafka
        if isinstance(kafka, LocalKafka):
            node, label = kafka, "broker (the only one)"
        else:
            assert isinstance(kafka, KafkaCluster)
            topic = KafkaTopics().survey_responses
            leader = await partition_leader(kafka.bootstrap_servers, topic, 0)
            node, label = kafka.nodes[leader], f"broker {leader} (leader of {topic}/0)"

        async def restart_node() -> None:
            node.launch()
            await node.wait_until_ready(KAFKA_RESTART_SECONDS)

        return label, node.kill, restart_node
