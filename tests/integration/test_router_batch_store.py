"""The set-based batch store gives what storing the same deliveries one by one gave.

``PostgresBatchStore.save`` inserts a batch's first deliveries, their cases and its dead letters
with one statement per table, and merges the rest one by one. Each test here stores the same
deliveries twice on real PostgreSQL, in two fresh schemas: once as one batch, and once as one
batch per delivery (the record-by-record order the store used to follow), then compares what
each announced and what each left in the tables.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.role_support import migrate_as_owner
from winback_router.batch_store import Coded, PostgresBatchStore
from winback_router.bulk_store import case_summaries
from winback_router.coding import code_response
from winback_router.consumer import RecoveryRouter
from winback_router.dead_letters.store import Failure
from winback_router.decision import decide
from winback_router.queues import QueueRules, choose_queue
from winback_router.store import CaseChange, case_summary
from winback_shared.db import create_pool
from winback_shared.deadlines import ContactPolicy
from winback_shared.events.recovery_alerts import RecoveryCaseOpened
from winback_shared.survey import Customer, Interaction, Score, ScoreKind, SurveyResponse
from winback_shared.taxonomy import load_taxonomy
from winback_shared.urls import with_query

TAXONOMY = load_taxonomy()
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def code_all(responses: Sequence[SurveyResponse]) -> list[Coded]:
    """The router's own rules (as ``RecoveryRouter._code``), without a model."""
    coded: list[Coded] = []
    for response in responses:
        reasons = code_response(response, TAXONOMY)
        decision = decide(response, reasons)
        queue = choose_queue(
            QueueRules(),
            reason_codes=[reason.code for reason in reasons],
            priority=decision.priority,
            segment=response.customer.segment,
        )
        coded.append((reasons, decision, queue))
    return coded


def response(response_id: str, nps: int, comment: str | None = None, **more: Any) -> SurveyResponse:
    """A generic-format response as the adapters normalise it."""
    return SurveyResponse(
        source="survey",
        response_id=response_id,
        receipt_id=str(uuid.uuid4()),
        vendor="generic",
        received_at=T0,
        customer=Customer(id=f"c-{response_id}", name="Dana", email="dana@example.com"),
        interaction=Interaction(id="call-1", channel="phone", agent="Sam"),
        scores=[Score(kind=ScoreKind.NPS, value=nps, scale_min=0, scale_max=10)],
        comment=comment,
        **more,
    )


def failure(offset: int) -> Failure:
    """An authentic record no adapter could read."""
    return Failure(
        topic="responses",
        partition=0,
        offset=offset,
        key=b"k",
        record=b"{not json",
        error="not JSON",
        receipt_id=None,
        source="survey",
        vendor="generic",
        replay_of=None,
    )


