"""The set-based batch store gives what storing the same deliveries one by one gave.

``PostgresBatchStore.save`` inserts a batch's first deliveries, their cases and its dead letters
with one statement per table, and merges the rest one by one. Each test here stores the same
deliveries twice on real PostgreSQL, in two fresh schemas: once as one batch, and once as one
batch per delivery (the record-by-record order the store used to follow), then compares what
each announced and what each left in the tables.

The tests at the end count the statements the store sends (docs/performance.md, section 21):
a batch of new responses is one statement, its own transaction; anything else, or business
hours, takes a transaction with the same results.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
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
from winback_router.refusals import refused_for_its_values
from winback_router.store import CaseChange, case_summary
from winback_shared.business_hours import BusinessHours
from winback_shared.db import create_pool
from winback_shared.deadlines import ContactPolicy, contact_deadline
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
    router._recovery_window = None
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


ASYNCPG_OWN = ("WITH RECURSIVE typeinfo_tree", "SELECT current_setting('jit')", "SELECT set_config")
"""asyncpg's type introspection, once per connection for a statement with new types."""


CALL = "SELECT * FROM router_store_first_deliveries"


class Counting:
    """A pool that notes every statement its connections send (BEGIN and COMMIT too), but for
    asyncpg's one-off type introspection."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.statements: list[str] = []

    def _log(self, record: Any) -> None:
        statement = " ".join(record.query.split())
        if not statement.startswith(ASYNCPG_OWN):
            self.statements.append(statement.split("(")[0])  # enough to tell them apart

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        async with self._pool.acquire() as conn:
            conn.add_query_logger(self._log)
            try:
                yield conn
            finally:
                conn.remove_query_logger(self._log)


def counted(store: PostgresBatchStore, policy: ContactPolicy | None = None) -> Counting:
    """Count ``store``'s statements from now on (and give it ``policy``, if any)."""
    counting = Counting(store._pool)
    store._pool = counting  # type: ignore[assignment]
    if policy is not None:
        store._contact_policy = policy
    return counting


FRACTIONAL = ContactPolicy(
    targets={1: timedelta(minutes=0.1), 2: timedelta(minutes=15.5), 3: timedelta(hours=4)}
)
"""Targets down to the microsecond's exactness (6 s, 15 min 30 s); priority 4 gets none."""


async def deadlines(store: PostgresBatchStore, policy: ContactPolicy) -> list[tuple[Any, ...]]:
    """Each case's stored deadline next to the one ``contact_deadline`` gives for it."""
    async with store._pool.acquire() as conn:
        rows = await conn.fetch("SELECT priority, opened_at, contact_due_at FROM recovery_cases")
    return [
        (row["contact_due_at"], contact_deadline(policy, row["opened_at"], row["priority"]))
        for row in rows
    ]


async def test_a_batch_of_new_responses_is_one_statement_and_its_stamp_another(
    two_stores: tuple[PostgresBatchStore, ...],
) -> None:
    store = two_stores[0]
    counting = counted(store, FRACTIONAL)
    batch: list[SurveyResponse | Failure] = [
        response("a", 1, "The agent was rude"),
        response("b", 9),
        response("c", 0, "Billing charged me twice"),
        response("d", 6),
    ]
    changes = await store.save(batch, code_all)
    assert counting.statements == [CALL]
    assert [c.case.response_id for c in changes] == ["a", "c", "d"]
    await store.mark_alerted([c.case.case_id for c in changes])
    assert len(counting.statements) == 2
    await store.mark_alerted([])  # a batch that opened no case: nothing to stamp
    assert len(counting.statements) == 2
    found = await deadlines(store, FRACTIONAL)
    assert len(found) == 3 and all(stored == expected for stored, expected in found), found


async def test_new_responses_with_one_stored_before_write_nothing_then_merge_in_a_transaction(
    two_stores: tuple[PostgresBatchStore, ...],
) -> None:
    """The one statement refuses a batch holding a response already stored (SQLSTATE WBR01,
    nothing written, not even the new ones); the transaction then stores it as one by one
    would, the earlier response's revision included."""
    before: list[SurveyResponse | Failure] = [response("old", 9)]
    batch: list[SurveyResponse | Failure] = [
        response("new", 2, "Nobody called me back"),
        response("old", 3, "Actually the refund never came"),
        response("newer", 8),
    ]
    counting = counted(two_stores[0])
    at_once, in_turn = await store_both_ways(two_stores, before, batch)
    saved = counting.statements[1:]  # the first is ``before``'s
    assert saved[:3] == [CALL, "BEGIN;", CALL]
    assert saved[-1] == "COMMIT;"
    assert announced(at_once) == announced(in_turn)
    assert [c.case.response_id for c in at_once] == ["new", "old"]
    assert await tables(two_stores[0]) == await tables(two_stores[1])


async def test_a_batch_with_a_dead_letter_or_a_repeat_within_it_takes_the_transaction(
    two_stores: tuple[PostgresBatchStore, ...],
) -> None:
    batches: list[list[SurveyResponse | Failure]] = [
        [response("p", 1, "Rude"), failure(4)],
        [response("q", 1, "Rude"), response("q", 2, "Rude and slow")],
    ]
    for batch in batches:
        counting = counted(two_stores[0])
        await two_stores[0].save(batch, code_all)
        assert counting.statements[0] == "BEGIN;" and counting.statements[-1] == "COMMIT;"
        two_stores[0]._pool = counting._pool


