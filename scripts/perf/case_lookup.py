"""What a lookup of one case by id costs as months of cases accumulate (migrations 0035, 0038).

    .venv/bin/python scripts/perf/case_lookup.py --cases 50000 --months 25 --rounds 5

``recovery_cases`` is partitioned by month of ``opened_at`` and ``survey_responses`` by month of
``received_at``. Two fresh schemas on the server ``DATABASE_URL`` names hold the same number of
cases: one with all of them in the current month, one spread over ``--months`` months (each
month its own partition; responses received through each month, cases opened a minute later).
Two reads of one case are timed in both, prepared as asyncpg runs them, all four alternately
so that all see the same load from the rest of the machine:

- **by id alone**: ``SELECT * FROM case_cards WHERE case_id = $1``, the notifier's read before
  migration 0038 (every month partition's primary key probed);
- **month first**: :func:`winback_shared.case_months.read_case`, the read now (the case's
  month from ``case_keys``, then one partition of cases and one of responses).

With ``--summaries`` the reads timed are the router's instead: the summaries of a batch of
``--batch`` cases opened one after the other this month, as a router batch's are
(``bulk_store.case_summaries``):

- **by id alone**: ``case_summaries WHERE case_id = ANY($1)``, the read before;
- **month first**: ``bulk_store.SUMMARIES``, the read now (the cases' first to last month
  from their keys, their responses' first to last month from the cases).

With ``--audit`` the reads timed are ``audit verify --case``'s check of one case
(:func:`winback_notifier.cases.audit.broken_links`):

- **by id alone**: the check with ``c.id = $1`` alone, as it read before;
- **month first**: the check now (the case's month from ``case_keys``).

With ``--export`` the reads timed are the ops export's count of the cases opened in one month
(:func:`winback_notifier.reports.export.count_cases`, a month drawn at random; few lookups
suffice, ``--lookups 40``), and the ratio to read is the two reads' in the many-month schema:

- **by id alone**: each case's response joined by id alone, as it read before;
- **month first**: the count now (the response joined on its whole key, and only in the months
  the window's cases' responses were received in).

It prints each round, the ratio of the medians (``--months`` months / 1 month) for each read,
and which partitions each read scans in the many-month schema. Only ratios mean anything on a
shared machine. The schemas are dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime

import asyncpg

from winback_notifier.cases import audit
from winback_notifier.reports import export
from winback_router.bulk_store import SUMMARIES
from winback_shared.case_months import (
    CASE_OPENED_AT,
    RESPONSE_RECEIVED_AT,
    responses_of_cases_opened,
)
from winback_shared.migrations import apply_migrations
from winback_shared.partitions import ensure_partitions
from winback_shared.urls import with_query

_SEED = """
WITH r AS (
    INSERT INTO survey_responses (source, response_id, receipt_id, vendor, received_at, customer,
                                  interaction, scores, chosen_reasons, follow_up_requested,
                                  codes, needs_recovery)
    SELECT 'survey', 'r-' || n, 'r-' || n, 'generic',
           date_trunc('month', now()) - make_interval(months => n % $2) + interval '1 day'
               + make_interval(secs => n),
           '{}', '{}', '[]', '[]', false, '[]', true
    FROM generate_series(1, $1) AS n
    RETURNING id, received_at
)
INSERT INTO recovery_cases (survey_response_id, response_received_at, priority, queue, opened_at)
SELECT id, received_at, 2, 'default', received_at + interval '1 minute' FROM r
"""


async def seeded(url: str, cases: int, months: int) -> tuple[str, list[int], list[int]]:
    """A fresh schema with ``cases`` cases over ``months`` months; its URL, its case ids and
    the ids of the cases opened this month."""
    schema = f"case_lookup_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    await admin.close()
    scoped = with_query(url, search_path=schema)
    conn = await asyncpg.connect(scoped)
    try:
        await apply_migrations(conn)
        await conn.execute(_SEED, cases, months)
        await ensure_partitions(conn)  # the past months' cases move out of DEFAULT
        await conn.execute("ANALYZE")
        ids = [row["id"] for row in await conn.fetch("SELECT id FROM recovery_cases")]
        recent = [
            row["id"]
            for row in await conn.fetch(
                "SELECT id FROM recovery_cases WHERE opened_at >= date_trunc('month', now())"
                " ORDER BY id"
            )
        ]
    finally:
        await conn.close()
    return scoped, ids, recent


BY_ID = "SELECT * FROM case_cards WHERE case_id = $1"
MONTH_FIRST = (
    "SELECT * FROM case_cards WHERE case_id = $1"
    f" AND opened_at = {CASE_OPENED_AT} AND received_at = {RESPONSE_RECEIVED_AT}"
)
"""The statement of ``read_case(conn, CaseView.CARDS, case_id)``."""
READS = {"by id alone": BY_ID, "month first": MONTH_FIRST}
SUMMARIES_BY_ID = (
    "SELECT case_id, row_to_json(s)::text AS summary FROM case_summaries s"
    " WHERE case_id = ANY($1::bigint[])"
)
"""``bulk_store.case_summaries``'s read before: a batch's cases by id alone."""
SUMMARY_READS = {"by id alone": SUMMARIES_BY_ID, "month first": SUMMARIES}
AUDIT_MONTH_FIRST = audit._check(one_case=True)
AUDIT_READS = {
    "by id alone": AUDIT_MONTH_FIRST.replace(f"c.opened_at = {CASE_OPENED_AT} AND", ""),
    "month first": AUDIT_MONTH_FIRST,
}
"""``audit verify --case``'s check before (the case probed in every month) and now."""
EXPORT_MONTH_FIRST = "SELECT count(*)" + export._FROM_WHERE
EXPORT_READS = {
    "by id alone": EXPORT_MONTH_FIRST.replace(
        " AND r.received_at = c.response_received_at", ""
    ).replace(f" AND {responses_of_cases_opened('$1', '$2')}", ""),
    "month first": EXPORT_MONTH_FIRST,
}
"""The export's count of one window's cases before (responses by id alone) and now."""


