"""recovery_cases in month partitions (migration 0035): one case per response still holds
across months and transactions (``case_keys``), a delivery of a response whose case opened last
month revises that case in last month's partition, every table referring to a case carries its
opening under a composite key, and a populated table is converted whole."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.integration.test_router_batch_store import code_all, response
from tests.migration_support import migrate_below
from tests.retention_support import case_with_history, keyed_response
from tests.role_support import migrate_as_owner
from tests.schema_template import schema_of
from tests.support import eventually
from winback_router.batch_store import PostgresBatchStore
from winback_router.bulk_store import CaseToOpen, FirstDelivery, insert_first_deliveries, open_cases
from winback_router.revisions import content_digest
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.db import create_pool
from winback_shared.deadlines import ContactPolicy
from winback_shared.migrations import apply_migrations
from winback_shared.partitions import ensure_partitions
from winback_shared.retention.job import CASE_ROWS
from winback_shared.retention.plan import month_start
from winback_shared.urls import with_query

NOW = datetime.now(UTC)
LAST_MONTH = month_start(NOW, 1) + timedelta(days=3, hours=9)
CASE_PARTITIONING = 35
REFERRING = ("case_history", "contact_attempts", "case_offers", "recode_changes", "helpdesk_links")


@pytest.fixture
async def pool(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate_as_owner(schema_url)
    # Named after the schema, so a test can tell its own backends from the shared server's.
    created = await create_pool(
        with_query(schema_url, application_name=schema_of(schema_url)), max_size=4
    )
    try:
        yield created
    finally:
        await created.close()


async def waiting_for_a_lock(pool: asyncpg.Pool, pid: int) -> None:
    """Return once backend ``pid`` waits for a lock another transaction holds."""

    async def waiting() -> bool:
        return bool(
            await pool.fetchval(
                "SELECT EXISTS (SELECT FROM pg_locks WHERE pid = $1 AND NOT granted)", pid
            )
        )

    assert await eventually(waiting), f"backend {pid} never waited for a lock"


async def test_two_routers_racing_a_first_delivery_end_with_one_case(pool: asyncpg.Pool) -> None:
    first = response("r-race", 1, "Nobody called back").model_copy(update={"received_at": NOW})
    ((reasons, decision, queue),) = code_all([first])
    delivery = FirstDelivery(first, content_digest(first), reasons, decision, queue)
    other_router = PostgresBatchStore(pool, ContactPolicy())
    async with pool.acquire() as router_a:
        transaction = router_a.transaction()
        await transaction.start()
        inserted = await insert_first_deliveries(router_a, [delivery])
        opened = await open_cases(
            router_a, [CaseToOpen(inserted[delivery.key], 1, queue)], ContactPolicy()
        )
        async with pool.acquire() as watcher:
            others = [row["pid"] for row in await watcher.fetch("SELECT pid FROM pg_stat_activity")]
            # Router B's batch, same response, its own connection and transaction: it waits
            # on router A's key until A commits, then finds A's response and case.
            racing = asyncio.create_task(other_router.save([first], code_all))

            async def b_waits() -> bool:
                # Only this test's schema's backends count: the server is shared with the
                # run's other tests (and workers), whose backends may wait on locks of theirs.
                assert not racing.done(), racing
                return bool(
                    await watcher.fetchval(
                        "SELECT EXISTS (SELECT FROM pg_locks l"
                        " JOIN pg_stat_activity a ON a.pid = l.pid"
                        " WHERE NOT l.granted AND l.pid <> ALL($1::int[])"
                        " AND a.application_name = current_setting('application_name'))",
                        others,
                    )
                )

            assert await eventually(b_waits), "router B never waited for router A"
        await transaction.commit()
    changes = await racing
    (case_a,) = opened.values()
    # A's alert is not acknowledged yet, so B hands the same case back to be alerted: one case.
    assert [(c.kind, c.case.case_id) for c in changes] == [(HistoryKind.OPENED, case_a.case_id)]
    assert await pool.fetchval("SELECT count(*) FROM recovery_cases") == 1
    assert await pool.fetchval("SELECT count(*) FROM case_keys") == 1


async def test_a_second_case_for_a_response_fails_in_any_month_and_any_transaction(
    pool: asyncpg.Pool,
) -> None:
    response_id = await keyed_response(pool, LAST_MONTH)
    row = await pool.fetchrow(
        "SELECT id, received_at FROM survey_responses WHERE response_id = $1", response_id
    )
    assert row is not None
    insert = (
        "INSERT INTO recovery_cases (survey_response_id, response_received_at, priority, queue,"
        " opened_at) VALUES ($1, $2, 2, 'default', $3) RETURNING id"
    )
    async with pool.acquire() as first, pool.acquire() as second:
        transaction = first.transaction()
        await transaction.start()
        case_id = await first.fetchval(insert, row["id"], row["received_at"], NOW)
        second_pid = await second.fetchval("SELECT pg_backend_pid()")
        # Last month's partition (DEFAULT until made), another transaction: it waits for the
        # first one's key, then finds it taken.
        racing = asyncio.create_task(
            second.fetchval(insert, row["id"], row["received_at"], LAST_MONTH)
        )
        await waiting_for_a_lock(pool, second_pid)
        await transaction.commit()
        with pytest.raises(asyncpg.UniqueViolationError, match="case_keys_pkey"):
            await racing
    cases = await pool.fetch("SELECT id, opened_at FROM recovery_cases")
    assert [(c["id"], c["opened_at"]) for c in cases] == [(case_id, NOW)]
    key = await pool.fetchrow("SELECT * FROM case_keys")
    assert key is not None
    assert dict(key) == {"survey_response_id": row["id"], "case_id": case_id, "opened_at": NOW}


async def test_a_delivery_revises_the_case_opened_last_month_in_its_partition(
    pool: asyncpg.Pool,
) -> None:
    store = PostgresBatchStore(pool, ContactPolicy())
    first = response("r-old", 10).model_copy(
        update={"received_at": LAST_MONTH, "updated_at": LAST_MONTH}
    )
    assert await store.save([first], code_all) == []
    # Its case opened last month (by hand: the router opens cases at now()).
    backdated = await pool.fetchval(
        "INSERT INTO recovery_cases (survey_response_id, priority, queue, opened_at, alerted_at)"
        " SELECT id, 2, 'default', $2, $2 FROM survey_responses WHERE response_id = $1"
        " RETURNING id",
        "r-old",
        LAST_MONTH,
    )
    async with pool.acquire() as conn:
        assert f"recovery_cases_p{LAST_MONTH:%Y%m}" in await ensure_partitions(conn)
    part = f"recovery_cases_p{LAST_MONTH:%Y%m}"
    assert (
        await pool.fetchval(
            "SELECT tableoid::regclass::text FROM recovery_cases WHERE id = $1", backdated
        )
        == part
    )

    revision = first.model_copy(
        update={
            "receipt_id": str(uuid.uuid4()),
            "received_at": NOW,
            "updated_at": NOW,
            "scores": response("r-old", 2).scores,
            "comment": "Nobody called back and the refund is missing",
        }
    )
    (revised,) = await store.save([revision], code_all)
    assert (revised.kind, revised.case.case_id) == (HistoryKind.REVISED, backdated)
    case = await pool.fetchrow(
        "SELECT tableoid::regclass::text AS part, seq, opened_at FROM recovery_cases"
    )
    assert case is not None
    assert (case["part"], case["seq"], case["opened_at"]) == (part, 2, LAST_MONTH)
    history = await pool.fetch(
        "SELECT seq, kind, case_opened_at FROM case_history WHERE case_id = $1 ORDER BY seq",
        backdated,
    )
    assert [tuple(h.values()) for h in history] == [
        (1, "opened", LAST_MONTH),
        (2, "revised", LAST_MONTH),
    ]
    assert await pool.fetchval("SELECT count(*) FROM recovery_cases") == 1


async def test_every_referring_table_carries_the_opening_under_a_composite_key(
    pool: asyncpg.Pool,
) -> None:
    constraints = await pool.fetch(
        "SELECT conrelid::regclass::text AS tab, pg_get_constraintdef(oid) AS definition"
        " FROM pg_constraint WHERE contype IN ('p', 'u', 'f') AND conparentid = 0"
        " AND (confrelid = 'recovery_cases'::regclass OR conrelid = 'recovery_cases'::regclass"
        "      OR conrelid = 'case_keys'::regclass)"
    )
    found = {(row["tab"], row["definition"]) for row in constraints}
    assert ("recovery_cases", "PRIMARY KEY (id, opened_at)") in found
    assert ("case_keys", "PRIMARY KEY (survey_response_id)") in found
    referring = {tab for tab, definition in found if "REFERENCES recovery_cases" in definition}
    assert referring == set(REFERRING)
    # Retention retires each of them before a month of cases: case_history by its own months,
    # the others with the cases (a new referring table fails here until retention knows it).
    assert {rows.table for rows in CASE_ROWS} | {"case_history"} == referring
    for tab, definition in found:
        if "REFERENCES recovery_cases" in definition:
            assert definition.startswith(
                "FOREIGN KEY (case_id, case_opened_at) REFERENCES recovery_cases(id, opened_at)"
            ), (tab, definition)
    assert not [row for row in found if row[0] == "recovery_cases" and "UNIQUE" in row[1]]

    # An insert that names the case by id alone gets its opening from the trigger.
    case_id = await case_with_history(pool, LAST_MONTH, NOW)
    agent = await pool.fetchval(
        "INSERT INTO agents (name, role, token_sha256) VALUES ('ana', 'agent', 'x') RETURNING id"
    )
    await pool.execute(
        "INSERT INTO contact_attempts (case_id, agent_id, channel, reached)"
        " VALUES ($1, $2, 'phone', false)",
        case_id,
        agent,
    )
    for table in ("case_history", "contact_attempts"):
        openings = await pool.fetch(
            f"SELECT DISTINCT case_opened_at FROM {table} WHERE case_id = $1", case_id
        )
        assert [row["case_opened_at"] for row in openings] == [LAST_MONTH], table
    # No service changes an opening; a data fix by the owner (tests backdate cases so) moves
    # the case to its new month's partition, and its key and every referring row follow,
    # with no second opening recorded.
    async with pool.acquire() as conn:
        await ensure_partitions(conn)
    await pool.execute("UPDATE recovery_cases SET opened_at = $2 WHERE id = $1", case_id, NOW)
    moved = await pool.fetchrow(
        "SELECT tableoid::regclass::text AS part, opened_at FROM recovery_cases WHERE id = $1",
        case_id,
    )
    assert moved is not None
    assert (moved["part"], moved["opened_at"]) == (f"recovery_cases_p{NOW:%Y%m}", NOW)
    assert await pool.fetchval("SELECT opened_at FROM case_keys WHERE case_id = $1", case_id) == NOW
    for table in ("case_history", "contact_attempts"):
        openings = await pool.fetch(
            f"SELECT DISTINCT case_opened_at FROM {table} WHERE case_id = $1", case_id
        )
        assert [row["case_opened_at"] for row in openings] == [NOW], table
    kinds = await pool.fetch(
        "SELECT kind FROM case_history WHERE case_id = $1 ORDER BY seq", case_id
    )
    assert [row["kind"] for row in kinds] == ["opened", "note"]


async def test_a_populated_table_is_converted_whole(schema_url: str) -> None:
    conn = await asyncpg.connect(schema_url)
    try:
        await migrate_below(conn, CASE_PARTITIONING)
        old = datetime(2020, 1, 10, tzinfo=UTC)
        spanning = await case_with_history(conn, old, old + timedelta(days=40), NOW)
        await case_with_history(conn, NOW)
        cases_before = await conn.fetch("SELECT * FROM recovery_cases ORDER BY id")
        history_before = await conn.fetch("SELECT * FROM case_history ORDER BY id")

        await apply_migrations(conn)

        # Unchanged, but for the column a later migration adds (0041: none kept before it).
        cases_after = await conn.fetch("SELECT * FROM recovery_cases ORDER BY id")
        assert [dict(row) for row in cases_after] == [
            {**dict(row), "triggers": None} for row in cases_before
        ]
        history_after = await conn.fetch("SELECT * FROM case_history ORDER BY id")
        opened = {row["id"]: row["opened_at"] for row in cases_before}
        assert [dict(row) for row in history_after] == [
            {**dict(row), "case_opened_at": opened[row["case_id"]]} for row in history_before
        ]
        parts = {
            row["part"]
            for row in await conn.fetch(
                "SELECT tableoid::regclass::text AS part FROM recovery_cases"
            )
        }
        assert parts == {"recovery_cases_p202001", f"recovery_cases_p{NOW:%Y%m}"}
        keys = await conn.fetch(
            "SELECT survey_response_id, case_id, opened_at FROM case_keys ORDER BY case_id"
        )
        assert [tuple(k.values()) for k in keys] == [
            (c["survey_response_id"], c["id"], c["opened_at"]) for c in cases_before
        ]
        indexes = {
            row["indexname"]
            for row in await conn.fetch(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'recovery_cases'"
            )
        }
        assert {
            "recovery_cases_pkey",
            "recovery_cases_open_idx",
            "recovery_cases_updated_idx",
            "recovery_cases_response_idx",
        } <= indexes
        # The sequence goes on; the views read the new table; the chain goes on.
        card = await conn.fetchrow("SELECT * FROM case_cards WHERE case_id = $1", spanning)
        assert card is not None and card["opened_at"] == old
        assert await conn.fetchval("SELECT nextval('recovery_cases_id_seq')") > max(opened)
        await conn.execute(
            "INSERT INTO case_history (case_id, seq, kind, actor) VALUES ($1, 4, 'note', 'ana')",
            spanning,
        )
        last_two = await conn.fetch(
            "SELECT prev_hash, row_hash FROM case_history WHERE case_id = $1"
            " ORDER BY seq DESC LIMIT 2",
            spanning,
        )
        assert last_two[0]["prev_hash"] == last_two[1]["row_hash"]
    finally:
        await conn.close()
