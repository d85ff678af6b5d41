"""The case history as an audit trail (migration 0015): nothing truncates it, nothing rewrites
it, and what a superuser changes behind the application's back is found by ``audit verify``."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from typing import Any

import asyncpg
import pytest

from tests.case_support import CaseDesk
from tests.role_support import REPORTING, as_role
from winback_notifier.cases.audit import broken_links

# A row moved to another month's partition is deleted and inserted again, so the insert
# trigger hashes it anew: its own hash fits its new content, and the break shows at the next row.
SEQ_AFTER_MOVE = 3
PROBLEM_AFTER_MOVE = "previous row removed or changed"

RESOLUTION: dict[str, Any] = {
    "root_cause": "billing_error",
    "resolution": {"apology": True, "explanation": "Charged twice.", "process_change": ""},
    "customer_reaction": "satisfied",
    "note": "",
}


async def worked_case(desk: CaseDesk) -> int:
    """A case taken through its whole life, reopened once: a history of several rows."""
    ana = await desk.agent("ana")
    case_id = await desk.case()
    for action, body in (
        ("claim", {}),
        ("attempts", {"channel": "phone", "reached": False}),
        ("attempts", {"channel": "phone", "reached": True}),
        ("resolve", RESOLUTION),
        ("close", {}),
        ("reopen", {"reason": "credit never arrived"}),
    ):
        answer = await desk.act(ana, case_id, action, body)
        assert answer.status_code == 200, (action, answer.text)
    return case_id


async def behind_the_back(desk: CaseDesk, statement: str, *args: object) -> None:
    """What a superuser can do: lift the guard, change the rows, put the guard back."""
    async with desk.pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE case_history DISABLE TRIGGER case_history_append_only")
        await conn.execute(statement, *args)
        await conn.execute("ALTER TABLE case_history ENABLE TRIGGER case_history_append_only")


async def test_truncate_is_refused(case_desk: CaseDesk) -> None:
    await case_desk.case()
    for statement in ("TRUNCATE case_history", "TRUNCATE recovery_cases CASCADE"):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await case_desk.pool.execute(statement)
    assert await case_desk.pool.fetchval("SELECT count(*) FROM case_history") == 1


async def test_published_at_goes_from_null_to_a_time_once_and_never_back(
    case_desk: CaseDesk,
) -> None:
    case_id = await case_desk.case()
    row_id = await case_desk.pool.fetchval(
        "INSERT INTO case_history (case_id, seq, kind, actor, data)"
        " VALUES ($1, 2, 'note', 'ana', '{\"text\": \"hi\"}') RETURNING id",
        case_id,
    )
    mark = "UPDATE case_history SET published_at = {} WHERE id = $1"
    await case_desk.pool.execute(mark.format("now()"), row_id)  # the outbox's mark
    for value in ("NULL", "now() + interval '1 hour'"):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await case_desk.pool.execute(mark.format(value), row_id)
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await case_desk.pool.execute(
            "UPDATE case_history SET row_hash = '\\x00' WHERE id = $1", row_id
        )
    assert await case_desk.pool.fetchval(
        "SELECT published_at IS NOT NULL FROM case_history WHERE id = $1", row_id
    )


async def test_a_worked_case_has_an_intact_contiguous_chain(case_desk: CaseDesk) -> None:
    case_id = await worked_case(case_desk)
    rows = await case_desk.pool.fetch(
        "SELECT seq, prev_hash, row_hash FROM case_history WHERE case_id = $1 ORDER BY seq",
        case_id,
    )
    assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1)) and len(rows) == 7
    assert rows[0]["prev_hash"] is None
    assert all(b["prev_hash"] == a["row_hash"] for a, b in itertools.pairwise(rows))
    async with case_desk.pool.acquire() as conn:
        assert await broken_links(conn) == []


@pytest.mark.parametrize(
    ("tampering", "seq", "problem"),
    [
        (
            'UPDATE case_history SET data = data || \'{"root_cause": "rude"}\''
            " WHERE case_id = $1 AND seq = 5",
            5,
            "row content changed",
        ),
        ("DELETE FROM case_history WHERE case_id = $1 AND seq = 3", 4, "previous row removed"),
        ("DELETE FROM case_history WHERE case_id = $1 AND seq = 7", 7, "latest rows missing"),
        (
            "UPDATE case_history SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END"
            " WHERE case_id = $1 AND seq IN (3, 4)",
            3,
            "row content changed",
        ),
        (
            # halfway back to the month's start: earlier, yet in the same partition whatever
            # the day (an hour back from 00:30 on the 1st moved it to last month's partition,
            # where the insert trigger re-hashes it; that case is the next one)
            "UPDATE case_history SET occurred_at = date_trunc('month', occurred_at)"
            " + (occurred_at - date_trunc('month', occurred_at)) / 2"
            " WHERE case_id = $1 AND seq = 2",
            2,
            "row content changed",
        ),
        (
            "UPDATE case_history SET occurred_at = date_trunc('month', occurred_at)"
            " - interval '1 day' WHERE case_id = $1 AND seq = 2",
            SEQ_AFTER_MOVE,
            PROBLEM_AFTER_MOVE,
        ),
    ],
    ids=["edited", "removed", "latest-removed", "reordered", "backdated", "backdated-a-month"],
)
async def test_tampering_behind_the_application_s_back_is_found(
    case_desk: CaseDesk, tampering: str, seq: int, problem: str
) -> None:
    untouched = await worked_case(case_desk)
    case_id = await worked_case(case_desk)
    if "seq IN" in tampering:  # swapping two seqs needs the unique constraint out of the way
        await case_desk.pool.execute(
            "ALTER TABLE case_history DROP CONSTRAINT case_history_seq_uniq"
        )
    await behind_the_back(case_desk, tampering, case_id)

    async with case_desk.pool.acquire() as conn:
        links = await broken_links(conn)

    assert [(link.case_id, link.seq) for link in links] == [(case_id, seq)]
    assert links[0].problem.startswith(problem)
    assert untouched not in {link.case_id for link in links}


async def test_the_verify_command_reports_the_first_broken_link_and_fails(
    case_desk: CaseDesk, infra_env: dict[str, Any]
) -> None:
    case_id = await worked_case(case_desk)

    async def verify() -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "winback_notifier.cases.audit",
            "verify",
            env={**os.environ, "DATABASE_URL": as_role(str(infra_env["database_url"]), REPORTING)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await process.communicate()
        return process.returncode or 0, out.decode() + err.decode()

    code, out = await verify()
    assert code == 0 and "history chain intact" in out and "digest of 1 chain heads" in out, out
    await behind_the_back(
        case_desk,
        "UPDATE case_history SET actor = 'mallory' WHERE case_id = $1 AND seq = 2",
        case_id,
    )
    code, out = await verify()
    assert code == 1, out
    assert f"case {case_id}: chain broken at seq 2: row content changed" in out
