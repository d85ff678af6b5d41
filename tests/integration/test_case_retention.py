"""The retention job retires months of cases (migration 0036) on real PostgreSQL: child first,
archive then drop, only months whose cases are all closed and whose history has left; a month
with a case not closed, or with history still kept, is kept and said, never a failure; a
redelivery of a retired response is a new response with a new case."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from tests.integration.test_retention import FEB, JAN, NOW, pools, retention_cli
from tests.integration.test_router_batch_store import code_all, response
from tests.retention_support import case_with_history, keyed_response
from tests.role_support import RETENTION, ROUTER, as_role
from winback_router.batch_store import PostgresBatchStore
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.deadlines import ContactPolicy
from winback_shared.retention.archive import read_manifest, verify

__all__ = ["pools"]  # the fixture, shared with test_retention


async def closed_case(pool: asyncpg.Pool, response_id: str, *moments: object) -> int:
    """A closed case of this (keyed) response, opened at ``moments[0]``, one contact attempt."""
    case_id: int = await pool.fetchval(
        "INSERT INTO recovery_cases (survey_response_id, priority, queue, opened_at, status,"
        " closed_at) SELECT id, 2, 'default', $2, 'closed', $2 FROM survey_responses"
        " WHERE response_id = $1 RETURNING id",
        response_id,
        moments[0],
    )
    for seq, moment in enumerate(moments[1:], start=2):
        await pool.execute(
            "INSERT INTO case_history (case_id, seq, kind, actor, occurred_at)"
            " VALUES ($1, $2, 'note', 'ana', $3)",
            case_id,
            seq,
            moment,
        )
    agent = await pool.fetchval(
        "INSERT INTO agents (name, role, token_sha256)"
        " VALUES ($1, 'agent', convert_to($1::text, 'UTF8'))"
        " RETURNING id",
        f"ana-{case_id}",
    )
    await pool.execute(
        "INSERT INTO contact_attempts (case_id, agent_id, attempted_at, channel, reached)"
        " VALUES ($1, $2, $3, 'phone', true)",
        case_id,
        agent,
        moments[0],
    )
    return case_id


async def test_a_closed_month_of_cases_leaves_child_first_and_an_open_month_stays(
    pools: dict[str, asyncpg.Pool], schema_url: str, tmp_path: Path
) -> None:
    admin = pools["admin"]
    retired = await keyed_response(admin, JAN)
    jan_case = await closed_case(admin, retired, JAN, JAN + timedelta(hours=2))
    feb_case = await case_with_history(admin, FEB)  # still open: February stays
    assert await admin.fetchval("SELECT count(*) FROM case_keys") == 2

    code, out = await retention_cli(
        as_role(schema_url, RETENTION), "--keep-months", "1", "--archive-dir", str(tmp_path)
    )
    assert code == 0, out
    assert "removed case_history_p202001" in out
    assert "removed recovery_cases_p202001" in out
    assert "kept recovery_cases_p202002" in out and "1 of its cases not closed" in out
    assert "removed survey_responses_p202001" in out  # its case went before it
    assert "kept survey_responses_p202002" in out

    cases = tmp_path / "recovery_cases" / "recovery_cases_p202001.1.jsonl.gz"
    attempts = tmp_path / "contact_attempts" / "recovery_cases_p202001.1.jsonl.gz"
    for archive, rows in ((cases, 1), (attempts, 1)):
        manifest = read_manifest(archive)
        assert (manifest.rows, manifest.hash_field) == (rows, "row_sha256"), archive
        assert verify(archive) == [], archive
    with gzip.open(cases, "rt") as lines:
        assert [json.loads(line)["id"] for line in lines] == [jan_case]
    with gzip.open(attempts, "rt") as lines:
        assert [json.loads(line)["case_id"] for line in lines] == [jan_case]
    recorded = await admin.fetch(
        "SELECT table_name, partition_name, row_count FROM retention_archives"
        " WHERE partition_name LIKE 'recovery_cases%' ORDER BY id"
    )
    assert [tuple(r.values()) for r in recorded] == [
        ("contact_attempts", "recovery_cases_p202001", 1),
        ("case_offers", "recovery_cases_p202001", 0),
        ("recode_changes", "recovery_cases_p202001", 0),
        ("helpdesk_links", "recovery_cases_p202001", 0),
        ("recovery_cases", "recovery_cases_p202001", 1),
    ]
    assert await admin.fetchval("SELECT to_regclass('recovery_cases_p202001')") is None
    assert [r["id"] for r in await admin.fetch("SELECT id FROM recovery_cases")] == [feb_case]
    assert await admin.fetchval("SELECT count(*) FROM contact_attempts") == 0
    keys = await admin.fetch("SELECT case_id FROM case_keys")
    assert [k["case_id"] for k in keys] == [feb_case]
    assert await admin.fetchval("SELECT count(*) FROM response_keys") == 0

    # The retired response delivered again: no key, so a new response of this month and,
    # since it needs recovery, a new case of this month.
    store = PostgresBatchStore(pools[ROUTER], ContactPolicy())
    again = response(retired, 2, "Nobody called back").model_copy(update={"received_at": NOW})
    (change,) = await store.save([again], code_all)
    assert (change.kind, change.case.response_id) == (HistoryKind.OPENED, retired)
    assert change.case.case_id not in (jan_case, feb_case)
    part = await admin.fetchval(
        "SELECT tableoid::regclass::text FROM recovery_cases WHERE id = $1", change.case.case_id
    )
    assert part == f"recovery_cases_p{NOW:%Y%m}"


async def test_a_closed_month_whose_history_is_still_kept_waits_and_nothing_is_deleted(
    pools: dict[str, asyncpg.Pool], schema_url: str, tmp_path: Path
) -> None:
    admin = pools["admin"]
    response_id = await keyed_response(admin, JAN)
    # Closed, but with a note this month: that history is kept, so the case must stay too.
    case_id = await closed_case(admin, response_id, JAN, NOW)

    code, out = await retention_cli(
        as_role(schema_url, RETENTION), "--keep-months", "1", "--archive-dir", str(tmp_path)
    )
    assert code == 0, out
    assert "removed case_history_p202001" in out
    assert "kept recovery_cases_p202001" in out and "history of its cases is still kept" in out
    assert "kept survey_responses_p202001" in out
    assert [r["id"] for r in await admin.fetch("SELECT id FROM recovery_cases")] == [case_id]
    assert await admin.fetchval("SELECT count(*) FROM contact_attempts") == 1
    assert await admin.fetchval("SELECT count(*) FROM case_keys") == 1
    assert (
        await admin.fetchval(
            "SELECT count(*) FROM retention_archives WHERE partition_name LIKE 'recovery_cases%'"
        )
        == 0
    )

    # The current month is never removed, whatever its cases.
    async with pools[RETENTION].acquire() as conn:
        with pytest.raises(asyncpg.RaiseError, match="current month"):
            await conn.execute(
                "SELECT retention_case_partition_unclosed($1::regclass)",
                f"recovery_cases_p{NOW:%Y%m}",
            )
