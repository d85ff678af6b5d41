"""The retention job on real PostgreSQL (migrations 0024 and 0025): history rows land in their
month's partition (or the DEFAULT one), old months are archived, checked, then dropped; a
repeated or interrupted run does no harm; the audit trail still verifies afterwards."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.integration.test_router_batch_store import code_all, response
from tests.retention_support import case_with_history, keyed_response
from tests.role_support import REPORTING, RETENTION, ROUTER, as_role, migrate_as_owner
from winback_notifier.cases.audit import broken_links
from winback_router.batch_store import PostgresBatchStore
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.db import create_pool
from winback_shared.deadlines import ContactPolicy
from winback_shared.partitions import ensure_partitions
from winback_shared.retention.archive import chain_digest, read_manifest, verify
from winback_shared.retention.job import (
    Settings,
    archive_partition,
    month_partitions,
    remove_partition,
    run,
)
from winback_shared.retention.plan import MonthPartition

JAN = datetime(2020, 1, 10, 9, 0, tzinfo=UTC)
FEB = datetime(2020, 2, 3, 9, 0, tzinfo=UTC)
NOW = datetime.now(UTC)


@pytest.fixture
async def pools(schema_url: str) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    """The superuser's pool (to seed and look) and the retention, reporting and router roles'."""
    await migrate_as_owner(schema_url)
    opened = {"admin": await create_pool(schema_url, min_size=1, max_size=2)}
    for role in (RETENTION, REPORTING, ROUTER):
        opened[role] = await create_pool(as_role(schema_url, role), min_size=1, max_size=2)
    try:
        yield opened
    finally:
        for pool in opened.values():
            await pool.close()


async def where(pool: asyncpg.Pool, case_id: int) -> list[str]:
    rows = await pool.fetch(
        "SELECT tableoid::regclass::text AS part FROM case_history WHERE case_id = $1 ORDER BY seq",
        case_id,
    )
    return [row["part"] for row in rows]


def listing(folder: Path) -> list[str]:
    """The names in ``folder``, sorted (no temporary file left behind)."""
    return sorted(path.name for path in folder.iterdir())


def current_partition() -> str:
    return f"case_history_p{NOW:%Y%m}"


async def test_rows_land_in_their_month_or_the_default_partition_until_it_exists(
    pools: dict[str, asyncpg.Pool],
) -> None:
    admin = pools["admin"]
    case_id = await case_with_history(admin, JAN, NOW)
    assert await where(admin, case_id) == ["case_history_default", current_partition()]
    hashes_before = await admin.fetch("SELECT seq, row_hash FROM case_history ORDER BY seq")

    async with pools[ROUTER].acquire() as conn:  # a service at start-up, without DDL
        created = await ensure_partitions(conn)
        with pytest.raises(asyncpg.RaiseError, match="between 0 and 24"):
            await ensure_partitions(conn, months_ahead=1000)

    # The case's response (received in January too) and the case itself (opened then, 0035)
    # moved out of their DEFAULT partitions alike.
    assert created == [
        "case_history_p202001",
        "survey_responses_p202001",
        "recovery_cases_p202001",
    ]
    assert await where(admin, case_id) == ["case_history_p202001", current_partition()]
    assert await admin.fetch("SELECT seq, row_hash FROM case_history ORDER BY seq") == (
        hashes_before
    )
    ahead = f"case_history_p{(NOW.replace(day=1) + timedelta(days=95)):%Y%m}"
    assert await admin.fetchval("SELECT to_regclass($1) IS NOT NULL", ahead)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):  # the new one is guarded too
        await admin.execute("TRUNCATE case_history_p202001")
    async with pools[REPORTING].acquire() as conn:
        assert await broken_links(conn) == []


async def verify_cli(database_url: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "winback_notifier.cases.audit",
        "verify",
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def retention_cli(database_url: str, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "winback_shared.retention",
        *args,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_retention_archives_then_removes_and_the_audit_trail_still_verifies(
    pools: dict[str, asyncpg.Pool], schema_url: str, tmp_path: Path
) -> None:
    admin = pools["admin"]
    spanning = await case_with_history(admin, JAN, JAN + timedelta(hours=1), FEB, NOW)
    gone = await case_with_history(admin, JAN, JAN + timedelta(days=2))
    recent = await case_with_history(admin, NOW, NOW + timedelta(seconds=1))
    retention_url = as_role(schema_url, RETENTION)

    code, out = await retention_cli(retention_url, "--dry-run", "--keep-months", "1")
    assert code == 0, out
    assert "would move 4 rows of 2020-01 in case_history_default" in out  # no partition yet
    assert "would move 1 rows of 2020-02 in case_history_default" in out
    assert listing(tmp_path) == []
    assert await admin.fetchval("SELECT count(*) FROM case_history") == 8

    code, out = await retention_cli(
        retention_url, "--keep-months", "1", "--archive-dir", str(tmp_path)
    )
    assert code == 0, out
    assert "removed case_history_p202001" in out and "removed case_history_p202002" in out

    january = tmp_path / "case_history" / "case_history_p202001.1.jsonl.gz"
    manifest = read_manifest(january)
    assert manifest.rows == 4 and verify(january) == []
    with gzip.open(january, "rt") as lines:
        archived = [json.loads(line) for line in lines]
    assert [(row["case_id"], row["seq"]) for row in archived] == [
        (spanning, 1),
        (spanning, 2),
        (gone, 1),
        (gone, 2),
    ]
    assert manifest.rows_digest == chain_digest(bytes.fromhex(r["row_hash"]) for r in archived)
    assert manifest.first_at == JAN.isoformat()
    recorded = await admin.fetch(
        "SELECT partition_name, row_count, rows_digest, archive_sha256, archive"
        " FROM retention_archives ORDER BY range_from"
    )
    assert [(r["partition_name"], r["row_count"]) for r in recorded] == [
        ("case_history_p202001", 4),
        ("case_history_p202002", 1),
    ]
    assert recorded[0]["archive_sha256"] == manifest.sha256
    assert recorded[0]["rows_digest"] == manifest.rows_digest
    assert recorded[0]["archive"] == "case_history/case_history_p202001.1.jsonl.gz"

    assert await where(admin, spanning) == [current_partition()]
    assert await where(admin, gone) == []
    assert len(await where(admin, recent)) == 2
    anchors = {
        r["case_id"]: r["seq"]
        for r in await admin.fetch("SELECT case_id, seq FROM case_history_anchors")
    }
    assert anchors == {spanning: 3, gone: 2}
    assert await admin.fetchval("SELECT to_regclass('case_history_p202001')") is None

    code, out = await verify_cli(as_role(schema_url, REPORTING))
    assert code == 0 and "history chain intact" in out, out

    # The anchor is evidence too: the first kept row removed behind the job's back is found.
    async with admin.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE case_history DISABLE TRIGGER case_history_append_only")
        await conn.execute("DELETE FROM case_history WHERE case_id = $1", spanning)
        await conn.execute("ALTER TABLE case_history ENABLE TRIGGER case_history_append_only")
    async with pools[REPORTING].acquire() as conn:
        links = await broken_links(conn)
    assert [(link.case_id, link.seq, link.problem) for link in links] == [
        (spanning, 4, "latest rows missing")
    ]


async def january(pool: asyncpg.Pool) -> MonthPartition:
    async with pool.acquire() as conn:
        await ensure_partitions(conn)
        found = [p for p in await month_partitions(conn, "case_history") if p.starts.year == 2020]
    assert [p.name for p in found] == ["case_history_p202001"]
    return found[0]


async def test_a_rerun_after_a_crash_between_archive_and_removal_does_no_harm(
    pools: dict[str, asyncpg.Pool], tmp_path: Path
) -> None:
    await case_with_history(pools["admin"], JAN, JAN + timedelta(hours=1))
    retention = pools[RETENTION]
    partition = await january(retention)
    async with retention.acquire() as conn:
        first = await archive_partition(conn, partition, tmp_path)  # then the job "crashes"
    assert await pools["admin"].fetchval("SELECT count(*) FROM case_history_p202001") == 2

    settings = Settings(keep_months=1, archive_dir=tmp_path, dry_run=False)
    async with retention.acquire() as conn:
        listed: list[str] = []
        await run(conn, Settings(1, None, dry_run=True), say=listed.append)
        assert any("would archive 2 rows of case_history_p202001" in line for line in listed)
        assert await run(conn, settings, say=lambda _: None) == ["case_history_p202001"]
        said: list[str] = []
        assert await run(conn, settings, say=said.append) == []  # and once more
    assert "nothing past retention" in said
    assert read_manifest(first.path) == first.manifest  # the same bytes, written again
    assert listing(tmp_path / "case_history") == [
        "case_history_p202001.1.jsonl.gz",
        "case_history_p202001.1.jsonl.gz.manifest.json",
    ]
    assert await pools["admin"].fetchval("SELECT count(*) FROM retention_archives") == 1
    async with pools[REPORTING].acquire() as conn:
        assert await broken_links(conn) == []


async def test_a_partition_that_changed_after_its_archive_is_kept_and_archived_again(
    pools: dict[str, asyncpg.Pool], tmp_path: Path
) -> None:
    case_id = await case_with_history(pools["admin"], JAN)
    retention = pools[RETENTION]
    partition = await january(retention)
    async with retention.acquire() as conn:
        stale = await archive_partition(conn, partition, tmp_path)
    await pools["admin"].execute(
        "INSERT INTO case_history (case_id, seq, kind, actor, occurred_at)"
        " VALUES ($1, 2, 'note', 'ana', $2)",
        case_id,
        JAN + timedelta(days=1),
    )
    async with retention.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="changed since it was archived"):
            await remove_partition(conn, partition, stale, tmp_path)
    assert await pools["admin"].fetchval("SELECT count(*) FROM case_history_p202001") == 2

    async with retention.acquire() as conn:
        await run(conn, Settings(1, tmp_path, dry_run=False), say=lambda _: None)
    assert read_manifest(stale.path).rows == 2
    assert await pools["admin"].fetchval("SELECT count(*) FROM case_history") == 0


async def test_the_drop_refuses_the_current_month_the_default_partition_and_other_tables(
    pools: dict[str, asyncpg.Pool],
) -> None:
    async with pools[RETENTION].acquire() as conn:
        await ensure_partitions(conn)
        for target, problem in (
            (current_partition(), "current month"),
            ("case_history_default", "not a month partition"),
            ("recovery_cases", "not a month partition"),
        ):
            with pytest.raises(asyncpg.RaiseError, match=problem):
                await conn.execute(
                    "SELECT retention_drop_history_partition($1::regclass, 0, '', '', '')",
                    target,
                )


async def test_the_job_needs_an_archive_directory(pools: dict[str, asyncpg.Pool]) -> None:
    async with pools[RETENTION].acquire() as conn:
        with pytest.raises(ValueError, match="archive directory"):
            await run(conn, Settings(keep_months=1, archive_dir=None, dry_run=False))


async def test_a_month_of_responses_no_case_refers_to_is_archived_and_removed_with_its_keys(
    pools: dict[str, asyncpg.Pool], schema_url: str, tmp_path: Path
) -> None:
    admin = pools["admin"]
    quiet = [await keyed_response(admin, FEB + timedelta(hours=hour)) for hour in range(3)]
    await case_with_history(admin, JAN)  # January's response has a case: January stays
    kept_now = await keyed_response(admin, NOW)

    code, out = await retention_cli(
        as_role(schema_url, RETENTION), "--keep-months", "1", "--archive-dir", str(tmp_path)
    )
    assert code == 0, out
    assert "removed case_history_p202001" in out
    assert "kept survey_responses_p202001" in out and "still refers" in out
    assert "removed survey_responses_p202002" in out

    archive = tmp_path / "survey_responses" / "survey_responses_p202002.1.jsonl.gz"
    manifest = read_manifest(archive)
    assert (manifest.rows, manifest.hash_field) == (3, "row_sha256") and verify(archive) == []
    with gzip.open(archive, "rt") as lines:
        archived = [json.loads(line) for line in lines]
    assert [row["response_id"] for row in archived] == quiet
    assert await admin.fetchval("SELECT to_regclass('survey_responses_p202002')") is None
    assert await admin.fetchval("SELECT to_regclass('survey_responses_p202001')") is not None
    keys = {r["response_id"] for r in await admin.fetch("SELECT response_id FROM response_keys")}
    assert keys == {kept_now}  # the retired ones' went (case_with_history stores no key)
    tables = await admin.fetch(
        "SELECT table_name, partition_name, row_count FROM retention_archives"
        " WHERE table_name = 'survey_responses'"
    )
    assert [tuple(r.values()) for r in tables] == [
        ("survey_responses", "survey_responses_p202002", 3)
    ]

    # A redelivery of a retired response finds no key: it is stored again, as a new response
    # of this month, and opens a case if it needs one (docs/operations.md says so).
    store = PostgresBatchStore(pools[ROUTER], ContactPolicy())
    again = response(quiet[0], 2, "Nobody called back").model_copy(update={"received_at": NOW})
    changes = await store.save([again], code_all)
    assert [(c.kind, c.case.response_id) for c in changes] == [(HistoryKind.OPENED, quiet[0])]
    assert (
        await admin.fetchval(
            "SELECT tableoid::regclass::text FROM survey_responses WHERE response_id = $1", quiet[0]
        )
        == f"survey_responses_p{NOW:%Y%m}"
    )


async def test_the_response_drop_refuses_a_changed_or_referred_month(
    pools: dict[str, asyncpg.Pool], tmp_path: Path
) -> None:
    admin = pools["admin"]
    response_id = await keyed_response(admin, FEB)
    retention = pools[RETENTION]
    async with retention.acquire() as conn:
        await ensure_partitions(conn)
        (february,) = [
            p for p in await month_partitions(conn, "survey_responses") if p.starts.year == 2020
        ]
        stale = await archive_partition(conn, february, tmp_path)
    await admin.execute(  # a revision after the archive: same rows, other content
        "UPDATE survey_responses SET comment = 'later' WHERE response_id = $1", response_id
    )
    async with retention.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="changed since it was archived"):
            await remove_partition(conn, february, stale, tmp_path)
        fresh = await archive_partition(conn, february, tmp_path)
    row_id = await admin.fetchval(
        "SELECT id FROM survey_responses WHERE response_id = $1", response_id
    )
    await admin.execute(  # a case opened for it meanwhile (its received_at filled in)
        "INSERT INTO recovery_cases (survey_response_id, priority, queue, opened_at)"
        " VALUES ($1, 2, 'default', now())",
        row_id,
    )
    async with retention.acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="still referred to"):
            await remove_partition(conn, february, fresh, tmp_path)
        with pytest.raises(asyncpg.RaiseError, match="current month"):
            await conn.execute(
                "SELECT retention_drop_response_partition($1::regclass, 0, '', '', '')",
                f"survey_responses_p{NOW:%Y%m}",
            )
        with pytest.raises(asyncpg.RaiseError, match="not a month partition"):
            await conn.execute(
                "SELECT retention_drop_response_partition('case_history_default', 0, '', '', '')"
            )
    assert await admin.fetchval("SELECT count(*) FROM survey_responses_p202002") == 1
    assert await admin.fetchval("SELECT count(*) FROM response_keys") == 1
