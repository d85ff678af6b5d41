"""Lookups of a case by id alone read its month first (``winback_shared.case_months``,
migration 0038): each rewritten lookup finds exactly what a read by id alone finds, with cases
in many months, and its plan scans one partition of ``recovery_cases`` and of
``survey_responses``, the others pruned at run time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from winback_notifier.cases import audit
from winback_notifier.cases import service as cases
from winback_notifier.cases.rules import CaseRefused
from winback_notifier.outcomes import service as outcomes
from winback_notifier.reports import export
from winback_notifier.reports import service as reports
from winback_notifier.sla.startup import fill_missing_deadlines
from winback_notifier.story import service as story
from winback_notifier.story.service import _triggering
from winback_router.bulk_store import (
    SUMMARIES,
    FirstDelivery,
    case_summaries,
    store_first_deliveries,
    summary_in_utc,
)
from winback_router.coding import code_response
from winback_router.decision import decide
from winback_router.store import case_summary, mark_alerted
from winback_shared.agents import Agent, Role, issue_token
from winback_shared.case_changes import append_change
from winback_shared.case_months import CaseView, read_case
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.customer_match import MatchRule
from winback_shared.db import Connection, create_pool
from winback_shared.deadlines import ContactPolicy
from winback_shared.events.case_events import CaseCard
from winback_shared.events.recovery_alerts import CaseSummary
from winback_shared.migrations import apply_migrations
from winback_shared.partitions import ensure_partitions
from winback_shared.retention.plan import month_start
from winback_shared.survey import Customer, Score, ScoreKind, SurveyResponse
from winback_shared.taxonomy import load_taxonomy

NOW = datetime.now(UTC)
MONTHS = 7
"""Months of cases kept: this month and six before it (plus the months made ahead)."""

_SEED = """
WITH r AS (
    INSERT INTO survey_responses (source, response_id, receipt_id, vendor, received_at, customer,
                                  interaction, scores, chosen_reasons, follow_up_requested,
                                  codes, needs_recovery)
    SELECT 'survey', 'r-' || n, 'r-' || n, 'generic', m.at - interval '40 days', '{}', '{}',
           '[]', '[]', n % 2 = 0,
           jsonb_build_array(jsonb_build_object('code', 'c' || n, 'label', 'C', 'evidence', '',
                                                'method', 'rule')), true
    FROM unnest($1::timestamptz[]) WITH ORDINALITY AS m(at, n)
    RETURNING id, received_at, response_id, source
), keys AS (  -- as the router stores them: matching finds a response's month there
    INSERT INTO response_keys (source, response_id, survey_response_id, received_at)
    SELECT source, response_id, id, received_at FROM r
)
INSERT INTO recovery_cases (survey_response_id, response_received_at, priority, queue, opened_at)
SELECT id, received_at, 2, 'default', received_at + interval '40 days' FROM r
"""


def openings() -> list[datetime]:
    """Two cases in each month kept, each with its response received the month before (a
    case's response month is not its own, as for a case opened by a later revision)."""
    return [
        month_start(NOW, back) + timedelta(days=day, hours=9)
        for back in range(MONTHS)
        for day in (2, 11)
    ]


@pytest.fixture
async def pool(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(schema_url, max_size=4)
    try:
        async with created.acquire() as conn:
            await apply_migrations(conn)
        yield created
    finally:
        await created.close()


@pytest.fixture
async def case_ids(pool: asyncpg.Pool) -> list[int]:
    """The cases' ids, latest opening first."""
    await pool.execute(_SEED, openings())
    async with pool.acquire() as conn:
        await ensure_partitions(conn)  # the past months' rows move out of DEFAULT
        await conn.execute("ANALYZE")
    assert await pool.fetchval("SELECT count(DISTINCT tableoid) FROM recovery_cases") == MONTHS
    rows = await pool.fetch("SELECT id FROM recovery_cases ORDER BY opened_at DESC")
    return [row["id"] for row in rows]


@pytest.fixture
async def supervisor(pool: asyncpg.Pool) -> Agent:
    async with pool.acquire() as conn:
        agent, _ = await issue_token(conn, name="sam", role=Role.SUPERVISOR)
    return agent


MISSING = 10**12


# ---- the same answers as by id alone ------------------------------------------------------


async def test_a_case_read_in_its_months_is_the_case_read_by_id_alone(
    pool: asyncpg.Pool, case_ids: list[int]
) -> None:
    for view in CaseView:
        for case_id in [*case_ids, MISSING]:
            by_id = await pool.fetchrow(f"SELECT * FROM {view} WHERE case_id = $1", case_id)
            found = await read_case(pool, view, case_id)
            assert (found and dict(found)) == (by_id and dict(by_id)), (view, case_id)
    with pytest.raises(TypeError):
        await read_case(pool, "case_cards", case_ids[0])  # type: ignore[arg-type]


async def test_a_data_fix_of_either_month_is_followed(
    pool: asyncpg.Pool, case_ids: list[int]
) -> None:
    """The owner backdates a case's opening and its response's receipt (rows move to other
    partitions): the case's key and the case's response_received_at follow, so the read in its
    months still finds it."""
    moved = case_ids[2]
    await pool.execute(
        "UPDATE recovery_cases SET opened_at = opened_at - interval '2 months' WHERE id = $1",
        moved,
    )
    await pool.execute(
        "UPDATE survey_responses SET received_at = received_at - interval '1 month'"
        " WHERE id = (SELECT survey_response_id FROM recovery_cases WHERE id = $1)",
        moved,
    )
    for view in CaseView:
        by_id = await pool.fetchrow(f"SELECT * FROM {view} WHERE case_id = $1", moved)
        found = await read_case(pool, view, moved)
        assert by_id is not None and found is not None
        assert dict(found) == dict(by_id)


async def test_the_notifiers_card_and_the_routers_summary_match_by_id_alone(
    pool: asyncpg.Pool, case_ids: list[int], supervisor: Agent
) -> None:
    async with pool.acquire() as conn:
        for case_id in case_ids:
            card_row = await conn.fetchrow("SELECT * FROM case_cards WHERE case_id = $1", case_id)
            summary_row = await conn.fetchrow(
                "SELECT * FROM case_summaries WHERE case_id = $1", case_id
            )
            assert card_row is not None and summary_row is not None
            assert await cases.get_card(conn, supervisor, case_id) == CaseCard.model_validate(
                dict(card_row)
            )
            assert await case_summary(conn, case_id) == CaseSummary.model_validate(
                dict(summary_row)
            )
        with pytest.raises(CaseRefused) as refused:
            await cases.get_card(conn, supervisor, MISSING)
    assert refused.value.status == 404


async def test_the_workflows_lock_and_change_find_the_case_in_any_month(
    pool: asyncpg.Pool, case_ids: list[int], supervisor: Agent
) -> None:
    async with pool.acquire() as conn:
        for case_id in case_ids:
            async with conn.transaction():
                state = await cases.lock_case(conn, case_id)
                assert (state.case_id, state.status, state.queue) == (case_id, "open", "default")
            change = await cases.claim(conn, case_id=case_id, actor=supervisor)
            by_id = await conn.fetchrow("SELECT * FROM case_cards WHERE case_id = $1", case_id)
            assert by_id is not None
            assert change.card == CaseCard.model_validate(dict(by_id))
            assert (change.card.owner, change.card.seq, change.entry.seq) == ("sam", 2, 2)
            review = await cases.review_reasons(
                conn,
                case_id=case_id,
                actor=supervisor,
                codes=(),
                follow_up_requested=False,
                note="checked",
            )
            coded = await conn.fetchval(
                "SELECT r.codes -> 0 ->> 'code' FROM recovery_cases c"
                " JOIN survey_responses r ON r.id = c.survey_response_id WHERE c.id = $1",
                case_id,
            )
            assert review.entry.data["coded"] == [coded]
        async with conn.transaction():
            with pytest.raises(CaseRefused):
                await cases.lock_case(conn, MISSING)
        # Every change went to its own case and nowhere else.
        seqs = await conn.fetch("SELECT id, seq FROM recovery_cases ORDER BY id")
        assert [(r["id"], r["seq"]) for r in seqs] == [(i, 3) for i in sorted(case_ids)]
        with pytest.raises(LookupError):
            await append_change(conn, MISSING, kind=HistoryKind.REVISED, actor="sam", data={})


async def test_the_story_deadlines_and_alert_marks_reach_every_month(
    pool: asyncpg.Pool, case_ids: list[int]
) -> None:
    async with pool.acquire() as conn:
        for case_id in case_ids:
            by_id = await conn.fetchrow(
                "SELECT r.id, r.received_at FROM recovery_cases c"
                " JOIN survey_responses r ON r.id = c.survey_response_id WHERE c.id = $1",
                case_id,
            )
            assert by_id is not None
            found = await _triggering(conn, case_id)
            assert (found["id"], found["received_at"]) == (by_id["id"], by_id["received_at"])
        async with conn.transaction():
            assert await fill_missing_deadlines(conn, ContactPolicy()) == len(case_ids)
        assert await conn.fetchval(
            "SELECT count(*) FROM recovery_cases WHERE contact_due_at > opened_at"
        ) == len(case_ids)

        # The router marks a batch's alerts: every case named, in whatever month, and no other.
        named = case_ids[::3]
        await mark_alerted(conn, named)
        alerted = await conn.fetch(
            "SELECT id FROM recovery_cases WHERE alerted_at IS NOT NULL ORDER BY id"
        )
        assert [r["id"] for r in alerted] == sorted(named)
        await mark_alerted(conn, [])

        # An attempt inserted by case id alone gets the case's opening from its key (0038).
        oldest = case_ids[-1]
        agent, _ = await issue_token(conn, name="ana", role=Role.AGENT)
        await conn.execute(
            "INSERT INTO contact_attempts (case_id, agent_id, channel, reached, note)"
            " VALUES ($1, $2, 'phone', false, '')",
            oldest,
            agent.id,
        )
        assert await conn.fetchval(
            "SELECT a.case_opened_at = c.opened_at FROM contact_attempts a"
            " JOIN recovery_cases c ON c.id = a.case_id WHERE a.case_id = $1",
            oldest,
        )


# ---- one partition scanned -----------------------------------------------------------------

_SCAN = re.compile(
    r"(?:Seq Scan|Index Scan using \S+|Index Only Scan using \S+|Bitmap Heap Scan|Tid Scan)"
    r" on ((?:recovery_cases|survey_responses)_(?:p\d{6}|default))\b"
)


async def partitions_scanned(
    conn: Connection, query: str, args: Sequence[Any]
) -> dict[str, tuple[set[str], set[str]]]:
    """For each partitioned table, the partitions the statement's plan holds and those it
    actually scanned (the rest: "never executed"). Run with ``EXPLAIN ANALYZE`` in a
    transaction rolled back, so a statement that writes leaves nothing behind."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        plan = await conn.fetch(
            f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {query}", *args
        )
    finally:
        await transaction.rollback()
    return scans_in([line for (line,) in plan])


def scans_in(plan: Sequence[str]) -> dict[str, tuple[set[str], set[str]]]:
    """The partitions a plan's lines hold and those it scanned, by partitioned table."""
    found: dict[str, tuple[set[str], set[str]]] = {
        "recovery_cases": (set(), set()),
        "survey_responses": (set(), set()),
    }
    for line in plan:
        match = _SCAN.search(line)
        if match:
            partition = match[1]
            planned, scanned = found[partition.rsplit("_", 1)[0]]
            planned.add(partition)
            if "never executed" not in line:
                scanned.add(partition)
    return found


class Statements:
    """The statements a connection ran, as asyncpg's query logger saw them."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, tuple[Any, ...]]] = []

    def __call__(self, record: Any) -> None:
        self.seen.append((record.query, tuple(record.args or ())))

    def naming(self, fragment: str) -> tuple[str, tuple[Any, ...]]:
        """The first statement whose text holds ``fragment``."""
        found = [(q, a) for q, a in self.seen if fragment in q]
        assert found, f"no statement holds {fragment!r}: {[q for q, _ in self.seen]}"
        return found[0]


async def test_each_rewritten_lookup_scans_one_month(
    pool: asyncpg.Pool, case_ids: list[int], supervisor: Agent
) -> None:
    case_id = case_ids[5]  # a case two months back, its response three months back
    month = await pool.fetchrow(
        "SELECT tableoid::regclass::text AS case_part,"
        " (SELECT tableoid::regclass::text FROM survey_responses r"
        "  WHERE r.id = c.survey_response_id) AS response_part"
        " FROM recovery_cases c WHERE c.id = $1",
        case_id,
    )
    assert month is not None
    statements = Statements()
    async with pool.acquire() as conn:
        conn.add_query_logger(statements)
        await cases.get_card(conn, supervisor, case_id)
        await cases.claim(conn, case_id=case_id, actor=supervisor)
        await case_summary(conn, case_id)
        await _triggering(conn, case_id)
        await mark_alerted(conn, [case_id, case_ids[4]])
        await asyncio.sleep(0.1)  # asyncpg calls its query loggers soon after, not at once
        conn.remove_query_logger(statements)

        looked_up = {
            "card": statements.naming("FROM case_cards"),
            "summary": statements.naming("FROM case_summaries"),
            "lock": statements.naming("FOR UPDATE"),
            "change": statements.naming("UPDATE recovery_cases SET seq"),
            "story": statements.naming("answered_at"),
            "alerted": statements.naming("SET alerted_at"),
        }
        # What this measures: by id alone, the same read probes every month's partition.
        by_id = await partitions_scanned(
            conn, "SELECT * FROM case_cards WHERE case_id = $1", (case_id,)
        )
        assert len(by_id["recovery_cases"][1]) > MONTHS
        for name, (query, args) in looked_up.items():
            scans = await partitions_scanned(conn, query, args)
            planned, scanned = scans["recovery_cases"]
            assert len(planned) > MONTHS, (name, planned)  # pruned at run time, not planned out
            assert scanned == {month["case_part"]}, (name, scanned)
            planned, scanned = scans["survey_responses"]
            if name in ("card", "summary", "story"):  # the statements that read the response
                assert scanned == {month["response_part"]}, (name, scanned)


# ---- lookups of several cases by their ids (follow-up) -------------------------------------


SUMMARIES_BY_ID_ALONE = (
    "SELECT case_id, row_to_json(s)::text AS summary FROM case_summaries s"
    " WHERE case_id = ANY($1::bigint[])"
)
"""``bulk_store.case_summaries`` as it read before: by id alone, every month probed."""


async def summaries_by_id_alone(
    conn: Connection, case_ids: Sequence[int]
) -> dict[int, CaseSummary]:
    """The summaries of these cases read by id alone, by case id."""
    rows = await conn.fetch(SUMMARIES_BY_ID_ALONE, list(case_ids))
    return {row["case_id"]: summary_in_utc(row["summary"]) for row in rows}


async def test_a_batchs_summaries_read_in_their_months_match_by_id_alone(
    pool: asyncpg.Pool, case_ids: list[int]
) -> None:
    """The router's summaries of a batch's cases (``bulk_store.case_summaries``): the same as
    by id alone, for lists of one month, of several, of all, with an id of no case, empty."""
    lists = [
        case_ids,
        [*case_ids, MISSING],
        case_ids[4:6],
        case_ids[1::4],
        [case_ids[-1], case_ids[0]],
        [MISSING],
        [],
    ]
    async with pool.acquire() as conn:
        for named in lists:
            expected = await summaries_by_id_alone(conn, named)
            assert await case_summaries(conn, named) == expected, named
            assert set(expected) == set(named) - {MISSING}


async def test_a_batchs_summaries_scan_their_months_alone(
    pool: asyncpg.Pool, case_ids: list[int]
) -> None:
    named = case_ids[4:6]  # two cases two months back, their responses earlier
    parts = await pool.fetch(
        "SELECT c.tableoid::regclass::text AS case_part,"
        " r.tableoid::regclass::text AS response_part"
        " FROM recovery_cases c JOIN survey_responses r ON r.id = c.survey_response_id"
        " WHERE c.id = ANY($1::bigint[])",
        named,
    )
    case_parts = {row["case_part"] for row in parts}
    assert len(case_parts) == 1
    async with pool.acquire() as conn:
        by_id = await partitions_scanned(conn, SUMMARIES_BY_ID_ALONE, (named,))
        assert len(by_id["recovery_cases"][1]) > MONTHS
        scans = await partitions_scanned(conn, SUMMARIES, (named,))
    planned, scanned = scans["recovery_cases"]
    assert len(planned) > MONTHS, planned  # pruned at run time, not planned out
    assert scanned == case_parts
    assert scans["survey_responses"][1] == {row["response_part"] for row in parts}


async def test_a_batchs_new_cases_summaries_are_read_in_their_months(
    pool: asyncpg.Pool, case_ids: list[int]
) -> None:
    """``router_store_first_deliveries`` returns its new cases' summaries as by id alone, read
    (its plan, from ``auto_explain``) in this month's partition of cases and the responses'
    month's of responses."""
    taxonomy = load_taxonomy()
    received = month_start(NOW, 1) + timedelta(days=3)
    deliveries = []
    for n in range(3):
        response = SurveyResponse(
            source="survey",
            response_id=f"new-{n}",
            receipt_id=f"new-{n}",
            vendor="generic",
            received_at=received + timedelta(hours=n),
            customer=Customer(id=f"c-new-{n}"),
            scores=[Score(kind=ScoreKind.NPS, value=n, scale_min=0, scale_max=10)],
            comment="The agent was rude and hung up",
        )
        reasons = code_response(response, taxonomy)
        decision = decide(response, reasons)
        assert decision.needs_recovery
        deliveries.append(FirstDelivery(response, b"d" * 32, reasons, decision, "default"))
    notices: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;"
            " SET auto_explain.log_analyze = on; SET auto_explain.log_timing = off;"
            " SET auto_explain.log_nested_statements = on;"
            " SET auto_explain.log_level = notice"
        )

        def listen(_conn: Any, message: Any) -> None:
            notices.append(str(message))

        conn.add_log_listener(listen)
        try:
            stored = await store_first_deliveries(conn, deliveries, ContactPolicy())
        finally:
            conn.remove_log_listener(listen)
            await conn.execute("RESET ALL")
        assert len(stored.opened) == 3
        new_ids = [summary.case_id for summary in stored.opened.values()]
        assert {s.case_id: s for s in stored.opened.values()} == await summaries_by_id_alone(
            conn, new_ids
        )
        month = await conn.fetchrow(
            "SELECT min(c.tableoid::regclass::text) AS case_part,"
            " min(r.tableoid::regclass::text) AS response_part"
            " FROM recovery_cases c JOIN survey_responses r ON r.id = c.survey_response_id"
            " WHERE c.id = ANY($1::bigint[])",
            new_ids,
        )
    assert month is not None
    plans = [text for text in notices if "row_to_json(s)" in text and "LEFT JOIN" in text]
    assert len(plans) == 1, notices
    scans = scans_in(plans[0].splitlines())
    # Pruned before any scan (a plan of the function's: "Subplans Removed"), not probed by id.
    assert scans["recovery_cases"] == ({month["case_part"]}, {month["case_part"]})
    assert scans["survey_responses"] == ({month["response_part"]}, {month["response_part"]})


# ---- the story's repeat marks and claiming together: each case in its own month -----------

STORY_BY_ID_ALONE = {
    "marks": (
        "SELECT c.id AS case_id, c.queue, r.id FROM recovery_cases c"
        " JOIN survey_responses r ON r.id = c.survey_response_id"
        " WHERE c.id = ANY($1::bigint[]) ORDER BY c.id"
    ),
    "claim": (
        "SELECT c.id, c.status, c.owner_id, c.survey_response_id FROM recovery_cases c"
        " WHERE c.id = ANY($1::bigint[]) ORDER BY c.id"
    ),
}
"""The story's two reads of several cases as they read before: by id alone, every month
probed."""


async def story_reads(conn: Connection, supervisor: Agent, named: list[int]) -> Statements:
    """The statements the story's repeat marks and claiming together ran for ``named`` (two
    cases or more)."""
    statements = Statements()
    conn.add_query_logger(statements)
    await story.repeat_marks(
        conn, agent=supervisor, case_ids=named, rule=MatchRule(), repeat_window=timedelta(90)
    )
    # The seeded responses name no customer, so a linked case is refused after the read.
    with pytest.raises(CaseRefused, match="not another case of this customer"):
        await story.claim_together(
            conn, case_id=named[0], linked=named[1:], actor=supervisor, rule=MatchRule()
        )
    await asyncio.sleep(0.1)  # asyncpg calls its query loggers soon after, not at once
    conn.remove_query_logger(statements)
    return statements


async def test_the_storys_reads_of_several_cases_match_by_id_alone(
    pool: asyncpg.Pool, case_ids: list[int], supervisor: Agent
) -> None:
    """The rewritten statements, run over cases in every month and an id of no case, return
    the rows read by id alone."""
    async with pool.acquire() as conn:
        statements = await story_reads(conn, supervisor, case_ids[:2])
        read = {
            "marks": statements.naming("FROM case_keys k")[0],
            "claim": statements.naming("FOR UPDATE OF c")[0],
        }
        named = [MISSING, *case_ids[::-1]]
        for name, query in read.items():
            async with conn.transaction():
                rows = await conn.fetch(query, named)
                before = await conn.fetch(STORY_BY_ID_ALONE[name], named)
            columns = list(before[0].keys())
            assert [[row[c] for c in columns] for row in rows] == [
                list(row.values()) for row in before
            ], name
            assert len(rows) == len(case_ids), name


async def test_the_storys_reads_of_several_cases_scan_their_months_alone(
    pool: asyncpg.Pool, case_ids: list[int], supervisor: Agent
) -> None:
    """Two cases, two months apart: each is read in its own month's partition, the other
    months planned but never executed (pruned at run time, per case)."""
    named = [case_ids[1], case_ids[5]]
    months = await pool.fetch(
        "SELECT DISTINCT c.tableoid::regclass::text AS case_part,"
        " r.tableoid::regclass::text AS response_part FROM recovery_cases c"
        " JOIN survey_responses r ON r.id = c.survey_response_id WHERE c.id = ANY($1::bigint[])",
        named,
    )
    assert len(months) == 2
    # Months of some size (2,000 cases each, not two): the planner then probes each case's
    # month by its key, as with real months, rather than hashing every partition of two rows
    # (it already probes at 400 a month, still hashes at 200).
    await pool.execute(
        _SEED.replace("'r-' || n", "'more-' || n"),
        [at + timedelta(minutes=n) for at in openings() for n in range(1000)],
    )
    await pool.execute("ANALYZE")
    async with pool.acquire() as conn:
        statements = await story_reads(conn, supervisor, named)
        read = {
            "marks": statements.naming("FROM case_keys k"),
            "claim": statements.naming("FOR UPDATE OF c"),
        }
        by_id = await partitions_scanned(conn, STORY_BY_ID_ALONE["claim"], (named,))
        assert len(by_id["recovery_cases"][1]) > MONTHS  # what this avoids
        for name, (query, args) in read.items():
            scans = await partitions_scanned(conn, query, args)
            planned, scanned = scans["recovery_cases"]
            assert len(planned) > MONTHS, (name, planned)
            assert scanned == {m["case_part"] for m in months}, (name, scanned)
            if name == "marks":  # the statement that reads the responses
                assert scans["survey_responses"][1] == {m["response_part"] for m in months}


# ---- the audit check, the reports, the repeat marks and the outcomes: month first too -------


async def test_the_audit_check_of_one_case_finds_what_the_whole_check_finds_for_it(
    pool: asyncpg.Pool, case_ids: list[int]
) -> None:
    """``audit verify --case``: the case read in its month gives the links the check over
    every case gives for it (one case made to lack its latest rows)."""
    truncated = case_ids[5]
    await pool.execute("UPDATE recovery_cases SET seq = seq + 3 WHERE id = $1", truncated)
    async with pool.acquire() as conn:
        everything = await audit.broken_links(conn)
        assert truncated in {link.case_id for link in everything}
        for case_id in [*case_ids, MISSING]:
            expected = [link for link in everything if link.case_id == case_id]
            assert await audit.broken_links(conn, case_id) == expected, case_id


async def busier_months(pool: asyncpg.Pool) -> None:
    """Months of some size (2,000 cases each, not two), as the story's test seeds them: the
    planner then joins as it would on real months."""
    await pool.execute(
        _SEED.replace("'r-' || n", "'more-' || n"),
        [at + timedelta(minutes=n) for at in openings() for n in range(1000)],
    )
    await pool.execute("ANALYZE")


async def months_of(pool: asyncpg.Pool, where: str, *args: Any) -> tuple[set[str], set[str]]:
    """The partitions holding the cases ``where`` selects (``c``) and those of their responses."""
    rows = await pool.fetch(
        "SELECT c.tableoid::regclass::text AS case_part,"
        " r.tableoid::regclass::text AS response_part"
        " FROM recovery_cases c JOIN survey_responses r ON r.id = c.survey_response_id"
        f" WHERE {where}",
        *args,
    )
    return {row["case_part"] for row in rows}, {row["response_part"] for row in rows}


async def test_the_audit_check_of_one_case_scans_its_month(
    pool: asyncpg.Pool, case_ids: list[int]
) -> None:
    case_id = case_ids[5]
    case_months, _ = await months_of(pool, "c.id = $1", case_id)
    async with pool.acquire() as conn:
        scans = await partitions_scanned(conn, audit._check(one_case=True), (case_id,))
    planned, scanned = scans["recovery_cases"]
    assert len(planned) > MONTHS  # pruned at run time, not planned out
    assert scanned == case_months


EXPORT_BY_ID_ALONE = (
    "SELECT count(*) FROM recovery_cases c JOIN survey_responses r ON r.id = c.survey_response_id"
    " WHERE c.opened_at >= $1 AND c.opened_at < $2"
)
"""The export's count as it read before: each case's response by id alone."""


async def test_a_reports_window_reads_the_responses_of_its_cases_months_alone(
    pool: asyncpg.Pool, case_ids: list[int], supervisor: Agent
) -> None:
    """The export, the SLA report and the reasons trend over one month of openings: the cases
    of that month, their responses in the months they were received (two, 40 days back), the
    other months never scanned; joined by id alone, every month's responses were."""
    await busier_months(pool)
    since, until = month_start(NOW, 3), month_start(NOW, 2)
    case_months, response_months = await months_of(
        pool, "c.opened_at >= $1 AND c.opened_at < $2", since, until
    )
    assert len(case_months) == 1 and len(response_months) < MONTHS
    statements = Statements()
    async with pool.acquire() as conn:
        conn.add_query_logger(statements)
        where = export.ExportFilter(since=since, until=until)
        assert await export.count_cases(conn, where) == len(
            await conn.fetch(
                "SELECT id FROM recovery_cases WHERE opened_at >= $1 AND opened_at < $2",
                since,
                until,
            )
        )
        await reports.sla_report(
            conn, since=since, until=until, by=reports.SlaDimension.QUEUE, targets_minutes={2: 15}
        )
        await reports.root_cause_trends(
            conn, since=since, until=until, by=reports.TrendGranularity.MONTH
        )
        await asyncio.sleep(0.1)  # asyncpg calls its query loggers soon after, not at once
        conn.remove_query_logger(statements)
        read = {
            "export": statements.naming("SELECT count(*)"),
            "sla": statements.naming("WITH targets"),
            "trend": statements.naming("count(DISTINCT c.id)"),
        }
        before = await partitions_scanned(conn, EXPORT_BY_ID_ALONE, (since, until))
        assert len(before["survey_responses"][1]) > MONTHS  # what this avoids
        for name, (query, args) in read.items():
            scans = await partitions_scanned(conn, query, args)
            assert scans["recovery_cases"][1] == case_months, name
            assert scans["survey_responses"][1] == response_months, name


OUTCOME_RESPONSES_BY_ID_ALONE = """
    SELECT r.id, coalesce(r.submitted_at, r.received_at) AS at, r.source, r.survey_id, r.scores,
           r.needs_recovery, c.id AS case_id, c.resolved_at
    FROM survey_responses r
    LEFT JOIN recovery_cases c ON c.survey_response_id = r.id AND c.resolved_at IS NOT NULL
    WHERE r.id = ANY($1::bigint[])
"""
"""The outcome report's read of the matched responses as it read before: by id alone."""


async def test_a_customers_matched_responses_are_read_in_their_months(
    pool: asyncpg.Pool, case_ids: list[int], supervisor: Agent
) -> None:
    """Three cases of one customer, in three months: the story's repeat mark of the latest
    counts the two earlier responses, and the outcome report's read of the three responses and
    their cases, reading each response in its month and each case in its own, scans those
    months alone; what it reads is what the read by id alone read."""
    await busier_months(pool)
    same = [case_ids[1], case_ids[5], case_ids[9]]  # latest first
    await pool.execute(
        'UPDATE survey_responses SET customer = \'{"id": "c-9"}\' WHERE id IN'
        " (SELECT survey_response_id FROM recovery_cases WHERE id = ANY($1::bigint[]))",
        same,
    )
    await pool.execute(
        "UPDATE recovery_cases SET resolved_at = now() WHERE id = ANY($1::bigint[])", same[1:]
    )
    case_months, response_months = await months_of(pool, "c.id = ANY($1::bigint[])", same)
    _, earlier_months = await months_of(pool, "c.id = ANY($1::bigint[])", same[1:])
    assert len(case_months) == len(response_months) == 3
    statements = Statements()
    async with pool.acquire() as conn:
        conn.add_query_logger(statements)
        window = timedelta(days=400)
        [mark] = await story.repeat_marks(
            conn, agent=supervisor, case_ids=same[:1], rule=MatchRule(), repeat_window=window
        )
        await asyncio.sleep(0.1)  # asyncpg calls its query loggers soon after, not at once
        conn.remove_query_logger(statements)
        assert mark.earlier == 2
        query, args = statements.naming("AS earlier")
        assert (await partitions_scanned(conn, query, args))["survey_responses"][1] == (
            earlier_months
        )

        named = await conn.fetch(
            "SELECT r.id, r.received_at FROM recovery_cases c"
            " JOIN survey_responses r ON r.id = c.survey_response_id"
            " WHERE c.id = ANY($1::bigint[]) ORDER BY r.id",
            same,
        )
        pairs = ([row["id"] for row in named], [row["received_at"] for row in named])
        rows = await conn.fetch(outcomes._RESPONSES, *pairs)
        before = await conn.fetch(OUTCOME_RESPONSES_BY_ID_ALONE, pairs[0])
        assert sorted(map(tuple, rows)) == sorted(map(tuple, before))
        assert sum(row["case_id"] is not None for row in rows) == 2  # the resolved ones
        scans = await partitions_scanned(conn, outcomes._RESPONSES, pairs)
        assert scans["survey_responses"][1] == response_months
        assert scans["recovery_cases"][1] == case_months
        by_id_alone = await partitions_scanned(conn, OUTCOME_RESPONSES_BY_ID_ALONE, pairs[:1])
        assert len(by_id_alone["recovery_cases"][1]) > MONTHS  # what this avoids

    report = await outcomes.read_outcomes(
        pool, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1), rule=MatchRule()
    )
    assert report.total.cases == 2