@pytest.mark.parametrize("hours", [False, True], ids=["around the clock", "business hours"])
async def test_deadlines_are_contact_deadlines_on_either_way(
    two_stores: tuple[PostgresBatchStore, ...],
    hours: bool,
) -> None:
    """Without business hours PostgreSQL adds the target to now(); with them the function opens
    no case and Python opens them, in the same transaction, at the now() it returned."""
    policy = ContactPolicy(
        targets=FRACTIONAL.targets,
        hours=BusinessHours(timezone="Europe/Paris", hours={"tue": ["03:00-03:01"]})
        if hours
        else None,
    )
    store = two_stores[0]
    counting = counted(store, policy)
    batch: Sequence[SurveyResponse | Failure] = [
        response("x", 0, "The agent was rude and hung up"),
        response("y", 5),
        response("z", 6),
    ]
    changes = await store.save(batch, code_all)
    assert len(changes) == 3
    found = await deadlines(store, policy)
    assert len(found) == 3 and all(stored == expected for stored, expected in found), found
    assert {c.case.contact_due_at for c in changes} == {stored for stored, _ in found}
    assert (counting.statements[0] == "BEGIN;") is hours


async def test_a_pool_without_the_reset_query_sends_nothing_on_release(
    database_url: str,
) -> None:
    """``create_pool(reset_session=False)`` (the router's batch store): no statement when a
    connection goes back to the pool; the default pool sends asyncpg's reset query."""
    for reset_session, sent in ((False, ["SELECT 1"]), (True, ["SELECT 1", "reset"])):
        pool = await create_pool(database_url, min_size=1, max_size=1, reset_session=reset_session)
        try:
            statements: list[str] = []
            async with pool.acquire() as conn:
                conn.add_query_logger(lambda record, sent=statements: sent.append(record.query))
                reset = conn.get_reset_query()
                await conn.execute("SELECT 1")
            assert [("reset" if q == reset else q) for q in statements] == sent
        finally:
            await pool.close()


@pytest.mark.parametrize(
    "comment",
    ["half an emoji \ud83d", "a low half \udc00 first"],
)
async def test_a_value_postgresql_cannot_hold_fails_the_batch_as_a_refusal(
    two_stores: tuple[PostgresBatchStore, ...], comment: str
) -> None:
    """What ``RecoveryRouter`` stores record by record, dead-lettering the one refused
    (``refusals``; the loop's side is in ``tests/unit/test_router_batches.py``): the real store
    refuses the whole batch, and with an error of that kind. The adapters no longer let this
    value through; it stands for the next one not yet known."""
    store, _ = two_stores
    batch = [response("fine", 1, "nobody called back"), response("refused", 1, comment)]
    with pytest.raises(Exception) as raised:
        await store.save(batch, code_all)
    assert refused_for_its_values(raised.value), repr(raised.value)
    assert (await tables(store))["responses"] == []  # all or nothing
    await store.save(batch[:1], code_all)
    assert [row[0] for row in (await tables(store))["responses"]] == ["fine"]


async def test_a_lost_connection_is_not_a_refusal(database_url: str) -> None:
    """A transient failure is retried in place, never dead-lettered record by record."""
    connection = await asyncpg.connect(database_url)
    try:
        with pytest.raises(Exception) as raised:
            await connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    finally:
        await connection.close()
    assert not refused_for_its_values(raised.value), repr(raised.value)
    async with asyncpg.create_pool(database_url, min_size=1, max_size=1) as pool:
        with pytest.raises(Exception) as raised:
            await pool.execute("SELECT no_such_column FROM pg_class")
    assert not refused_for_its_values(raised.value), repr(raised.value)  # the schema's fault


async def opening_triggers(store: PostgresBatchStore) -> dict[str, Any]:
    """Each case's stored triggers and its opening's history entry's, by response id."""
    async with store._pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT r.response_id, c.triggers::text AS stored,"
            " (h.data->'triggers')::text AS in_history"
            " FROM recovery_cases c JOIN survey_responses r ON r.id = c.survey_response_id"
            " JOIN case_history h ON h.case_id = c.id AND h.kind = 'opened'"
        )
    return {row["response_id"]: (row["stored"], row["in_history"]) for row in rows}


@pytest.mark.parametrize("hours", [False, True], ids=["in-sql", "business-hours"])
async def test_every_way_of_opening_a_case_keeps_why_it_has_its_priority(
    two_stores: tuple[PostgresBatchStore, ...], hours: bool
) -> None:
    """The batch function (no business hours), Python's set-based opening (business hours) and
    a revision that first needs a case (one at a time) all store the decision's triggers with
    the case and in its opening's history entry."""
    policy = ContactPolicy(
        hours=BusinessHours(timezone="UTC", hours={"mon": ["09:00-17:00"]}) if hours else None
    )
    store = two_stores[0]
    store._contact_policy = policy
    gold = Customer(id="c-gold", name="Ada", segment="Gold")
    await store.save(
        [
            response("rude", 2, "The agent was rude"),
            response("gold", 6).model_copy(update={"customer": gold}),
            response("later", 9),
        ],
        code_all,
    )
    await store.save([response("later", 9, "Please call me back")], code_all)
    expected = {
        "rude": ["nps=2", "reason=rude"],
        "gold": ["nps=6", "customer_segment=Gold"],
        "later": ["follow_up_in_comment"],
    }
    found = await opening_triggers(store)
    assert {key: json.loads(stored) for key, (stored, _) in found.items()} == expected
    assert {key: json.loads(history) for key, (_, history) in found.items()} == expected
