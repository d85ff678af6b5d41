"""Migrations apply once, in order, even when services start together; repeatable files (views,
functions) run again exactly when they changed or a numbered migration ran."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from winback_shared.migrations import (
    Repeatable,
    apply_migrations,
    available_migrations,
    available_repeatables,
    pending_migrations,
)
from winback_shared.migrations.__main__ import wait_until_current

CARD_COLUMNS = [
    "case_id", "seq", "status", "priority", "queue", "alerted_at", "source", "response_id",
    "customer", "interaction", "scores", "reasons", "comment", "follow_up_requested",
    "submitted_at", "received_at", "opened_at", "owner_id", "owner", "claimed_at",
    "first_attempt_at", "first_contact_at", "resolved_at", "closed_at", "failed_attempts",
    "root_cause", "resolution", "customer_reaction", "follow_up_outcome", "updated_at",
    "contact_due_at", "sla_warned_at", "sla_breached_at", "owned_at",
    "call_back_due_at", "call_back_missed_at", "wrong_number_at",
]  # fmt: skip
"""case_cards as migration 0007 left it, with the call-back and wrong-number stamps of 0020:
what the notifier's CaseCard reads."""
SUMMARY_COLUMNS = [*CARD_COLUMNS[: CARD_COLUMNS.index("opened_at") + 1], "contact_due_at"]
"""case_summaries as migration 0007 left it: what the router's CaseSummary reads."""


def counting(version: int = 1) -> Repeatable:
    """A repeatable file that counts its runs (and says which version of it ran last)."""
    return Repeatable(
        "zz_counting",
        f"CREATE TABLE IF NOT EXISTS runs (version integer); INSERT INTO runs VALUES ({version});",
    )


def with_counting(version: int = 1) -> list[Repeatable]:
    return [*available_repeatables(), counting(version)]


@pytest.fixture
async def conn(schema_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(schema_url)
    try:
        yield connection
    finally:
        await connection.close()


async def runs(conn: asyncpg.Connection) -> list[int]:
    return [r["version"] for r in await conn.fetch("SELECT version FROM runs")]


async def columns(conn: asyncpg.Connection, view: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        view,
    )
    return [r["column_name"] for r in rows]


async def test_migrations_apply_once_even_concurrently(schema_url: str) -> None:
    connections = [await asyncpg.connect(schema_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(c, with_counting()) for c in connections))
        again = await apply_migrations(connections[0], with_counting())
        recorded = await connections[0].fetch("SELECT version FROM schema_migrations ORDER BY 1")
        checksums = await connections[0].fetch("SELECT name, checksum FROM schema_repeatables")
        repeatable_runs = await runs(connections[0])
    finally:
        for conn in connections:
            await conn.close()
    versions = [m.version for m in available_migrations()]
    assert sorted(v for applied in results for v in applied) == versions
    assert again == []
    assert [r["version"] for r in recorded] == versions
    assert repeatable_runs == [1]  # three services started together, one applied them
    assert {r["name"]: r["checksum"] for r in checksums} == {
        r.name: r.checksum for r in with_counting()
    }


async def test_a_changed_repeatable_file_is_applied_again(conn: asyncpg.Connection) -> None:
    await apply_migrations(conn, with_counting(1))
    await apply_migrations(conn, with_counting(1))
    assert await runs(conn) == [1]  # unchanged: not run again
    await apply_migrations(conn, with_counting(2))
    assert await runs(conn) == [1, 2]
    await apply_migrations(conn, available_repeatables())  # a file removed is a change too
    await apply_migrations(conn, with_counting(2))
    assert await runs(conn) == [1, 2, 2]


async def test_repeatable_files_run_again_after_a_numbered_migration(
    conn: asyncpg.Connection,
) -> None:
    """A numbered migration may drop a view to alter its table; the view comes back after it."""
    await apply_migrations(conn, with_counting())
    # Migration 0008 only drops what exists, so it can be run again to stand for a new one.
    await conn.execute("DELETE FROM schema_migrations WHERE version = 8")
    await conn.execute("DROP VIEW case_summaries; DROP VIEW case_cards")
    assert await apply_migrations(conn, with_counting()) == [8]
    assert await runs(conn) == [1, 1]
    assert await columns(conn, "case_cards") == CARD_COLUMNS


async def test_an_older_release_leaves_newer_views_alone(conn: asyncpg.Connection) -> None:
    await apply_migrations(conn, with_counting(1))
    await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'newer')")
    await apply_migrations(conn, with_counting(2))
    assert await runs(conn) == [1]


async def test_shipped_repeatable_files_are_idempotent_and_keep_the_columns(
    conn: asyncpg.Connection,
) -> None:
    await apply_migrations(conn)
    for _ in range(2):
        async with conn.transaction():
            for repeatable in available_repeatables():
                await conn.execute(repeatable.sql)
    assert await columns(conn, "case_cards") == CARD_COLUMNS
    assert await columns(conn, "case_summaries") == SUMMARY_COLUMNS
    # The alert's view is a projection of the card without the card's join to agents.
    plan = await conn.fetchval(
        "EXPLAIN (FORMAT JSON) SELECT * FROM case_summaries WHERE case_id = 1"
    )
    assert "recovery_cases" in plan and "agents" not in plan


async def test_pending_lists_what_apply_would_do_and_nothing_once_applied(
    conn: asyncpg.Connection,
) -> None:
    shipped = [f"{m.version:04d}" for m in available_migrations()]
    assert await pending_migrations(conn) == [*shipped, "repeatables"]
    await apply_migrations(conn)
    assert await pending_migrations(conn) == []
    await conn.execute("DELETE FROM schema_migrations WHERE version = $1", int(shipped[-1]))
    await conn.execute("UPDATE schema_repeatables SET checksum = 'stale'")
    assert await pending_migrations(conn) == [shipped[-1], "repeatables"]


async def test_wait_returns_once_another_process_has_migrated(
    conn: asyncpg.Connection, schema_url: str
) -> None:
    """The init container's wait: pending at first, current once the job has run."""
    waiting = asyncio.create_task(wait_until_current(schema_url, timeout=60, poll=0.1))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    await apply_migrations(conn)
    assert await asyncio.wait_for(waiting, timeout=30) is True


async def test_wait_gives_up_after_its_timeout(schema_url: str) -> None:
    assert await wait_until_current(schema_url, timeout=0.2, poll=0.05) is False
