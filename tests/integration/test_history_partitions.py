"""Migration 0024 converts a populated case_history into month partitions and keeps its rows,
keys, foreign keys, triggers and grants; the hash chain goes on across the conversion."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.migration_support import migrate_below
from tests.retention_support import case_with_history
from winback_notifier.cases.audit import broken_links

PARTITIONING = 24
CASE_PARTITIONING = 35


@pytest.fixture
async def conn(schema_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(schema_url)
    try:
        yield connection
    finally:
        await connection.close()


async def test_a_populated_history_is_converted_whole(conn: asyncpg.Connection) -> None:
    await migrate_below(conn, PARTITIONING)
    assert (
        await conn.fetchval(
            "SELECT relkind::text FROM pg_class WHERE oid = 'case_history'::regclass"
        )
        == "r"
    )
    now = datetime.now(UTC)
    old = datetime(2020, 1, 10, tzinfo=UTC)
    spanning = await case_with_history(conn, old, old + timedelta(days=40), now)
    await case_with_history(conn, now, now + timedelta(seconds=1))
    rows_before = await conn.fetch("SELECT * FROM case_history ORDER BY id")

    # Up to the migration before recovery_cases' own partitioning (0035), which gives
    # case_history the case's opening and a composite key (test_case_partitions.py).
    await migrate_below(conn, CASE_PARTITIONING)

    assert (
        await conn.fetchval(
            "SELECT relkind::text FROM pg_class WHERE oid = 'case_history'::regclass"
        )
        == "p"
    )
    assert await conn.fetch("SELECT * FROM case_history ORDER BY id") == rows_before
    partitions = await conn.fetch(
        "SELECT inhrelid::regclass::text AS name FROM pg_inherits"
        " WHERE inhparent = 'case_history'::regclass"
    )
    names = {row["name"] for row in partitions}
    assert {
        "case_history_p202001",
        "case_history_p202002",
        f"case_history_p{now:%Y%m}",
        "case_history_default",
    } <= names
    ahead = (now.replace(day=1) + timedelta(days=95)).strftime("%Y%m")
    assert f"case_history_p{ahead}" in names  # the next three months exist already

    constraints = {
        row["conname"]: row["definition"]
        for row in await conn.fetch(
            "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint"
            " WHERE conrelid = 'case_history'::regclass"
        )
    }
    assert constraints["case_history_pkey"] == "PRIMARY KEY (id, occurred_at)"
    assert constraints["case_history_seq_uniq"] == "UNIQUE (case_id, seq, occurred_at)"
    assert sorted(d for d in constraints.values() if d.startswith("FOREIGN KEY")) == [
        "FOREIGN KEY (actor_id) REFERENCES agents(id)",
        "FOREIGN KEY (case_id) REFERENCES recovery_cases(id)",
    ]
    for name in names | {"case_history"}:
        triggers = {
            row["tgname"]
            for row in await conn.fetch(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND NOT tgisinternal",
                name,
            )
        }
        assert triggers == {
            "case_history_append_only",
            "case_history_chain",
            "case_history_no_truncate",
        }, name

    # The sequence and the chain go on where they were.
    next_id = await conn.fetchval(
        "INSERT INTO case_history (case_id, seq, kind, actor) VALUES ($1, 4, 'note', 'ana')"
        " RETURNING id",
        spanning,
    )
    assert next_id > max(row["id"] for row in rows_before)
    last_two = await conn.fetch(
        "SELECT prev_hash, row_hash FROM case_history WHERE case_id = $1 ORDER BY seq DESC LIMIT 2",
        spanning,
    )
    assert last_two[0]["prev_hash"] == last_two[1]["row_hash"]
    assert await conn.fetchval(
        "SELECT pg_get_serial_sequence('case_history', 'id') = current_schema()"
        " || '.case_history_id_seq'"
    )
    assert await broken_links(conn) == []
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await conn.execute("DELETE FROM case_history_p202001")
