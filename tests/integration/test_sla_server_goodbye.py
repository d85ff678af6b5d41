"""The SLA timers ride out PostgreSQL ending their connections, as a postmaster kill does.

A fault run (kill -9 of PostgreSQL's postmaster) logged, from the SLA scheduler,
``InternalClientError: cannot switch to state 12; another operation (2) is in progress``. It
reads like one connection used by two operations at once; it is not. State 2 is asyncpg
consuming an error: a backend that is ending sends its client an unsolicited FATAL (57P01,
"terminating connection due to administrator command" or "... unexpected postmaster exit")
and closes. An *idle* pool connection that received that goodbye, but whose end of stream the
event loop has not yet delivered, is still handed out by the pool; its next query (state 12:
bind and execute a statement the connection had prepared, the scheduler's
``seconds_to_next``) is refused that way. Nothing in the notifier shares a connection between
tasks: every writer borrows one per transaction (``flows.commit_and_publish``) and publishes
after giving it back.

This test delivers exactly those bytes to every idle connection of a real pool and checks what
must follow: the first look meets the fault run's error, the scheduler treats it as the outage
it is (``winback_shared.transient``), the pool discards the dead connections instead of handing
them out again, and the due timer fires exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from contextlib import suppress
from typing import Any

import asyncpg
import pytest

from tests.case_support import open_case
from tests.support import eventually
from winback_notifier.cases.publisher import CaseEventPublisher
from winback_notifier.settings import NotifierSettings
from winback_notifier.sla.scheduler import SlaScheduler, policy_from
from winback_shared.db import create_pool
from winback_shared.kafka import reliable_producer
from winback_shared.startup import prepare_infrastructure
from winback_shared.transient import is_transient

POOL_SIZE = 2


def server_goodbye() -> bytes:
    """The ErrorResponse a backend sends its client as it is terminated."""
    fields = b"SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0"
    return b"E" + struct.pack("!i", len(fields) + 4) + fields


def say_goodbye(pool: asyncpg.Pool) -> int:
    """Deliver the goodbye to every open connection of ``pool`` (none may be borrowed), as
    their backends' sockets would; returns how many heard it. asyncpg's internals, on purpose:
    the bytes must reach the connection exactly as the server's do."""
    holders: list[Any] = pool._holders  # type: ignore[attr-defined]
    connections = [holder._con for holder in holders if holder._con is not None]
    for conn in connections:
        conn._protocol.data_received(server_goodbye())
    return len(connections)


async def test_a_server_goodbye_on_idle_connections_is_an_outage_not_a_bug(
    infra_env: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    settings = NotifierSettings(**infra_env)
    pool = await create_pool(settings.database_url, min_size=POOL_SIZE, max_size=POOL_SIZE)
    probe = await asyncpg.connect(settings.database_url)
    producer = reliable_producer(settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await prepare_infrastructure(settings, pool)
        case_id = await open_case(pool)
        await pool.execute(
            "UPDATE recovery_cases SET contact_due_at = now() - interval '1 minute' WHERE id = $1",
            case_id,
        )
        publisher = CaseEventPublisher(producer, pool, settings.topics.case_events, 5.0)
        scheduler = SlaScheduler(pool, publisher, policy_from(settings))

        # Both connections open and idle, then each hears its backend's goodbye.
        borrowed = [await pool.acquire() for _ in range(POOL_SIZE)]
        for conn in borrowed:
            await pool.release(conn)
        assert say_goodbye(pool) == POOL_SIZE

        with pytest.raises(asyncpg.InternalClientError) as met:
            await scheduler.seconds_to_next()
        # The fault run's words (state 12 there: the statement was already prepared on that
        # connection; 11 here, preparing it): one operation, refused by the connection's state.
        assert "another operation (2) is in progress" in str(met.value)
        assert is_transient(met.value)

        caplog.set_level(logging.WARNING, logger="winback.notifier")
        running = asyncio.create_task(scheduler.run())

        async def breached() -> int:  # on a connection of its own: the pool is the subject
            return int(
                await probe.fetchval(
                    "SELECT count(*) FROM case_history WHERE case_id = $1"
                    " AND kind = 'sla_breached'",
                    case_id,
                )
            )

        try:
            assert await eventually(breached, timeout=30) == 1
            await asyncio.sleep(0.5)  # nothing more may fire
            assert await breached() == 1
            assert not running.done(), "the scheduler's loop must not die of an outage"
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        for _ in range(POOL_SIZE):  # whatever the scheduler did not meet, the pool discards
            with suppress(asyncpg.InternalClientError):
                await pool.fetchval("SELECT 1")
        assert [await pool.fetchval("SELECT 1") for _ in range(3)] == [1, 1, 1]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        await producer.stop()
        await probe.close()
        await pool.close()
