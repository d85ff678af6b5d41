"""Customer matching on PostgreSQL: SQL keys agree with Python's; what links and what does not."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from tests.role_support import migrate_as_owner
from winback_shared.customer_match import (
    _MATCHING_SQL,
    CustomerKeys,
    MatchRule,
    customer_keys,
    matching_responses,
)
from winback_shared.db import create_pool

KEY_CORPUS: list[object] = [
    None,
    "",
    " ",
    "n/a",
    "Unknown",
    "0",
    17,
    "c-1",
    " C-17 ",
    "dana@example.com",
    " Dana.Whitfield@Example.COM ",
    "noreply@shop.example",
    "dana@",
    "a@b@c.com",
    "da na@x.io",
    "+44 7700 900123",
    "0044 7700 900123",
    "07700 900123",
    "(07700) 900-123 ext. 12",
    "+1 (555) 010-0100 x 7",
    "555.010.0100",
    "0000000",
    "12345",
    "+",
    "\t+44 7700 900123",
    "1234567890123456",
    "+45 12 34 56 78",
    "12345678",
    "tel:+15550100100",
    "+33 6 12 34 56 78;x",
]


@pytest.fixture
async def pool(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate_as_owner(schema_url)
    pool = await create_pool(schema_url)
    try:
        yield pool
    finally:
        await pool.close()


async def store(pool: asyncpg.Pool, source: str, **customer: object) -> int:
    """A stored response of that customer (only what matching reads is meaningful), with its
    key as the router stores one (matching finds a response's month through it)."""
    row_id: int = await pool.fetchval(
        """
        WITH r AS (
            INSERT INTO survey_responses (source, response_id, receipt_id, vendor, received_at,
                customer, interaction, scores, chosen_reasons, follow_up_requested, codes,
                needs_recovery)
            VALUES ($1, $2, $2, 'generic', now(), $3, '{}', '[]', '[]', false, '[]', true)
            RETURNING id, source, response_id, received_at
        ), keys AS (
            INSERT INTO response_keys (source, response_id, survey_response_id, received_at)
            SELECT source, response_id, id, received_at FROM r
        )
        SELECT id FROM r
        """,
        source,
        f"r-{uuid4().hex[:8]}",
        customer,
    )
    return row_id


async def matches(
    pool: asyncpg.Pool, response: int, rule: MatchRule | None = None
) -> dict[int, tuple[str, ...]]:
    async with pool.acquire() as conn:
        found = await matching_responses(
            conn, survey_response_id=response, rule=rule or MatchRule()
        )
    return {match.survey_response_id: match.matched_by for match in found}


async def test_sql_keys_agree_with_python_keys(pool: asyncpg.Pool) -> None:
    for value in KEY_CORPUS:
        customer = {"id": value, "email": value, "phone": value}
        row = await pool.fetchrow(
            "SELECT customer_id_key($1::jsonb) AS id, customer_email_key($1::jsonb) AS email, "
            "customer_phone_tail($1::jsonb) AS tail, customer_phone_e164($1::jsonb) AS e164",
            customer,
        )
        assert row is not None
        in_sql = CustomerKeys(row["id"], row["email"], row["tail"], row["e164"])
        assert in_sql == customer_keys(customer), value


async def test_the_phone_index_is_rebuilt_and_finds_the_same_customer(pool: asyncpg.Pool) -> None:
    """Migration 0042's phone functions call nothing of the project's schema: PostgreSQL rebuilds
    an index with only pg_catalog on its search path, where a call to another of our functions
    would not be found (0018's tail carried a search path of its own for that)."""
    national = await store(pool, "typeform", id="t-1", phone="07700 900123")
    await store(pool, "typeform", id="t-2", phone="+1 555 010 0100")
    await store(pool, "typeform", id="t-3")
    await pool.execute("REINDEX INDEX survey_responses_customer_phone_tail_idx")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        found = await conn.fetch(
            "SELECT id FROM survey_responses "
            "WHERE customer_phone_tail(customer) = customer_phone_tail($1::jsonb)",
            {"phone": "+44 7700 900123"},
        )
    assert [row["id"] for row in found] == [national]


async def test_same_id_matches_within_a_source_and_across_only_when_configured(
    pool: asyncpg.Pool,
) -> None:
    first = await store(pool, "crm-a", id="c-9")
    again = await store(pool, "crm-a", id="c-9")
    other_source = await store(pool, "crm-b", id="c-9")
    assert await matches(pool, first) == {again: ("id",)}
    shared = MatchRule(shared_id_sources=frozenset({"crm-a", "crm-b"}))
    assert await matches(pool, first, shared) == {again: ("id",), other_source: ("id",)}


async def test_email_and_phone_link_across_sources_and_bring_that_customers_own_responses(
    pool: asyncpg.Pool,
) -> None:
    me = await store(pool, "typeform", id="t-1", email="Dana@Example.com", phone="07700 900123")
    by_email = await store(pool, "zendesk", id="z-5", email="dana@example.com ")
    same_zendesk_customer = await store(pool, "zendesk", id="z-5")
    by_phone = await store(pool, "delighted", phone="+44 (0)7700 900-123")
    stranger = await store(pool, "delighted", phone="+44 7700 900124", email="sam@example.com")
    found = await matches(pool, me)
    assert found == {by_email: ("email",), same_zendesk_customer: ("email",), by_phone: ("phone",)}
    assert stranger not in found


async def test_a_number_with_another_country_code_is_not_the_same_phone(pool: asyncpg.Pool) -> None:
    me = await store(pool, "s", phone="+44 7700 900123")
    france = await store(pool, "s", phone="+33 7700 900123")
    national = await store(pool, "s", phone="07700 900123")
    assert await matches(pool, me) == {national: ("phone",)}
    assert france not in await matches(pool, me)


async def test_a_shared_family_phone_links_nobody_but_ids_still_do(pool: asyncpg.Pool) -> None:
    mother = await store(pool, "crm", id="m-1", phone="+1 555 010 0100")
    son = await store(pool, "crm", id="s-2", phone="(555) 010-0100")
    mothers_other = await store(pool, "crm", id="m-1")
    no_id_caller = await store(pool, "web", phone="555 010 0100")
    assert await matches(pool, mother) == {mothers_other: ("id",)}
    assert await matches(pool, son) == {}
    assert await matches(pool, no_id_caller) == {}
    # Allowing two ids per number: the id-less caller links to both, yet mother and son stay apart.
    lenient = MatchRule(max_ids_per_key=2)
    assert set(await matches(pool, no_id_caller, lenient)) == {mother, son, mothers_other}
    assert son not in await matches(pool, mother, lenient)


async def test_empty_and_garbage_values_link_nothing(pool: asyncpg.Pool) -> None:
    junk = [
        await store(pool, "s", id="", email="n/a", phone="0000000"),
        await store(pool, "s", id="unknown", email="noreply@shop.example", phone="-"),
        await store(pool, "s"),
    ]
    for response in junk:
        assert await matches(pool, response) == {}


def plan_nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every node of an ``EXPLAIN (FORMAT JSON)`` plan."""
    if isinstance(node, list):
        for item in node:
            yield from plan_nodes(item)
    elif isinstance(node, dict):
        if "Node Type" in node:
            yield node
        for value in node.values():
            yield from plan_nodes(value)


def scans_of_the_rows(plan: Any) -> list[dict[str, Any]]:
    """The plan's sequential scans of the one month partition holding the rows (the responses
    are partitioned by month, migration 0032; empty partitions may be scanned, at no cost)."""
    populated = f"survey_responses_p{datetime.now(UTC):%Y%m}"
    return [
        node
        for node in plan_nodes(plan)
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") == populated
    ]


async def test_the_key_lookups_use_the_expression_indexes(pool: asyncpg.Pool) -> None:
    # About three responses per customer, some without an e-mail.
    rows = [
        (f"r-{n}", {"id": f"c-{n % 700}", "email": f"p{n % 700}@example.com" if n % 3 else None})
        for n in range(2000)
    ]
    await pool.executemany(
        """
        INSERT INTO survey_responses (source, response_id, receipt_id, vendor, received_at,
            customer, interaction, scores, chosen_reasons, follow_up_requested, codes,
            needs_recovery)
        VALUES ('s', $1, $1, 'generic', now(), $2, '{}', '[]', '[]', false, '[]', true)
        """,
        rows,
    )
    await pool.execute("ANALYZE survey_responses")
    async with pool.acquire() as conn:
        for key, value in (
            ("customer_email_key", {"email": "c7@example.com"}),
            ("customer_phone_tail", {"phone": "+15550000007"}),
            ("customer_id_key", {"id": "c-7"}),
        ):
            plan = await conn.fetchval(
                f"EXPLAIN (FORMAT JSON) SELECT id FROM survey_responses "
                f"WHERE {key}(customer) = {key}($1::jsonb)",
                value,
            )
            plan = json.loads(plan) if isinstance(plan, str) else plan
            indexes = [node.get("Index Name", "") for node in plan_nodes(plan)]
            assert [name for name in indexes if name.endswith(f"_{key}_idx")], plan
            assert scans_of_the_rows(plan) == [], plan
        # The whole matching query too: no scan of the table, whatever the planner guesses.
        plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {_MATCHING_SQL}", 777, 1, ["s"])
        plan = json.loads(plan) if isinstance(plan, str) else plan
        assert scans_of_the_rows(plan) == [], plan


async def test_the_starting_response_is_read_in_its_month_found_through_its_key(
    pool: asyncpg.Pool,
) -> None:
    """Migration 0039: the key's index on the response id names the month, so one partition
    is read, not every month's; a data fix moving the response to another month moves the key
    too, and matching still starts from it."""
    await pool.execute(  # a few thousand others, so the planner weighs an index as it would
        """
        WITH r AS (
            INSERT INTO survey_responses (source, response_id, receipt_id, vendor, received_at,
                customer, interaction, scores, chosen_reasons, follow_up_requested, codes,
                needs_recovery)
            SELECT 's', 'other-' || n, 'other-' || n, 'generic', now(),
                   jsonb_build_object('id', 'o-' || n), '{}', '[]', '[]', false, '[]', true
            FROM generate_series(1, 3000) AS n
            RETURNING id, source, response_id, received_at
        )
        INSERT INTO response_keys (source, response_id, survey_response_id, received_at)
        SELECT source, response_id, id, received_at FROM r
        """
    )
    first = await store(pool, "crm-a", id="c-5")
    again = await store(pool, "crm-a", id="c-5")
    await pool.execute("ANALYZE response_keys")
    await pool.execute("ANALYZE survey_responses")
    async with pool.acquire() as conn:
        raw = await conn.fetchval(
            f"EXPLAIN (ANALYZE, FORMAT JSON, TIMING OFF) {_MATCHING_SQL}", first, 5, []
        )
    plan = json.loads(raw) if isinstance(raw, str) else raw
    me = next(node for node in plan_nodes(plan) if node.get("Subplan Name") == "CTE me")
    nodes = list(plan_nodes(me))
    shown = json.dumps(me, indent=1)
    assert any(node.get("Index Name") == "response_keys_response_idx" for node in nodes), shown
    read = [
        node["Relation Name"]
        for node in nodes
        if node.get("Relation Name", "").startswith("survey_responses")
        and node.get("Actual Loops", 0) > 0
    ]
    assert read == [f"survey_responses_p{datetime.now(UTC):%Y%m}"], shown

    await pool.execute(
        "UPDATE survey_responses SET received_at = now() - interval '400 days' WHERE id = $1",
        first,
    )
    assert await matches(pool, first) == {again: ("id",)}
