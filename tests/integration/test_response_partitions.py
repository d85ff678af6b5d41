"""survey_responses in month partitions (migration 0032): a response first stored last month
and delivered again this month is the same response (a repeat changes nothing, a revision
revises that row and its case), never a second response or a second case; the router's
idempotency lives in ``response_keys``; a populated table is converted whole."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.integration.test_router_batch_store import code_all, response
from tests.migration_support import migrate_below
from tests.retention_support import case_with_history
from tests.role_support import migrate_as_owner
from winback_router.batch_store import PostgresBatchStore
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.db import create_pool
from winback_shared.deadlines import ContactPolicy
from winback_shared.migrations import apply_migrations
from winback_shared.partitions import ensure_partitions
from winback_shared.retention.plan import month_start

NOW = datetime.now(UTC)
LAST_MONTH = month_start(NOW, 1) + timedelta(days=3, hours=9)
RESPONSE_PARTITIONING = 32


@pytest.fixture
async def store(schema_url: str) -> AsyncIterator[PostgresBatchStore]:
    await migrate_as_owner(schema_url)
    pool = await create_pool(schema_url, max_size=2)
    try:
        yield PostgresBatchStore(pool, ContactPolicy())
    finally:
        await pool.close()


async def stored(pool: asyncpg.Pool, response_id: str) -> list[asyncpg.Record]:
    """Every stored row of this response, with the partition it sits in and its cases."""
    return await pool.fetch(
        "SELECT r.id, r.tableoid::regclass::text AS part, r.received_at, r.revision, r.comment,"
        " c.id AS case_id, c.response_received_at, c.seq AS case_seq"
        " FROM survey_responses r LEFT JOIN recovery_cases c ON c.survey_response_id = r.id"
        " WHERE r.response_id = $1",
        response_id,
    )


async def test_a_response_from_last_month_delivered_again_now_stays_one_response_and_one_case(
    store: PostgresBatchStore,
) -> None:
    pool = store._pool
    first = response("r-old", 2, "Nobody called back", updated_at=LAST_MONTH)
    first = first.model_copy(update={"received_at": LAST_MONTH})
    opened = await store.save([first], code_all)
    assert [change.kind for change in opened] == [HistoryKind.OPENED]
    await store.mark_alerted([opened[0].case.case_id])
    # Last month had no partition yet (made: this month and three ahead): DEFAULT took it, and
    # the next call moves it into its month, its case's foreign key held throughout.
    assert [row["part"] for row in await stored(pool, "r-old")] == ["survey_responses_default"]
    async with pool.acquire() as conn:
        assert f"survey_responses_p{LAST_MONTH:%Y%m}" in await ensure_partitions(conn)
    (before,) = await stored(pool, "r-old")
    assert before["part"] == f"survey_responses_p{LAST_MONTH:%Y%m}"
    assert before["response_received_at"] == LAST_MONTH

    # A plain redelivery this month: received now, same content. Nothing to store or announce.
    repeat = first.model_copy(update={"receipt_id": str(uuid.uuid4()), "received_at": NOW})
    assert await store.save([repeat], code_all) == []
    assert await stored(pool, "r-old") == [before]

    # A revision this month (the vendor's clock moved on, a comment changed): the original row
    # and its case are revised, in last month's partition.
    revision = repeat.model_copy(
        update={
            "receipt_id": str(uuid.uuid4()),
            "comment": "Nobody called back and the refund is missing",
            "updated_at": NOW,
        }
    )
    revised = await store.save([revision], code_all)
    assert [(c.kind, c.case.case_id) for c in revised] == [(HistoryKind.REVISED, before["case_id"])]
    (after,) = await stored(pool, "r-old")
    assert (after["id"], after["part"], after["received_at"], after["case_id"]) == (
        before["id"],
        before["part"],
        LAST_MONTH,
        before["case_id"],
    )
    assert (after["revision"], after["case_seq"]) == (2, before["case_seq"] + 1)
    assert after["comment"] == revision.comment
    assert await pool.fetchval("SELECT count(*) FROM survey_responses") == 1
    assert await pool.fetchval("SELECT count(*) FROM recovery_cases") == 1
    keys = await pool.fetch("SELECT * FROM response_keys")
    assert [tuple(key.values()) for key in keys] == [("survey", "r-old", before["id"], LAST_MONTH)]


async def test_a_response_without_a_case_last_month_gets_it_when_revised_now(
    store: PostgresBatchStore,
) -> None:
    pool = store._pool
    promoter = response("r-promoter", 10).model_copy(update={"received_at": LAST_MONTH})
    assert await store.save([promoter], code_all) == []
    change = promoter.model_copy(
        update={
            "receipt_id": str(uuid.uuid4()),
            "received_at": NOW,
            "scores": response("r-promoter", 1).scores,
            "comment": "Actually, the agent was rude",
        }
    )
    # In one batch with a first delivery of another response: both paths in one transaction.
    fresh = response("r-fresh", 1, "Waited an hour").model_copy(update={"received_at": NOW})
    changes = await store.save([change, fresh], code_all)
    assert [(c.kind, c.case.response_id) for c in changes] == [
        (HistoryKind.OPENED, "r-promoter"),
        (HistoryKind.OPENED, "r-fresh"),
    ]
    (row,) = await stored(pool, "r-promoter")
    assert row["response_received_at"] == LAST_MONTH and row["case_id"] is not None
    (new,) = await stored(pool, "r-fresh")
    assert new["part"] == f"survey_responses_p{NOW:%Y%m}"
    assert await pool.fetchval("SELECT count(*) FROM response_keys") == 2


async def test_a_data_fix_of_received_at_carries_the_case_and_later_deliveries_along(
    store: PostgresBatchStore,
) -> None:
    pool = store._pool
    first = response("r-fixed", 2, "Rude agent").model_copy(update={"received_at": NOW})
    (opened,) = await store.save([first], code_all)
    await store.mark_alerted([opened.case.case_id])
    await pool.execute(  # moved back a month by hand: another partition
        "UPDATE survey_responses SET received_at = $2 WHERE response_id = $1", "r-fixed", LAST_MONTH
    )
    (row,) = await stored(pool, "r-fixed")
    assert (row["part"], row["response_received_at"]) == ("survey_responses_default", LAST_MONTH)
    # Its key follows (migration 0039): reads that find a response's month there still do.
    key_month = "SELECT received_at FROM response_keys WHERE response_id = $1"
    assert await pool.fetchval(key_month, "r-fixed") == LAST_MONTH
    revision = first.model_copy(
        update={"receipt_id": str(uuid.uuid4()), "comment": "Rude agent, no call back"}
    )
    (revised,) = await store.save([revision], code_all)
    assert (revised.kind, revised.case.case_id) == (HistoryKind.REVISED, opened.case.case_id)
    (after,) = await stored(pool, "r-fixed")
    assert (after["id"], after["revision"]) == (row["id"], 2)


async def test_the_keys_not_the_responses_hold_uniqueness(store: PostgresBatchStore) -> None:
    pool = store._pool
    constraints = await pool.fetch(
        "SELECT conrelid::regclass::text AS tab, pg_get_constraintdef(oid) AS definition"
        " FROM pg_constraint WHERE contype IN ('p', 'u', 'f')"
        " AND conrelid::regclass::text IN ('survey_responses', 'response_keys',"
        " 'recovery_cases', 'recode_changes')"
    )
    found = {(row["tab"], row["definition"]) for row in constraints}
    assert ("survey_responses", "PRIMARY KEY (id, received_at)") in found
    assert ("response_keys", "PRIMARY KEY (source, response_id)") in found
    composite = (
        "FOREIGN KEY (survey_response_id, response_received_at)"
        " REFERENCES survey_responses(id, received_at) ON UPDATE CASCADE"
    )
    assert ("recovery_cases", composite) in found
    assert ("recode_changes", composite) in found
    assert not [row for row in found if row[0] == "survey_responses" and "UNIQUE" in row[1]]


async def test_a_populated_table_is_converted_whole(schema_url: str) -> None:
    conn = await asyncpg.connect(schema_url)
    try:
        await migrate_below(conn, RESPONSE_PARTITIONING)
        old = datetime(2020, 1, 10, tzinfo=UTC)
        case_id = await case_with_history(conn, old, NOW)
        await case_with_history(conn, NOW)
        rows_before = await conn.fetch("SELECT * FROM survey_responses ORDER BY id")
        cases_before = await conn.fetch("SELECT * FROM recovery_cases ORDER BY id")

        await apply_migrations(conn)

        assert await conn.fetch("SELECT * FROM survey_responses ORDER BY id") == rows_before
        cases_after = await conn.fetch("SELECT * FROM recovery_cases ORDER BY id")
        assert [dict(row) for row in cases_after] == [
            {**dict(row), "response_received_at": response["received_at"], "triggers": None}
            for row, response in zip(cases_before, rows_before, strict=True)
        ]
        parts = {
            row["part"]
            for row in await conn.fetch(
                "SELECT tableoid::regclass::text AS part FROM survey_responses"
            )
        }
        assert parts == {"survey_responses_p202001", f"survey_responses_p{NOW:%Y%m}"}
        keys = await conn.fetch(
            "SELECT source, response_id, survey_response_id, received_at FROM response_keys"
            " ORDER BY survey_response_id"
        )
        assert [tuple(k.values()) for k in keys] == [
            (r["source"], r["response_id"], r["id"], r["received_at"]) for r in rows_before
        ]
        indexes = {
            row["indexname"]
            for row in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'survey_responses'"
            )
        }
        assert {
            "survey_responses_pkey",
            "survey_responses_refine_pending",
            "survey_responses_customer_id_key_idx",
        } <= indexes
        # The sequence goes on after the copied ids; the views read the new table.
        summary = await conn.fetchrow("SELECT * FROM case_summaries WHERE case_id = $1", case_id)
        assert summary is not None and summary["received_at"] == old
        assert await conn.fetchval("SELECT nextval('survey_responses_id_seq')") > max(
            r["id"] for r in rows_before
        )
    finally:
        await conn.close()
