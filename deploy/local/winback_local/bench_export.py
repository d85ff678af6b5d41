"""Memory of the BI export: peak RSS of a 1,000-case and a 100,000-case export, side by side.

    uv run python -m winback_local.bench_export                 # 100,000 cases, CSV and Parquet
    uv run python -m winback_local.bench_export --cases 20000

The export promises that a year of cases is never built in memory, so this seeds a fresh
schema with ``--cases`` cases (spread one a minute, with reasons, owners and resolutions on
some), then runs ``python -m winback_notifier.reports export`` as a child process for a window
holding 1,000 of them and for one holding all of them, in each format, and reads each child's
peak resident set size from the kernel (``wait4``). Streaming shows as two peaks that are
close; an export built in memory would grow with the row count. It uses ``DATABASE_URL``, or
an embedded PostgreSQL in a temporary folder, and drops its schema afterwards.

Not a test: it takes minutes and its timings move with the machine's load. The figures it
printed are in docs/operations.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg

from winback_local.postgres import LocalPostgres
from winback_shared.migrations import apply_migrations
from winback_shared.urls import with_query

SMALL = 1000
BASE = datetime(2026, 1, 1, tzinfo=UTC)

_SEED = """
WITH agent AS (
    INSERT INTO agents (name, role, token_sha256) VALUES ('bench', 'agent', '\\x00'::bytea)
    RETURNING id
),
responses AS (
    INSERT INTO survey_responses (
        source, response_id, receipt_id, vendor, received_at, customer, interaction, scores,
        chosen_reasons, comment, follow_up_requested, codes, needs_recovery)
    SELECT 'bench', 'r-' || i, 'receipt-' || i, 'generic',
           $1::timestamptz + make_interval(mins => i),
           '{"id": "c"}', '{"channel": "phone"}', '[{"kind": "nps", "value": 2}]', '[]',
           'The agent could not answer my question about the plan.', true,
           jsonb_build_array(
               jsonb_build_object('code', (ARRAY['product_knowledge', 'long_wait',
                                                 'billing_error'])[1 + i % 3],
                                  'label', 'x', 'evidence', 'x', 'method', 'chosen_answer')),
           true
    FROM generate_series(0, $2::int - 1) AS i
    RETURNING id, received_at, response_id
)
INSERT INTO recovery_cases (
    survey_response_id, status, priority, queue, owner_id, opened_at, alerted_at, claimed_at,
    first_attempt_at, first_contact_at, contact_due_at, resolved_at, root_cause, resolution,
    customer_reaction)
SELECT r.id,
       CASE WHEN n % 2 = 0 THEN 'resolved' ELSE 'open' END,
       1 + n % 4, (ARRAY['default', 'billing'])[1 + n % 2],
       CASE WHEN n % 2 = 0 THEN (SELECT id FROM agent) END,
       r.received_at, r.received_at + interval '1 second',
       CASE WHEN n % 2 = 0 THEN r.received_at + interval '2 minutes' END,
       CASE WHEN n % 2 = 0 THEN r.received_at + interval '6 minutes' END,
       CASE WHEN n % 2 = 0 THEN r.received_at + interval '6 minutes' END,
       r.received_at + interval '10 minutes',
       CASE WHEN n % 2 = 0 THEN r.received_at + interval '1 hour' END,
       CASE WHEN n % 2 = 0 THEN 'product_knowledge' END,
       CASE WHEN n % 2 = 0 THEN jsonb_build_object(
           'apology', true, 'explanation', 'We had not briefed the team on the new plan.',
           'compensation', jsonb_build_object('kind', 'credit', 'value', 10, 'currency', 'EUR'),
           'process_change', 'Plan changes go to every agent the day before.') END,
       CASE WHEN n % 2 = 0 THEN 'satisfied' END
FROM (SELECT *, substr(response_id, 3)::int AS n FROM responses) AS r
"""


@dataclass(frozen=True)
class Run:
    """One export child process: what it wrote and what it cost."""

    kind: str
    cases: int
    peak_rss_mb: float
    seconds: float
    size_mb: float


async def seed(url: str, cases: int) -> None:
    """Migrate the schema and insert ``cases`` cases, one opened each minute from ``BASE``."""
    conn = await asyncpg.connect(url)
    try:
        await apply_migrations(conn)
        await conn.execute(_SEED, BASE, cases)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def export(url: str, kind: str, cases: int, out: Path) -> Run:
    """Export the first ``cases`` cases in a child process; measure its peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "winback_notifier.reports",
            "export",
            "--format",
            kind,
            "--out",
            str(out),
            "--since",
            BASE.isoformat(),
            "--until",
            (BASE + timedelta(minutes=cases)).isoformat(),
            "--no-progress",
        ],
        env={**os.environ, "DATABASE_URL": url},
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stderr is not None
    summary = child.stderr.read().decode()
    if child.returncode != 0 or f"{cases} cases" not in summary:
        raise SystemExit(f"export failed ({child.returncode}): {summary}")
    return Run(kind, cases, usage.ru_maxrss / 1024, seconds, out.stat().st_size / 2**20)


async def _schema(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        name = f"bench_export_{uuid4().hex[:8]}"
        await conn.execute(f"CREATE SCHEMA {name}")
        return name
    finally:
        await conn.close()


async def _drop(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="winback_local.bench_export", description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="winback-bench-export-") as temp:
        local = None
        database_url = os.environ.get("DATABASE_URL")
        if database_url is None:
            local = LocalPostgres(Path(temp) / "pg", ephemeral=True)
            database_url = local.start()
        schema = asyncio.run(_schema(database_url))
        try:
            url = with_query(database_url, search_path=schema)
            started = time.perf_counter()
            asyncio.run(seed(url, args.cases))
            print(f"seeded {args.cases} cases in {time.perf_counter() - started:.0f} s")
            runs = [
                export(url, kind, cases, Path(temp) / f"export-{cases}.{kind}")
                for kind in ("csv", "parquet")
                for cases in (SMALL, args.cases)
            ]
        finally:
            asyncio.run(_drop(database_url, schema))
    print(f"{'format':<8} {'cases':>8} {'peak RSS':>10} {'file':>9} {'time':>7}")
    for run in runs:
        print(
            f"{run.kind:<8} {run.cases:>8} {run.peak_rss_mb:>7.0f} MB {run.size_mb:>6.1f} MB"
            f" {run.seconds:>6.1f}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
