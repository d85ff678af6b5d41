"""The retention job's steps against PostgreSQL: find expired month partitions, archive each,
check the archive, then have the owner's function drop the partition (migrations 0025, 0034).

Tables are retired child first: the audit trail (``case_history``), then the cases
(``recovery_cases``: a month whose cases are all closed, after the rows of the tables that
refer to them and are not partitioned, ``CASE_ROWS``; its drop takes their ``case_keys``
along), then the responses (``survey_responses``, whose drop takes their ``response_keys``
along). A month of cases with a case not closed, or whose cases still have history in a kept
month, is kept; so is a month of responses that a kept case or re-coding record still refers
to (the next run tries again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from winback_shared.db import Connection
from winback_shared.partitions import ensure_partitions
from winback_shared.retention.archive import ArchiveWriter, Written, verify
from winback_shared.retention.plan import MonthPartition, expired, retention_cut

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetiredTable:
    """A table whose month partitions the job retires, and how."""

    name: str
    key: str
    """The partition key: a row's time."""
    order: str
    """The archive's row order, the same the drop function digests in."""
    hash_field: str
    """The field whose digest proves the partition still holds what was archived."""
    hash_sql: str | None
    """How PostgreSQL computes ``hash_field`` for a row ``t`` (None: it is a column)."""
    drop_function: str


HISTORY = RetiredTable(
    name="case_history",
    key="occurred_at",
    order="case_id, seq",
    hash_field="row_hash",
    hash_sql=None,
    drop_function="retention_drop_history_partition",
)
_ROW_SHA256 = "sha256(convert_to(t::text, 'UTF8'))"
"""A row's digest: its text, under the settings the drop functions also fix
(_ROW_TEXT_SETTINGS)."""

CASES = RetiredTable(
    name="recovery_cases",
    key="opened_at",
    order="id",
    hash_field="row_sha256",
    hash_sql=_ROW_SHA256,
    drop_function="retention_drop_case_partition",
)
RESPONSES = RetiredTable(
    name="survey_responses",
    key="received_at",
    order="id",
    hash_field="row_sha256",
    hash_sql=_ROW_SHA256,
    drop_function="retention_drop_response_partition",
)
RETIRED = (HISTORY, CASES, RESPONSES)
"""Child first: a month of cases goes after the history that refers to it, a month of
responses after the cases that might refer to it."""


@dataclass(frozen=True)
class CaseRows:
    """A table referring to cases, not partitioned: its rows of a month of cases (by
    ``case_opened_at``) are archived and deleted just before that month's partition goes."""

    table: str
    order: str
    """The archive's row order, the same migration 0036's function digests in."""


CASE_ROWS = (
    CaseRows("contact_attempts", "id"),
    CaseRows("case_offers", "id"),
    CaseRows("recode_changes", "id"),
    CaseRows("helpdesk_links", "subscription_id, case_id"),
)

_ROW_TEXT_SETTINGS = ("SET LOCAL TimeZone = 'UTC'", "SET LOCAL DateStyle = 'ISO, YMD'")
"""A row's text depends on these; migration 0034's drop function sets the same."""

_PARTITIONS = """
    SELECT c.relname AS name, b.bounds[1]::timestamptz AS starts, b.bounds[2]::timestamptz AS ends
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                    $re$^FOR VALUES FROM \\('([^']+)'\\) TO \\('([^']+)'\\)$$re$)
        AS b (bounds)
    WHERE i.inhparent = $1::regclass AND b.bounds IS NOT NULL
"""


async def month_partitions(conn: Connection, table: str) -> list[MonthPartition]:
    """``table``'s month partitions (not its DEFAULT one)."""
    rows = await conn.fetch(_PARTITIONS, table)
    return [MonthPartition(table, row["name"], row["starts"], row["ends"]) for row in rows]


async def _archive_name(conn: Connection, partition: MonthPartition) -> Path:
    """``<table>/<partition>.<n>.jsonl.gz``; ``n`` counts the archives already removed for this
    partition name (a month whose stray rows came back later gets a second file, never the
    first one overwritten), so a run repeated before the removal writes the same name."""
    done = await conn.fetchval(
        "SELECT count(*) FROM retention_archives WHERE table_name = $1 AND partition_name = $2",
        partition.table,
        partition.name,
    )
    return Path(partition.table) / f"{partition.name}.{done + 1}.jsonl.gz"


