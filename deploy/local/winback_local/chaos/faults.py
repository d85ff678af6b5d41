"""Killing one piece of a running :class:`~winback_local.stack.Stack` and bringing it back.

Every kill is a SIGKILL: no shutdown hook runs, nothing is flushed, as in a crash or an OOM kill.
Restarting is what an operator (or a supervisor such as systemd) would do: start the same
process again, with the same configuration and state. The blocking work runs in a thread so the
load and the console keep going meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from winback_local.chaos.plan import Fault, Target
from winback_local.kafka import LocalKafka
from winback_local.kafka_cluster import KafkaCluster, partition_leader
from winback_local.stack import Stack
from winback_shared.settings import KafkaTopics

Action = Callable[[], None]


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
        """Kill, wait ``down_seconds``, restart and wait until ready."""
        label, kill, restart = await self._actions(fault.target)
        await asyncio.to_thread(kill)
        record = FaultRecord(fault, label, killed_at=time.time())
        await asyncio.sleep(fault.down_seconds)
        record.restarting_at = time.time()
        await asyncio.to_thread(restart)
        record.restarted_at = time.time()
        return record

    async def _actions(self, target: Target) -> tuple[str, Action, Action]:
        stack = self.stack
        if target is Target.POSTGRES:
            assert stack.postgres is not None
            return "postgres", stack.postgres.kill, stack.postgres.restart
        if target is Target.BROKER:
            return await self._broker()
        name = target.value

        def restart() -> None:
            stack.start_service(name)
            stack.wait_ready(name)

        return name, lambda: stack.kill_service(name), restart

    async def _broker(self) -> tuple[str, Action, Action]:
        kafka = self.stack.kafka
        if isinstance(kafka, LocalKafka):
            return "broker (the only one)", kafka.kill, kafka.restart
        assert isinstance(kafka, KafkaCluster)
        topic = KafkaTopics().survey_responses
        leader = await partition_leader(kafka.bootstrap_servers, topic, 0)
        return (
            f"broker {leader} (leader of {topic}/0)",
            lambda: kafka.kill(leader),
            lambda: kafka.restart(leader),
        )
