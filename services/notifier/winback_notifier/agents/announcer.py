"""Announcing agent changes: from the ``agent_changes`` outbox to ``case-events``.

Migration 0006 makes PostgreSQL itself record, in the changing transaction, every change to an
agent's queues, role, token or enabled state, whoever makes it. That is why the admin CLI, which
only talks to PostgreSQL, needs no Kafka and no code of its own to be announced: the notifiers
send the outbox. The admin API sends it at once after its change commits; every notifier also
sweeps every ``WINBACK_OUTBOX_INTERVAL_SECONDS``, which is how CLI changes (and API changes
Kafka missed) go out. LISTEN/NOTIFY was the other candidate: it needs a dedicated connection
per notifier and loses what is sent while that connection is down, where an outbox row waits.

Rows are deleted once Kafka acknowledged their event, in the transaction that locked them: a
crash in between sends them again, which is harmless (notifiers reload the agent). ``SKIP
LOCKED`` lets several notifiers sweep at once without both sending the same rows.
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from aiokafka import AIOKafkaProducer

from winback_shared.events.case_events import AgentChanged, agent_key
from winback_shared.transient import is_transient

log = logging.getLogger("winback.notifier")

BATCH = 500


class AgentChangeAnnouncer:
    """Sends one ``agent.changed`` per changed agent, however many outbox rows it has."""

    def __init__(
        self, producer: AIOKafkaProducer, pool: asyncpg.Pool, topic: str, timeout: float
    ) -> None:
        self._producer = producer
        self._pool = pool
        self._topic = topic
        self._timeout = timeout

    async def announce(self) -> int:
        """Send what the outbox holds (oldest first) and delete it; returns agents announced.

        Raises on Kafka or database trouble, leaving the rows for the next try.
        """
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, agent_id FROM agent_changes ORDER BY id LIMIT $1"
                " FOR UPDATE SKIP LOCKED",
                BATCH,
            )
            if not rows:
                return 0
            agent_ids = list(dict.fromkeys(row["agent_id"] for row in rows))
            async with asyncio.timeout(self._timeout):
                sent = [
                    await self._producer.send(
                        self._topic,
                        AgentChanged(agent_id=agent_id).to_bytes(),
                        key=agent_key(agent_id),
                    )
                    for agent_id in agent_ids
                ]
                for delivery in sent:
                    await delivery
            await conn.execute(
                "DELETE FROM agent_changes WHERE id = ANY($1::bigint[])",
                [row["id"] for row in rows],
            )
        return len(agent_ids)

    async def announce_now(self) -> bool:
        """Announce right after a change committed; ``False`` leaves it to the sweep.

        Only a transient failure (:mod:`winback_shared.transient`) is left to the sweep; any
        other error is raised, because the sweep would only meet it again.
        """
        try:
            await self.announce()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(
                "agent change not yet announced; the sweep will retry",
                extra={"fields": {"error": repr(exc)}},
            )
            return False
        return True