def retired_table(name: str) -> RetiredTable:
    """The spec of a retired table, by name."""
    (table,) = [table for table in RETIRED if table.name == name]
    return table


async def archive_partition(
    conn: Connection, partition: MonthPartition, archive_dir: Path
) -> Written:
    """Write ``partition``'s rows to their archive file and manifest, then read the file back.

    Raises when the file read back does not match its manifest (nothing is removed then).
    """
    table = retired_table(partition.table)
    computed = f", {table.hash_sql} AS {table.hash_field}" if table.hash_sql else ""
    query = (
        f"SELECT t.*{computed} FROM {table.name} t WHERE {table.key} >= $1 AND {table.key} < $2"
        f" AND tableoid = $3::regclass ORDER BY {table.order}"
    )
    return await _archive(
        conn, partition, archive_dir, query, (partition.name,), table.key, table.hash_field
    )


async def archive_case_rows(
    conn: Connection, cases: MonthPartition, rows: CaseRows, archive_dir: Path
) -> Written:
    """Write ``rows.table``'s rows of the month of cases ``cases`` to their archive file
    (``<table>/<cases partition>.<n>.jsonl.gz``) and manifest, then read the file back."""
    query = (
        f"SELECT t.*, {_ROW_SHA256} AS row_sha256 FROM {rows.table} t"
        f" WHERE case_opened_at >= $1 AND case_opened_at < $2 ORDER BY {rows.order}"
    )
    named = replace(cases, table=rows.table)
    return await _archive(conn, named, archive_dir, query, (), "case_opened_at", "row_sha256")


async def _archive(
    conn: Connection,
    partition: MonthPartition,
    archive_dir: Path,
    query: str,
    more_args: tuple[object, ...],
    key: str,
    hash_field: str,
) -> Written:
    """Write what ``query`` reads (the partition's range as its first two arguments) to
    ``partition``'s archive file, in one snapshot, and check the file."""
    relative = await _archive_name(conn, partition)
    writer = ArchiveWriter(
        archive_dir / relative,
        table=partition.table,
        partition=partition.name,
        key=key,
        hash_field=hash_field,
    )
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        for setting in _ROW_TEXT_SETTINGS:
            await conn.execute(setting)
        async for row in conn.cursor(
            query, partition.starts, partition.ends, *more_args, prefetch=2000
        ):
            writer.write(dict(row))
    written = writer.finish(partition.starts, partition.ends)
    problems = verify(written.path)
    if problems:
        raise RuntimeError(f"archive {written.path} does not match its manifest: {problems}")
    return written


async def remove_partition(
    conn: Connection, partition: MonthPartition, written: Written, archive_dir: Path
) -> int:
    """Drop ``partition`` if it still holds exactly the archived rows; the archive's id."""
    table = retired_table(partition.table)
    archive_id = await conn.fetchval(
        f"SELECT {table.drop_function}($1::regclass, $2, $3, $4, $5)",
        partition.name,
        written.manifest.rows,
        written.manifest.rows_digest,
        str(written.path.relative_to(archive_dir)),
        written.manifest.sha256,
    )
    return int(archive_id)


async def _waiting_in_default(
    conn: Connection, table: RetiredTable, cut: datetime
) -> list[tuple[datetime, int]]:
    """Months before the cut with rows in the DEFAULT partition (no partition of their own yet)."""
    rows = await conn.fetch(
        f"SELECT date_trunc('month', {table.key} AT TIME ZONE 'UTC') AS month, count(*) AS rows"
        f" FROM {table.name}_default WHERE {table.key} < $1 GROUP BY 1 ORDER BY 1",
        cut,
    )
    return [(row["month"], row["rows"]) for row in rows]


@dataclass(frozen=True)
class Settings:
    """What one run needs."""

    keep_months: int
    archive_dir: Path | None
    dry_run: bool


async def run(
    conn: Connection,
    settings: Settings,
    say: Callable[[str], None] = print,
    now: datetime | None = None,
) -> list[str]:
    """One pass over each retired table's expired months, child first; returns the
    partitions removed."""
    now = now or datetime.now(UTC)
    cut = retention_cut(now, settings.keep_months)
    if not settings.dry_run:
        if settings.archive_dir is None:
            raise ValueError("an archive directory is required (WINBACK_RETENTION_ARCHIVE_DIR)")
        await ensure_partitions(conn)
    removed = []
    for table in RETIRED:
        say(f"{table.name}: keeping {settings.keep_months} months; rows before {cut:%Y-%m-%d} go")
        removed += await _retire(conn, table, settings, say, now)
        for month, rows in await _waiting_in_default(conn, table, cut):
            # After a real run, only rows inserted meanwhile: the next run takes them.
            say(
                f"{'would move' if settings.dry_run else 'left'} {rows} rows of {month:%Y-%m}"
                f" in {table.name}_default: moved into their month's partition, archived and"
                f" removed {'with the others' if settings.dry_run else 'by the next run'}"
            )
    if not removed and not settings.dry_run:
        say("nothing past retention")
    return removed