def _arguments(pick: object) -> tuple[object, ...]:
    """A pick's statement arguments: a tuple is several, anything else one."""
    return pick if isinstance(pick, tuple) else (pick,)


async def timed(url: str, query: str, picks: list[object]) -> float:
    """Seconds for reads of ``picks`` (a case id or a batch of them each), on one
    connection."""
    conn = await asyncpg.connect(url)
    try:
        statement = await conn.prepare(query)
        for pick in picks[:50]:  # warm the cache and the plan
            await statement.fetch(*_arguments(pick))
        started = time.perf_counter()
        for pick in picks:
            await statement.fetch(*_arguments(pick))
        return time.perf_counter() - started
    finally:
        await conn.close()


async def scanned(url: str, query: str, pick: object) -> list[str]:
    """The partitions of cases and responses one read of ``pick`` scans (``EXPLAIN
    ANALYZE``: the others are pruned at run time, "never executed", or not planned)."""
    conn = await asyncpg.connect(url)
    try:
        plan = await conn.fetch(
            f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {query}", *_arguments(pick)
        )
    finally:
        await conn.close()
    names = [
        line.split(" on ", 1)[1].split()[0]
        for (line,) in plan
        if " on recovery_cases_" in line or " on survey_responses_" in line
        if "never executed" not in line and "Scan" in line
    ]
    return sorted(set(names))


def month(back: int) -> datetime:
    """The start of the month ``back`` months before this one (UTC)."""
    now = datetime.now(UTC)
    index = now.year * 12 + now.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=25)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--summaries", action="store_true", help="time the router's read of a batch's summaries"
    )
    parser.add_argument("--batch", type=int, default=20, help="cases a batch (--summaries)")
    parser.add_argument(
        "--audit", action="store_true", help="time audit verify --case's check of one case"
    )
    parser.add_argument(
        "--export", action="store_true", help="time the export's count of a month's cases"
    )
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    reads = (
        SUMMARY_READS
        if args.summaries
        else AUDIT_READS
        if args.audit
        else EXPORT_READS
        if args.export
        else READS
    )

    def picks(ids: list[int], recent: list[int]) -> list[object]:
        if args.export:  # a month of openings: one of the many-month schema's, or the one
            months = 1 if len(recent) == len(ids) else args.months
            backs = [random.randrange(months) for _ in range(args.lookups)]
            return [(month(back), month(back - 1), [], []) for back in backs]
        if args.summaries:
            starts = [random.randrange(len(recent) - args.batch) for _ in range(args.lookups)]
            return [recent[start : start + args.batch] for start in starts]
        return [random.choice(ids) for _ in range(args.lookups)]

    one, one_ids, one_recent = await seeded(url, args.cases, 1)
    many, many_ids, many_recent = await seeded(url, args.cases, args.months)
    try:
        schemas = {
            "1 month": (one, picks(one_ids, one_recent)),
            f"{args.months} months": (many, picks(many_ids, many_recent)),
        }
        runs: dict[tuple[str, str], list[float]] = {
            (read, label): [] for read in reads for label in schemas
        }
        for round_ in range(args.rounds):
            for read, query in reads.items():
                for label, (scoped, chosen) in schemas.items():
                    seconds = await timed(scoped, query, chosen)
                    runs[read, label].append(seconds)
                    per = seconds / args.lookups * 1e6
                    print(f"round {round_ + 1} {read}, {label}: {per:.0f} us per lookup")
        medians = {key: statistics.median(values) for key, values in runs.items()}
        for read in reads:
            first, second = (medians[read, label] for label in schemas)
            print(f"{read}: median ratio {args.months} months / 1 month: {second / first:.2f}")
        for read, query in reads.items():
            parts = await scanned(many, query, schemas[f"{args.months} months"][1][0])
            print(f"{read}, partitions scanned in the {args.months}-month schema: {len(parts)}")
            print("  " + ", ".join([*parts[:3], "...", *parts[-2:]] if len(parts) > 6 else parts))
    finally:
        admin = await asyncpg.connect(url)
        for scoped in (one, many):
            schema = scoped.rsplit("search_path=", 1)[1]
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