@pytest.fixture
async def two_stores(database_url: str) -> AsyncIterator[tuple[PostgresBatchStore, ...]]:
    """Two stores on two fresh, migrated schemas, dropped afterwards."""
    schemas = [f"test_batch_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    admin = await asyncpg.connect(database_url)
    pools: list[asyncpg.Pool] = []
    try:
        for schema in schemas:
            await admin.execute(f"CREATE SCHEMA {schema}")
            url = with_query(database_url, search_path=schema)
            await migrate_as_owner(url)
            pools.append(await create_pool(url, max_size=2))
        yield tuple(PostgresBatchStore(pool, ContactPolicy()) for pool in pools)
    finally:
        for pool in pools:
            await pool.close()
        for schema in schemas:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


def announced(changes: list[CaseChange]) -> list[tuple[str, str, int, int, str | None]]:
    """What the consoles are told, without ids and clocks."""
    return [
        (c.kind, c.case.response_id, c.case.seq, c.case.priority, c.case.comment) for c in changes
    ]


async def tables(store: PostgresBatchStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the router writes, without ids and clocks, in a stable order."""
    async with store._pool.acquire() as conn:
        responses = await conn.fetch(
            "SELECT response_id, comment, scores, codes, needs_recovery, revision, content_sha256"
            " FROM survey_responses ORDER BY response_id"
        )
        cases = await conn.fetch(
            "SELECT r.response_id, c.status, c.priority, c.queue, c.seq,"
            " c.contact_due_at - c.opened_at AS due_in, c.alerted_at IS NULL AS unalerted"
            " FROM recovery_cases c JOIN survey_responses r ON r.id = c.survey_response_id"
            " ORDER BY r.response_id"
        )
        history = await conn.fetch(
            "SELECT r.response_id, h.seq, h.kind, h.actor, h.data, h.published_at IS NOT NULL"
            " FROM case_history h JOIN recovery_cases c ON c.id = h.case_id"
            " JOIN survey_responses r ON r.id = c.survey_response_id"
            " ORDER BY r.response_id, h.seq"
        )
        dead = await conn.fetch(
            "SELECT topic, kafka_partition, kafka_offset, record, error FROM dead_letters"
            " ORDER BY kafka_offset"
        )
    return {
        name: [tuple(row.values()) for row in rows]
        for name, rows in {
            "responses": responses,
            "cases": cases,
            "history": history,
            "dead_letters": dead,
        }.items()
    }


async def store_both_ways(
    stores: tuple[PostgresBatchStore, ...],
    before: Sequence[SurveyResponse | Failure],
    batch: Sequence[SurveyResponse | Failure],
) -> tuple[list[CaseChange], list[CaseChange]]:
    """``before`` stored alike in both (one batch each); then ``batch`` as one batch in the
    first store and one delivery at a time in the second. Both announcements are returned."""
    together, one_by_one = stores
    for store in stores:
        if before:
            await store.save(before, code_all)
    at_once = await together.save(batch, code_all)
    in_turn: list[CaseChange] = []
    for outcome in batch:
        in_turn += await one_by_one.save([outcome], code_all)
    return at_once, in_turn


async def test_a_batch_of_firsts_repeats_revisions_and_bad_records_matches_one_by_one(
    two_stores: tuple[PostgresBatchStore, ...],
) -> None:
    edited_later = response("stored-before", 2, "The line was busy", updated_at=T0)
    batch: list[SurveyResponse | Failure] = [
        response("new-detractor", 1, "The agent was rude"),
        failure(7),
        response("promoter", 10),
        response("new-detractor", 1, "The agent was rude"),  # a plain repeat in the batch
        response("stored-before", 2, "Waited an hour", updated_at=T0 + timedelta(minutes=5)),
        response("promoter", 3, "Actually it was awful"),  # a revision that now needs a case
        response("second", 5),
        response("second", 5, "And nobody called back"),  # revised within the batch
        failure(11),
    ]
    at_once, in_turn = await store_both_ways(two_stores, [edited_later, failure(3)], batch)

    assert announced(at_once) == announced(in_turn)
    assert [c.case.response_id for c in at_once] == [
        "new-detractor",
        "new-detractor",  # a repeat hands back the case whose alert is not confirmed yet
        "stored-before",
        "promoter",
        "second",
        "second",
    ]
    assert await tables(two_stores[0]) == await tables(two_stores[1])
    together = await tables(two_stores[0])
    assert len(together["responses"]) == 4  # exactly one row per response
    assert [row[2] for row in together["dead_letters"]] == [3, 7, 11]


async def test_a_batch_repeated_whole_changes_nothing_and_announces_what_was_not_alerted(
    two_stores: tuple[PostgresBatchStore, ...],
) -> None:
    batch: list[SurveyResponse | Failure] = [
        response("a", 1, "Rude agent"),
        response("b", 9),
        failure(1),
    ]
    together, _ = two_stores
    first = await together.save(batch, code_all)
    rows = await tables(together)
    await together.mark_alerted([first[0].case.case_id])

    assert await together.save(batch, code_all) == []  # its alert was confirmed
    assert await tables(together) == {
        **rows,
        "cases": [(*row[:-1], False) for row in rows["cases"]],
    }


def test_the_router_codes_a_batch_in_order_and_anything_else_on_the_spot() -> None:
    """A batch is coded in one call (the model's vectors at once), one result per response in
    order; a response the store asks about that was not in it (a merged revision) still gets
    coded."""
    responses = [response("x", 1, "Rude agent"), response("y", 10)]
    router = RecoveryRouter.__new__(RecoveryRouter)
    router._taxonomy = TAXONOMY
    router._queue_rules = QueueRules()
    coder = router._code_batch(responses)
    assert coder(responses) == code_all(responses)
    merged = response("x", 2, "Rude agent, and I waited an hour")
    assert coder([merged, responses[1]]) == code_all([merged, responses[1]])


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Chatham"])
async def test_summaries_read_as_json_equal_the_per_case_read_in_any_session_time_zone(
    two_stores: tuple[PostgresBatchStore, ...], zone: str
) -> None:
    """``bulk_store.case_summaries`` reads each row as one JSON text; what it gives, and the
    alert bytes built from it, are what ``store.case_summary`` (columns, asyncpg's codecs)
    gives for the same case, whatever offset the session writes timestamps with."""
    store = two_stores[0]
    batch: list[SurveyResponse | Failure] = [
        response("rude", 1, "The agent was rude and the bill is wrong é ✓"),
        response("silent", 0, submitted_at=T0 - timedelta(hours=2)),
        response("quoted", 4, 'He said "no refunds"\\n then hung up'),
    ]
    changes = await store.save(batch, code_all)
    ids = [change.case.case_id for change in changes]
    assert len(ids) == 3
    async with store._pool.acquire() as conn:
        await conn.execute(f"SET TimeZone = '{zone}'")
        try:
            as_json = await case_summaries(conn, ids)
            by_columns = {case_id: await case_summary(conn, case_id) for case_id in ids}
        finally:
            await conn.execute("RESET TimeZone")
    assert as_json == by_columns
    for case_id in ids:
        assert as_json[case_id].model_dump_json() == by_columns[case_id].model_dump_json()
        alerts = [
            RecoveryCaseOpened(case=summary, event_id=str(case_id), occurred_at=T0).to_bytes()
            for summary in (as_json[case_id], by_columns[case_id])
        ]
        assert alerts[0] == alerts[1]
        assert as_json[case_id].received_at.utcoffset() == timedelta(0)
    assert as_json[ids[1]].submitted_at == T0 - timedelta(hours=2)
