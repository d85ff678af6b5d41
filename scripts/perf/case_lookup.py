"""What a lookup of one case by id alone costs as months of cases accumulate (migration 0035).

    .venv/bin/python scripts/perf/case_lookup.py --cases 50000 --months 25 --rounds 5

``recovery_cases`` is partitioned by month of ``opened_at``; the notifier's API names a case by
id alone, so its read probes every month partition's primary key. Two fresh schemas on the
server ``DATABASE_URL`` names hold the same number of cases: one with all of them in the
current month, one spread over ``--months`` months (each month its own partition). The
notifier's read of one case (``SELECT * FROM case_cards WHERE case_id = $1``, prepared, as
asyncpg runs it) is timed in both, alternately, so both see the same load from the rest of
the machine; it prints each round, the ratio of the medians, and the plan in the many-month
schema. Only the ratio means anything on a shared machine. The schemas are dropped after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid

import asyncpg

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


async def seeded(url: str, cases: int, months: int) -> tuple[str, list[int]]:
    """A fresh schema with ``cases`` cases over ``months`` months; its URL and case ids."""
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
    finally:
        await conn.close()
    return scoped, ids


async def timed(url: str, ids: list[int], lookups: int) -> float:
    """Seconds for ``lookups`` reads of random cases by id, on one connection."""
    conn = await asyncpg.connect(url)
    try:
        statement = await conn.prepare("SELECT * FROM case_cards WHERE case_id = $1")
        for case_id in ids[:50]:  # warm the cache and the plan
            await statement.fetchrow(case_id)
        picks = [random.choice(ids) for _ in range(lookups)]
        started = time.perf_counter()
        for case_id in picks:
            await statement.fetchrow(case_id)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=25)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    one, one_ids = await seeded(url, args.cases, 1)
    many, many_ids = await seeded(url, args.cases, args.months)
    try:
        runs: dict[str, list[float]] = {"1 month": [], f"{args.months} months": []}
        for round_ in range(args.rounds):
            for label, scoped, ids in (
                ("1 month", one, one_ids),
                (f"{args.months} months", many, many_ids),
            ):
                seconds = await timed(scoped, ids, args.lookups)
                runs[label].append(seconds)
                per = seconds / args.lookups * 1e6
                print(f"round {round_ + 1} {label}: {per:.0f} us per lookup")
        medians = {label: statistics.median(values) for label, values in runs.items()}
        first, second = medians.values()
        print(f"median ratio {args.months} months / 1 month: {second / first:.2f}")
        conn = await asyncpg.connect(many)
        try:
            plan = await conn.fetch(
                "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)"
                " SELECT * FROM case_cards WHERE case_id = $1",
                many_ids[0],
            )
            lines = [row[0] for row in plan]
            scans = [line.strip() for line in lines if " on recovery_cases_" in line]
            print(f"partitions of recovery_cases scanned by one lookup: {len(scans)}")
            print("\n".join([*scans[:3], "...", *scans[-2:]]))
        finally:
            await conn.close()
    finally:
        admin = await asyncpg.connect(url)
        for scoped in (one, many):
            schema = scoped.rsplit("search_path=", 1)[1]
            await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
