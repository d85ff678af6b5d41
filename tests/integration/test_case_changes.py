"""The one way a case changes (``winback_shared.case_changes``), on a real PostgreSQL."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.case_support import open_case
from winback_router.decision import Decision
from winback_router.revisions import content_digest
from winback_router.store import load_response, revise_response
from winback_shared.case_changes import (
    FIRST_NOW,
    NOW,
    CaseColumn,
    append_change,
    append_change_unless_finished,
)
from winback_shared.case_vocabulary import CaseStatus, HistoryKind
from winback_shared.deadlines import ContactPolicy
from winback_shared.events.recovery_alerts import CodedReason


async def _case(pool: asyncpg.Pool, case_id: int) -> dict[str, Any]:
    row = await pool.fetchrow("SELECT * FROM recovery_cases WHERE id = $1", case_id)
    assert row is not None
    return dict(row)


async def test_a_change_moves_seq_and_updated_at_sets_its_columns_and_appends_history(
    pool: asyncpg.Pool,
) -> None:
    case_id = await open_case(pool)
    await pool.execute(
        "UPDATE recovery_cases SET claimed_at = now() - interval '1 hour',"
        " updated_at = now() - interval '1 hour' WHERE id = $1",
        case_id,
    )
    before = await _case(pool, case_id)
    async with pool.acquire() as conn, conn.transaction():
        entry = await append_change(
            conn,
            case_id,
            kind=HistoryKind.NOTE_ADDED,
            actor="ana",
            data={"text": "called twice"},
            columns={
                CaseColumn.STATUS: CaseStatus.CONTACTED,
                CaseColumn.CLAIMED_AT: FIRST_NOW,  # set: kept
                CaseColumn.FIRST_ATTEMPT_AT: FIRST_NOW,  # unset: stamped
                CaseColumn.LAST_ATTEMPT_AT: NOW,
                CaseColumn.FAILED_ATTEMPTS: 2,
                CaseColumn.RESOLUTION: {"apology": True},
            },
        )
        now = await conn.fetchval("SELECT now()")
    after = await _case(pool, case_id)

    assert (entry.seq, entry.kind, entry.actor, entry.data) == (
        2,
        HistoryKind.NOTE_ADDED,
        "ana",
        {"text": "called twice"},
    )
    assert after["seq"] == before["seq"] + 1 == 2
    assert after["updated_at"] == now > before["updated_at"]
    assert after["status"] == "contacted"
    assert after["claimed_at"] == before["claimed_at"]
    assert after["first_attempt_at"] == after["last_attempt_at"] == now
    assert (after["failed_attempts"], after["resolution"]) == (2, {"apology": True})
    stored = await pool.fetchrow(
        "SELECT kind, actor, data, published_at FROM case_history WHERE case_id = $1 AND seq = 2",
        case_id,
    )
    assert stored is not None
    assert (stored["kind"], stored["actor"], stored["published_at"]) == ("note_added", "ana", None)


async def test_a_change_its_writer_publishes_is_born_published(pool: asyncpg.Pool) -> None:
    case_id = await open_case(pool)
    async with pool.acquire() as conn, conn.transaction():
        entry = await append_change(
            conn, case_id, kind=HistoryKind.REVISED, actor="router", data={}, published=True
        )
    published = await pool.fetchval(
        "SELECT published_at FROM case_history WHERE case_id = $1 AND seq = $2",
        case_id,
        entry.seq,
    )
    assert published is not None


async def test_a_finished_case_keeps_its_history(pool: asyncpg.Pool) -> None:
    case_id = await open_case(pool)
    await pool.execute("UPDATE recovery_cases SET status = 'closed' WHERE id = $1", case_id)
    async with pool.acquire() as conn, conn.transaction():
        entry = await append_change_unless_finished(
            conn, case_id, kind=HistoryKind.RECODED, actor="recode", data={}
        )
    assert entry is None
    assert (await _case(pool, case_id))["seq"] == 1
    assert await pool.fetchval("SELECT count(*) FROM case_history WHERE case_id = $1", case_id) == 1


async def test_column_names_are_never_strings(pool: asyncpg.Pool) -> None:
    case_id = await open_case(pool)
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(TypeError):
            await append_change(
                conn,
                case_id,
                kind=HistoryKind.NOTE_ADDED,
                actor="ana",
                data={},
                columns={"status = 'closed', priority": 1},  # type: ignore[dict-item]
            )
    assert (await _case(pool, case_id))["seq"] == 1


async def test_a_revision_moves_updated_at_too(pool: asyncpg.Pool) -> None:
    """The router's revision used to leave ``updated_at`` behind; it is a change like any."""
    case_id = await open_case(pool, priority=3)
    await pool.execute(
        "UPDATE recovery_cases SET updated_at = now() - interval '1 hour' WHERE id = $1", case_id
    )
    before = await _case(pool, case_id)
    key = await pool.fetchrow(
        "SELECT source, response_id FROM survey_responses r JOIN recovery_cases c"
        " ON c.survey_response_id = r.id WHERE c.id = $1",
        case_id,
    )
    assert key is not None
    async with pool.acquire() as conn, conn.transaction():
        stored = await load_response(conn, key["source"], key["response_id"])
        assert stored is not None
        merged = stored.response.model_copy(update={"comment": "And nobody called back."})
        reasons = [CodedReason(code="x", label="X", evidence="x", method="chosen_answer")]
        change = await revise_response(
            conn,
            stored,
            merged,
            content_digest(merged),
            reasons,
            Decision(needs_recovery=True, priority=2, triggers=()),
            contact_policy=ContactPolicy(),
        )
    after = await _case(pool, case_id)
    assert change is not None and change.kind is HistoryKind.REVISED
    assert (after["seq"], after["priority"]) == (2, 2)
    assert after["updated_at"] > before["updated_at"]
    entry = await pool.fetchrow(
        "SELECT kind, actor, data, published_at FROM case_history WHERE case_id = $1 AND seq = 2",
        case_id,
    )
    assert entry is not None
    assert (entry["kind"], entry["actor"], entry["data"]["priority"]) == ("revised", "router", 2)
    assert entry["published_at"] is not None
