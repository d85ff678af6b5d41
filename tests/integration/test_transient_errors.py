"""Against the real PostgreSQL: a restart is transient, a SQL bug is not, and a bug in a
notifier loop stops the notifier instead of repeating as a warning.

``pg_terminate_backend`` is what a restart (``pg_ctl stop -m fast``) does to every connection:
the backend is sent SIGTERM and answers 57P01 before it closes. The shared server is never
restarted by tests, so each scenario terminates the backends of its own connections.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support import eventually, serve
from winback_notifier.app import create_app
from winback_notifier.settings import NotifierSettings
from winback_notifier.sla.scheduler import SlaScheduler, policy_from
from winback_notifier.sweeps import sweep_forever
from winback_shared.db import create_pool
from winback_shared.transient import is_transient


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection that terminates the others' backends, as a restart would."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def terminate(admin: asyncpg.Connection, pid: int) -> None:
    assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)


async def raised(call: Callable[[], Awaitable[Any]]) -> BaseException:
    try:
        await call()
    except Exception as exc:
        return exc
    raise AssertionError("no error raised")


async def test_a_backend_terminated_mid_query_is_transient(
    database_url: str, admin: asyncpg.Connection
) -> None:
    conn = await asyncpg.connect(database_url)
    query = asyncio.create_task(conn.fetchval("SELECT pg_sleep(30)"))
    await asyncio.sleep(0.3)
    await terminate(admin, conn.get_server_pid())

    error = await raised(lambda: query)
    assert isinstance(error, asyncpg.PostgresError), repr(error)
    assert is_transient(error), repr(error)
    assert "administrator command" in str(error)


async def test_a_connection_used_after_its_backend_was_terminated_is_transient(
    database_url: str, admin: asyncpg.Connection
) -> None:
    conn = await asyncpg.connect(database_url)
    await terminate(admin, conn.get_server_pid())
    await asyncio.sleep(0.3)  # the client has seen the connection close

    error = await raised(lambda: conn.fetchval("SELECT 1"))
    assert is_transient(error), repr(error)


async def test_a_pool_connection_held_across_the_termination_is_transient(
    database_url: str, admin: asyncpg.Connection
) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:  # as a sweep holds one while it awaits Kafka
            await terminate(admin, conn.get_server_pid())
            await asyncio.sleep(0.3)
            error = await raised(lambda: conn.fetchval("SELECT 1"))
        assert is_transient(error), repr(error)
        assert await pool.fetchval("SELECT 1") == 1  # and trying again works
    finally:
        await pool.close()


@pytest.mark.parametrize(
    ("sql", "args"),
    [
        ("SELECT no_such_column FROM pg_class", ()),
        ("SELECT * FROM no_such_table", ()),
        ("SELEC 1", ()),
        ("SELECT 'x'::int", ()),
        ("SELECT 1 / 0", ()),
        ("SELECT $1::int + $2::int", (1,)),
        ("SELECT $1::int", ("not a number",)),
    ],
)
async def test_a_bad_query_is_not_transient(
    admin: asyncpg.Connection, sql: str, args: tuple[object, ...]
) -> None:
    error = await raised(lambda: admin.fetchval(sql, *args))
    assert not is_transient(error), repr(error)
    assert await admin.fetchval("SELECT 1") == 1  # the connection is fine: only the query was bad


async def test_sla_timers_raise_a_sql_error_instead_of_retrying_it(
    infra_env: dict[str, Any], schema_url: str
) -> None:
    # A schema without the migrations: whatever the scheduler asks PostgreSQL is a SQL error.
    settings = NotifierSettings(**infra_env)
    pool = await create_pool(schema_url, min_size=1, max_size=2)
    try:
        scheduler = SlaScheduler(pool, None, policy_from(settings))  # type: ignore[arg-type]
        with pytest.raises(asyncpg.UndefinedTableError):
            await asyncio.wait_for(scheduler.run(), 10)
    finally:
        await pool.close()


async def test_an_outbox_sweep_raises_a_sql_error_instead_of_retrying_it(schema_url: str) -> None:
    pool = await create_pool(schema_url, min_size=1, max_size=2)

    async def sweep() -> int:
        return len(await pool.fetch("SELECT id FROM agent_changes"))

    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await asyncio.wait_for(sweep_forever(sweep, 0.01, what="agent change"), 10)
    finally:
        await pool.close()


async def test_a_sql_bug_in_a_notifier_loop_stops_the_notifier(
    infra_env: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    settings = NotifierSettings(**infra_env, outbox_interval_seconds=0.1)
    failures: list[BaseException] = []
    with caplog.at_level(logging.WARNING, logger="winback.notifier"):
        async with serve(create_app(settings, failures.append)) as url:
            async with httpx.AsyncClient(base_url=url) as http:
                assert (await http.get("/readyz")).json()["checks"]["loops_running"] is True
                pool = await create_pool(str(infra_env["database_url"]), min_size=1, max_size=1)
                try:  # a migration gone wrong: the agents' outbox is missing
                    await pool.execute("DROP TABLE agent_changes CASCADE")
                finally:
                    await pool.close()
                await eventually(lambda: asyncio.sleep(0, failures))
                ready = await http.get("/readyz")

    [failure] = failures  # the app stops the process here; the test keeps it
    assert isinstance(failure, asyncpg.UndefinedTableError)
    assert ready.status_code == 503 and ready.json()["checks"]["loops_running"] is False
    # Only the notifier's own records: the broker client may log a passing error of its own.
    ours = [r for r in caplog.records if r.name.startswith("winback.")]
    errors = [r for r in ours if r.levelno >= logging.ERROR]
    assert [r.getMessage().split(":")[0] for r in errors] == ["agent-outbox stopped"]
    assert errors[0].exc_info is not None and errors[0].exc_info[1] is failure
    assert not [r for r in ours if r.levelno == logging.WARNING and "sweep" in r.msg]
