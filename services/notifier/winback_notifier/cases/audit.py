"""``python -m winback_notifier.cases.audit verify [--case ID]``: is the case history intact?

Each ``case_history`` row carries ``row_hash`` = sha256 of the previous row's hash (same case,
by ``seq``) and its own content, computed by PostgreSQL as the row is inserted (migration
0015). The application can only append; a superuser working behind its back can still edit,
remove or reorder rows, and this check is how that is found: it recomputes every hash and
reports, per damaged case, the first broken link. Exit code 0 when every chain holds, 1 when a
link is broken (so a cron job or a monitoring check can alert on it).

What it detects: an edited row (its content no longer matches its hash), a removed row (the
next row's ``prev_hash`` points at a hash that is no longer there, or the case's latest
``seq`` has no history row), a reordered row (seq is part of the content hashed). What it
cannot: someone who rewrites a whole chain with recomputed hashes. Against that, keep the
printed ``digest`` (one hash over every chain's head) somewhere the database's superuser
cannot write, and compare it later: ``verify`` prints it each run.

After the retention job (:mod:`winback_shared.retention`) removed a case's older rows, its
kept chain starts from the case's anchor in ``case_history_anchors`` (the last removed row's
seq and hash): the first kept row must point at the anchor's hash and follow its seq, and a
case whose rows were all removed must end at the anchor. The removed rows themselves are in
the archive files, each checked against its manifest.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from winback_shared.case_months import CASE_OPENED_AT
from winback_shared.db import Connection, create_pool
from winback_shared.settings import CommonSettings

_CHECK = """
    WITH chained AS (
        SELECT h.case_id, h.seq, h.prev_hash, h.row_hash,
               CASE WHEN row_number() OVER per_case = 1 THEN a.row_hash
                    ELSE lag(h.row_hash) OVER per_case END AS previous_hash,
               CASE WHEN row_number() OVER per_case = 1 THEN a.seq
                    ELSE lag(h.seq) OVER per_case END AS previous_seq,
               case_history_row_hash(h.prev_hash, h.case_id, h.seq, h.kind, h.actor_id,
                                     h.actor, h.occurred_at, h.data) AS recomputed
        FROM case_history h
        LEFT JOIN case_history_anchors a ON a.case_id = h.case_id
        {history}
        WINDOW per_case AS (PARTITION BY h.case_id ORDER BY h.seq)
    ),
    broken AS (
        SELECT case_id, seq,
               CASE
                   WHEN row_hash IS DISTINCT FROM recomputed THEN 'row content changed'
                   WHEN prev_hash IS DISTINCT FROM previous_hash
                       THEN 'previous row removed or changed'
                   WHEN previous_seq IS NOT NULL AND seq <> previous_seq + 1
                       THEN 'rows missing before this one'
               END AS problem
        FROM chained
    ),
    first_broken AS (
        SELECT DISTINCT ON (case_id) case_id, seq, problem
        FROM broken WHERE problem IS NOT NULL
        ORDER BY case_id, seq
    ),
    truncated AS (
        SELECT c.id AS case_id, c.seq, 'latest rows missing' AS problem
        FROM recovery_cases c
        WHERE {cases}
              c.seq > coalesce((SELECT max(h.seq) FROM case_history h WHERE h.case_id = c.id),
                               (SELECT a.seq FROM case_history_anchors a WHERE a.case_id = c.id),
                               0)
    )
    SELECT case_id, seq, problem FROM first_broken
    UNION ALL
    SELECT case_id, seq, problem FROM truncated
    WHERE case_id NOT IN (SELECT case_id FROM first_broken)
    ORDER BY case_id
"""


def _check(one_case: bool) -> str:
    """The check's statement: over every case, or over case ``$1`` alone, read in the month
    partition that holds it (its month from ``case_keys``, :mod:`winback_shared.case_months`)
    rather than by probing every month's."""
    history = "WHERE h.case_id = $1" if one_case else ""
    cases = f"c.id = $1 AND c.opened_at = {CASE_OPENED_AT} AND" if one_case else ""
    return _CHECK.format(history=history, cases=cases)


_DIGEST = """
    SELECT encode(sha256(coalesce(string_agg(head.row_hash, ''::bytea ORDER BY head.case_id),
                                  '\\x'::bytea)), 'hex') AS digest,
           count(*) AS cases
    FROM (
        SELECT DISTINCT ON (case_id) case_id, row_hash
        FROM case_history ORDER BY case_id, seq DESC
    ) AS head
"""


@dataclass(frozen=True)
class BrokenLink:
    """The first place a case's chain does not hold."""

    case_id: int
    seq: int
    problem: str


async def broken_links(conn: Connection, case_id: int | None = None) -> list[BrokenLink]:
    """The first broken link of every damaged case (of one case with ``case_id``)."""
    if case_id is None:
        rows = await conn.fetch(_check(one_case=False))
    else:
        rows = await conn.fetch(_check(one_case=True), case_id)
    return [BrokenLink(row["case_id"], row["seq"], row["problem"]) for row in rows]


async def chain_digest(conn: Connection) -> tuple[str, int]:
    """One hash over every case's latest row hash, and how many cases it covers."""
    row = await conn.fetchrow(_DIGEST)
    assert row is not None
    return str(row["digest"]), int(row["cases"])


async def _verify(database_url: str, case_id: int | None) -> int:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            broken = await broken_links(conn, case_id)
            digest, cases = await chain_digest(conn)
    finally:
        await pool.close()
    for link in broken:
        print(f"case {link.case_id}: chain broken at seq {link.seq}: {link.problem}")
    scope = f"case {case_id}" if case_id is not None else "every case"
    if broken:
        print(f"{len(broken)} case(s) with a broken history chain ({scope} checked)")
        return 1
    print(f"history chain intact ({scope} checked); digest of {cases} chain heads: {digest}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(
        prog="winback_notifier.cases.audit",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="recompute the history hash chains")
    verify.add_argument("--case", type=int, help="check this case only")
    args = parser.parse_args(argv)
    return asyncio.run(_verify(CommonSettings().database_url, args.case))


if __name__ == "__main__":
    sys.exit(main())
