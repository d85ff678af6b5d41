"""How fast the refiner drains stored responses, and its CPU per response.

    .venv/bin/python scripts/perf/refiner_drain.py --count 512 --comments bench
    .venv/bin/python scripts/perf/refiner_drain.py --count 512 --comments labelled \\
        --compare /tmp/old-refiner

A measuring aid for ``docs/performance.md``, not the load harness (``winback_local.bench``): it
isolates the refiner. Each run makes a fresh schema on the server ``DATABASE_URL`` names, stores
``--count`` responses coded by the router's fast model (all still pending refinement), then runs
the refiner's loop (:class:`~winback_router.refine.loop.Refiner`, no gate: nothing to yield to)
batch after batch until none is pending, and prints responses refined a second and this
process's CPU per response (PostgreSQL's own CPU is not in it). ``--comments bench``: every
response carries the whole-stack bench's six-sentence comment and chosen answer, as in the
harness; ``labelled``: the labelled comments of ``tests/data/comments`` in file order, the blind
set's file skipped unopened (``coding_same.comments``).

``--compare DIR`` runs the same measurement in child processes alternately against ``DIR`` (a
``git archive`` of another commit's ``services`` and ``shared``) and this checkout, so both see
the same load from the rest of the machine, and prints each run and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import router_drain  # its alternating child runs (a sibling script, found via the path)

HERE = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(HERE), str(HERE / "scripts" / "perf")]


def texts(kind: str, count: int) -> list[tuple[list[str], str]]:
    """(chosen answers, comment) of each response to store."""
    if kind == "bench":
        from winback_local.bench.deliveries import COMMENT, REASON

        return [([REASON], COMMENT)] * count
    from coding_same import comments

    labelled = [text for key, text in comments() if ":" in key]
    return [([], labelled[i % len(labelled)]) for i in range(count)]


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    """One run in this process, against whichever ``winback_router`` is importable."""
    import asyncpg

    import winback_router.coding.coder as coder
    from tests.recode_support import store_coded, survey_response
    from winback_router.coding.compiler import load_and_compile
    from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL
    from winback_router.recoding.report import Summary
    from winback_router.recoding.store import start_run
    from winback_router.refine.loop import Refiner
    from winback_shared.db import create_pool
    from winback_shared.migrations import apply_migrations
    from winback_shared.urls import with_query

    fast = load_and_compile(None, FAST_MODEL)
    full = load_and_compile(None, DEFAULT_MODEL)
    schema = f"perf_refine_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(os.environ["DATABASE_URL"])
    await admin.execute(f"CREATE SCHEMA {schema}")
    pool = await create_pool(with_query(os.environ["DATABASE_URL"], search_path=schema))
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            for answers, comment in texts(args.comments, args.count):
                await store_coded(
                    conn, survey_response(nps=3, reasons=answers, comment=comment), fast
                )
            run_id = await start_run(
                conn,
                taxonomy_sha256="perf",
                replay_source="refine",
                since=None,
                until=None,
                source=None,
            )
        summary = Summary(taxonomy_sha256="perf", replay_source="refine", dry_run=False)
        refiner = Refiner(
            pool=pool,
            taxonomy=full,
            run_id=run_id,
            summary=summary,
            batch=args.batch,
            idle_seconds=0.5,
        )
        await refiner.refine_batch(8)  # the encoder and the model's caches loaded, not timed
        cpu, wall, refined = time.process_time(), time.perf_counter(), 0
        while done := await refiner.refine_batch():
            refined += done
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        async with pool.acquire() as conn:
            recoded = await conn.fetchval(
                "SELECT count(*) FROM case_history WHERE kind = 'recoded'"
            )
    finally:
        await pool.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
    return {
        "coder": coder.__file__,
        "refined": refined,
        "recoded": int(recoded),
        "per_s": round(refined / wall, 1),
        "cpu_ms_each": round(1000 * cpu / refined, 2),
    }


def compare(args: argparse.Namespace, argv: list[str]) -> None:
    """Alternate child runs of ``--compare DIR`` and this checkout; print runs and ratios."""
    results = router_drain.alternate(__file__, args.compare, argv, args.rounds)
    for key in ("per_s", "cpu_ms_each"):
        before = statistics.median(r[key] for r in results["before"])
        after = statistics.median(r[key] for r in results["after"])
        print(f"{key}: before {before} after {after} ratio after/before {after / before:.2f}")


def main() -> None:
    """Parse arguments; one run here, or alternating runs in children with ``--compare``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=512)
    parser.add_argument("--comments", choices=("bench", "labelled"), default="bench")
    parser.add_argument("--batch", type=int, default=256, help="refine_batch setting")
    parser.add_argument("--compare", default=None, help="a git archive of another commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    if args.compare:
        compare(args, sys.argv[1:])
        return
    result = asyncio.run(measure(args))
    print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