async def _retire(
    conn: Connection,
    table: RetiredTable,
    settings: Settings,
    say: Callable[[str], None],
    now: datetime,
) -> list[str]:
    """Archive and remove ``table``'s expired month partitions, oldest first."""
    removed = []
    for partition in expired(await month_partitions(conn, table.name), now, settings.keep_months):
        label = f"{partition.name} [{partition.starts:%Y-%m-%d}, {partition.ends:%Y-%m-%d})"
        if table is CASES:
            if await _retire_cases(conn, partition, label, settings, say):
                removed.append(partition.name)
            continue
        if table is RESPONSES and await conn.fetchval(
            "SELECT retention_response_partition_referred($1::regclass)", partition.name
        ):
            say(f"kept {label}: a case or re-coding record still refers to its responses")
            continue
        if settings.dry_run:
            rows = await conn.fetchval(
                f"SELECT count(*) FROM {table.name} WHERE {table.key} >= $1"
                f" AND {table.key} < $2 AND tableoid = $3::regclass",
                partition.starts,
                partition.ends,
                partition.name,
            )
            say(f"would archive {rows} rows of {label}, then remove the partition")
            continue
        assert settings.archive_dir is not None
        written = await archive_partition(conn, partition, settings.archive_dir)
        say(f"archived {written.manifest.rows} rows of {label} to {written.path}")
        await remove_partition(conn, partition, written, settings.archive_dir)
        say(f"removed {partition.name}")
        log.info(
            "partition archived and removed",
            extra={"fields": {"partition": partition.name, "rows": written.manifest.rows}},
        )
        removed.append(partition.name)
    return removed


async def _retire_cases(
    conn: Connection,
    partition: MonthPartition,
    label: str,
    settings: Settings,
    say: Callable[[str], None],
) -> bool:
    """Archive and remove a month of cases and, first, the rows referring to them
    (``CASE_ROWS``), all in one transaction; whether it was removed.

    Kept, and said, when a case of the month is not closed, or when history of its cases is
    still kept (a case active in a later month that is not past retention yet)."""
    unclosed = await conn.fetchval(
        "SELECT retention_case_partition_unclosed($1::regclass)", partition.name
    )
    if unclosed:
        say(f"kept {label}: {unclosed} of its cases not closed")
        return False
    if settings.dry_run:
        rows = await conn.fetchval(
            "SELECT count(*) FROM recovery_cases WHERE tableoid = $1::regclass", partition.name
        )
        say(f"would archive {rows} cases of {label} and the rows referring to them, then remove")
        return False
    assert settings.archive_dir is not None
    archive_dir = settings.archive_dir
    children = [
        (rows, await archive_case_rows(conn, partition, rows, archive_dir)) for rows in CASE_ROWS
    ]
    written = await archive_partition(conn, partition, archive_dir)
    try:
        async with conn.transaction():
            for rows, child in children:
                await conn.fetchval(
                    "SELECT retention_drop_case_rows($1::regclass, $2::regclass, $3, $4, $5, $6)",
                    partition.name,
                    rows.table,
                    child.manifest.rows,
                    child.manifest.rows_digest,
                    str(child.path.relative_to(archive_dir)),
                    child.manifest.sha256,
                )
            await remove_partition(conn, partition, written, archive_dir)
    except asyncpg.RaiseError as refused:
        if "not closed" in str(refused):  # reopened since the check above
            say(f"kept {label}: a case was reopened meanwhile")
            return False
        if "still referred to" not in str(refused):
            raise
        say(f"kept {label}: history of its cases is still kept (a later month)")
        return False
    moved = ", ".join(f"{child.manifest.rows} {rows.table}" for rows, child in children)
    say(f"archived {written.manifest.rows} cases of {label} ({moved}) to {archive_dir}")
    say(f"removed {partition.name}")
    return True
