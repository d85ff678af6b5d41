"""Each service's database role may do its work and nothing else (issue 18).

Grants are tested with the services' roles taken at connection start (``tests.role_support``):
the pipeline and case-desk fixtures already run the whole router and notifier that way; here,
what each role must not do is refused, each role's main writes work, the owner owns
everything, and every table and view has had a decision per role.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.case_support import open_case
from tests.role_support import (
    NOTIFIER,
    OWNER,
    REPORTING,
    RETENTION,
    ROUTER,
    as_role,
    migrate_as_owner,
)
from winback_notifier.cases.audit import broken_links
from winback_notifier.cases.service import claim
from winback_notifier.reports.service import SlaDimension, root_cause_trends, sla_report
from winback_shared.agents import Role, ensure_queues, issue_token
from winback_shared.customer_match import MatchRule, matching_responses
from winback_shared.db import create_pool
from winback_shared.db_roles import warn_if_privileged
from winback_shared.migrations import apply_migrations
from winback_shared.settings import CommonSettings, KafkaTopics
from winback_shared.startup import prepare_infrastructure

SERVICE_ROLES = (ROUTER, NOTIFIER, REPORTING, RETENTION)

EXPECTED_GRANTS: dict[str, dict[str, set[str]]] = {
    # table or view: role -> table-level privileges (column grants are checked by behaviour:
    # the router reads agents' sign-in columns, the reporting role all but the token hash)
    "survey_responses": {
        ROUTER: {"SELECT", "INSERT", "UPDATE"},
        NOTIFIER: {"SELECT"},
        REPORTING: {"SELECT"},
        RETENTION: {"SELECT"},  # to archive a month before its partition is dropped (0032)
    },
    # 0032: the router's idempotency; retention reads it, the owner's drop removes its rows.
    "response_keys": {
        ROUTER: {"SELECT", "INSERT"},
        NOTIFIER: {"SELECT"},
        REPORTING: {"SELECT"},
        RETENTION: {"SELECT"},
    },
    "recovery_cases": {
        ROUTER: {"SELECT", "INSERT"},
        NOTIFIER: {"SELECT"},
        REPORTING: {"SELECT"},
        RETENTION: {"SELECT"},  # to archive a month of closed cases before its drop (0036)
    },
    # 0035: one case per response; the router's trigger writes it, the owner's drop removes it.
    "case_keys": {
        ROUTER: {"SELECT", "INSERT"},
        NOTIFIER: {"SELECT"},
        REPORTING: {"SELECT"},
        RETENTION: {"SELECT"},
    },
    "case_history": {
        ROUTER: {"SELECT", "INSERT"},
        NOTIFIER: {"SELECT", "INSERT"},
        REPORTING: {"SELECT"},
        RETENTION: {"SELECT"},
    },
    "retention_archives": {REPORTING: {"SELECT"}, RETENTION: {"SELECT"}},
    "case_history_anchors": {REPORTING: {"SELECT"}, RETENTION: {"SELECT"}},
    "contact_attempts": {
        NOTIFIER: {"SELECT", "INSERT"},
        REPORTING: {"SELECT"},
        RETENTION: {"SELECT"},  # archived with their month of cases (0036), like the next two
    },
    "agents": {NOTIFIER: {"SELECT", "INSERT"}},
    "queues": {NOTIFIER: {"SELECT", "INSERT"}, REPORTING: {"SELECT"}},
    "agent_queues": {
        ROUTER: {"SELECT"},
        NOTIFIER: {"SELECT", "INSERT", "DELETE"},
        REPORTING: {"SELECT"},
    },
    "agent_changes": {NOTIFIER: {"SELECT", "INSERT", "DELETE"}},
    # 0037: whoever changes a case, a card's response or an owner's name records its
    # transaction (a trigger) and now and then prunes; the notifier reads it to reuse boards.
    "board_changes": {
        ROUTER: {"SELECT", "INSERT", "DELETE"},
        NOTIFIER: {"SELECT", "INSERT", "DELETE"},
    },
    "dead_letters": {ROUTER: {"SELECT", "INSERT"}},
    "recode_runs": {ROUTER: {"SELECT", "INSERT", "UPDATE"}, REPORTING: {"SELECT"}},
    "recode_changes": {ROUTER: {"SELECT", "INSERT"}, REPORTING: {"SELECT"}, RETENTION: {"SELECT"}},
    "contact_policies": {
        ROUTER: {"SELECT", "INSERT"},
        NOTIFIER: {"SELECT"},
        REPORTING: {"SELECT"},
    },
    "offer_limits": {NOTIFIER: {"SELECT", "INSERT", "DELETE"}, REPORTING: {"SELECT"}},
    "case_offers": {NOTIFIER: {"SELECT", "INSERT"}, REPORTING: {"SELECT"}, RETENTION: {"SELECT"}},
    "schema_migrations": {ROUTER: {"SELECT"}, NOTIFIER: {"SELECT"}, REPORTING: {"SELECT"}},
    "schema_repeatables": {ROUTER: {"SELECT"}, NOTIFIER: {"SELECT"}, REPORTING: {"SELECT"}},
    "case_cards": {NOTIFIER: {"SELECT"}, REPORTING: {"SELECT"}},
    "case_summaries": {ROUTER: {"SELECT"}, NOTIFIER: {"SELECT"}, REPORTING: {"SELECT"}},
    "unclassified_reasons": {ROUTER: {"SELECT"}, REPORTING: {"SELECT"}},
    # Outbound (0028): the notifier's role runs the outbound process and its admin API; the
    # subscriptions hold webhook secrets and the deliveries case payloads, so reporting gets
    # neither.
    "outbound_subscriptions": {NOTIFIER: {"SELECT", "INSERT", "UPDATE", "DELETE"}},
    "outbound_deliveries": {NOTIFIER: {"SELECT", "INSERT", "UPDATE", "DELETE"}},
    # 0029: notifiers write their console counts, outbound reads them and keeps its pages.
    "console_presence": {NOTIFIER: {"SELECT", "INSERT", "UPDATE", "DELETE"}},
    "unwatched_queues": {NOTIFIER: {"SELECT", "INSERT", "UPDATE", "DELETE"}},
    # 0031: outbound links cases to helpdesk tickets; the notifier shows and updates them;
    # reporting may join tickets to cases (ids and URLs only).
    "helpdesk_links": {
        NOTIFIER: {"SELECT", "INSERT", "UPDATE", "DELETE"},
        REPORTING: {"SELECT"},
        RETENTION: {"SELECT"},
    },
}
"""The whole table-level matrix: a new table or view fails the test below until it is here.
Partitions are not in it: the services go through the partitioned table (next test)."""

PARTITION_GRANTS: dict[str, dict[str, set[str]]] = {
    "case_history_default": {RETENTION: {"SELECT"}},
    "survey_responses_default": {RETENTION: {"SELECT"}},
    "recovery_cases_default": {RETENTION: {"SELECT"}},
}
"""The grants on partitions by name: none, but the retention job's look at the DEFAULT one."""


@pytest.fixture
async def migrated(schema_url: str) -> str:
    await migrate_as_owner(schema_url)
    return schema_url


@pytest.fixture
async def pools(migrated: str) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    """One pool per service role, and the superuser's under ``"admin"``."""
    opened = {
        role: await create_pool(as_role(migrated, role), min_size=1, max_size=2)
        for role in SERVICE_ROLES
    }
    opened["admin"] = await create_pool(migrated, min_size=1, max_size=2)
    try:
        yield opened
    finally:
        for pool in opened.values():
            await pool.close()


async def test_the_owner_owns_every_table_view_and_function(pools: dict[str, asyncpg.Pool]) -> None:
    owners = await pools["admin"].fetch(
        """
        SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
        UNION ALL
        SELECT p.proname, pg_get_userbyid(p.proowner) FROM pg_proc p
        WHERE p.pronamespace = current_schema()::regnamespace
        """
    )
    assert owners and {r["owner"] for r in owners} == {OWNER}, owners


@pytest.mark.parametrize("partitions", [False, True], ids=["tables", "partitions"])
async def test_each_table_and_view_has_exactly_the_decided_grants(
    pools: dict[str, asyncpg.Pool], partitions: bool
) -> None:
    rows = await pools["admin"].fetch(
        """
        SELECT c.relname AS name, g.grantee, g.privilege_type
        FROM pg_class c
        LEFT JOIN information_schema.role_table_grants g
          ON g.table_schema = current_schema() AND g.table_name = c.relname
         AND g.grantee = ANY($1::text[])
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v')
          AND c.relispartition = $2
        """,
        list(SERVICE_ROLES),
        partitions,
    )
    found: dict[str, dict[str, set[str]]] = {}
    for row in rows:
        per_role = found.setdefault(row["name"], {})
        if row["grantee"] is not None:
            per_role.setdefault(row["grantee"], set()).add(row["privilege_type"])
    if partitions:
        assert any(name.startswith("case_history_p") for name in found), found
        found = {name: grants for name, grants in found.items() if grants}
    assert found == (PARTITION_GRANTS if partitions else EXPECTED_GRANTS)


REFUSED_TO_EVERY_SERVICE = [
    "CREATE TABLE intruder (id int)",
    "DROP TABLE survey_responses",
    "ALTER TABLE case_history DISABLE TRIGGER case_history_append_only",
    "TRUNCATE case_history",
    "DELETE FROM case_history",
    "DELETE FROM recovery_cases",
    "UPDATE case_history SET data = '{}'::jsonb",
    "CREATE OR REPLACE FUNCTION refuse_truncate() RETURNS trigger LANGUAGE plpgsql"
    " AS 'BEGIN RETURN NULL; END'",
]

REFUSED = {
    ROUTER: [
        "SELECT * FROM agents",
        "UPDATE agents SET role = 'admin'",
        "SELECT * FROM contact_attempts",
        "INSERT INTO contact_attempts (case_id, channel, reached) VALUES (1, 'phone', true)",
        "UPDATE recovery_cases SET status = 'resolved'",
        "UPDATE recovery_cases SET owner_id = 1",
        "UPDATE recovery_cases SET call_back_due_at = now()",
        "UPDATE case_history SET published_at = now()",
        "SELECT * FROM case_cards",
        "DELETE FROM agent_changes",
        "SELECT retention_drop_history_partition('case_history_default', 0, '', '', '')",
        "SELECT retention_drop_response_partition('survey_responses_default', 0, '', '', '')",
        "DELETE FROM response_keys",
        "DELETE FROM case_keys",
        "UPDATE case_keys SET opened_at = now()",
        "UPDATE recovery_cases SET opened_at = now()",
        "SELECT retention_drop_case_partition('recovery_cases_default', 0, '', '', '')",
    ],
    NOTIFIER: [
        "INSERT INTO survey_responses (source, response_id) VALUES ('x', 'y')",
        "UPDATE survey_responses SET comment = NULL",
        "UPDATE recovery_cases SET priority = 1",
        "UPDATE recovery_cases SET alerted_at = now()",
        "INSERT INTO recovery_cases (survey_response_id, priority, queue) VALUES (1, 1, 'q')",
        "SELECT * FROM dead_letters",
        "UPDATE recode_runs SET status = 'failed'",
        "INSERT INTO contact_policies (targets, recorded_by) VALUES ('{}', 'x')",
        "DELETE FROM agents",
        "SELECT retention_drop_history_partition('case_history_default', 0, '', '', '')",
        "SELECT retention_drop_response_partition('survey_responses_default', 0, '', '', '')",
        "DELETE FROM response_keys",
        "INSERT INTO case_keys (survey_response_id, case_id, opened_at) VALUES (1, 1, now())",
        "UPDATE recovery_cases SET opened_at = now()",
        "SELECT retention_drop_case_rows('recovery_cases_default', 'contact_attempts', 0, '',"
        " '', '')",
    ],
    RETENTION: [
        "SELECT * FROM agents",
        "UPDATE survey_responses SET comment = NULL",
        "DELETE FROM response_keys",
        "DELETE FROM case_keys",
        "DELETE FROM contact_attempts",
        "UPDATE recovery_cases SET status = 'closed'",
        "SELECT retention_case_partition_locked('recovery_cases_default')",
        "INSERT INTO case_history (case_id, seq, kind, actor) VALUES (1, 1, 'x', 'x')",
        "UPDATE case_history SET published_at = now()",
        "DELETE FROM case_history_anchors",
        "INSERT INTO retention_archives (table_name) VALUES ('x')",
    ],
    REPORTING: [
        "SELECT token_sha256 FROM agents",
        "SELECT * FROM dead_letters",
        "SELECT * FROM agent_changes",
        "INSERT INTO queues (name) VALUES ('x')",
        "UPDATE recovery_cases SET status = 'closed'",
        "UPDATE case_history SET published_at = now()",
        "DELETE FROM contact_attempts",
        "SELECT retention_drop_history_partition('case_history_default', 0, '', '', '')",
        "SELECT retention_drop_response_partition('survey_responses_default', 0, '', '', '')",
        "DELETE FROM response_keys",
        "SELECT ensure_month_partitions('case_history')",
    ],
}


@pytest.mark.parametrize("role", SERVICE_ROLES)
async def test_a_service_role_is_refused_what_it_has_no_business_doing(
    pools: dict[str, asyncpg.Pool], role: str
) -> None:
    for statement in REFUSED_TO_EVERY_SERVICE + REFUSED[role]:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pools[role].execute(statement)
        # Not refused for a missing row or a trigger: the superuser is refused nothing by grants.


async def test_history_partitions_refuse_every_role_and_guard_against_the_owner(
    pools: dict[str, asyncpg.Pool],
) -> None:
    await open_case(pools["admin"])
    current = await pools["admin"].fetchval(
        "SELECT tableoid::regclass::text FROM case_history LIMIT 1"
    )
    assert current.startswith("case_history_p")
    for partition in (current, "case_history_default"):
        statements = [
            f"DELETE FROM {partition}",
            f"TRUNCATE {partition}",
            f"UPDATE {partition} SET published_at = now()",
            f"DROP TABLE {partition}",
            f"ALTER TABLE case_history DETACH PARTITION {partition}",
            f"ALTER TABLE {partition} DISABLE TRIGGER case_history_append_only",
        ]
        for role in SERVICE_ROLES:
            for statement in statements:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await pools[role].execute(statement)
        # The superuser is refused nothing by grants: the triggers still hold on each partition
        # (the DEFAULT one is empty: no row for a row trigger to refuse, TRUNCATE still is).
        for statement in statements[:3] if partition == current else statements[1:2]:
            with pytest.raises(asyncpg.RaiseError, match="append-only"):
                await pools["admin"].execute(statement)
    assert await pools["admin"].fetchval("SELECT count(*) FROM case_history") == 1


async def test_router_stores_a_response_and_opens_its_case(
    pools: dict[str, asyncpg.Pool],
) -> None:
    case_id = await open_case(pools[ROUTER])
    kinds = await pools["admin"].fetch(
        "SELECT kind FROM case_history WHERE case_id = $1 ORDER BY seq", case_id
    )
    assert [r["kind"] for r in kinds] == ["opened"]
    assert await pools["admin"].fetchval(
        "SELECT alerted_at IS NOT NULL FROM recovery_cases WHERE id = $1", case_id
    )


async def test_notifier_claims_a_case_and_marks_its_history_published(
    pools: dict[str, asyncpg.Pool],
) -> None:
    case_id = await open_case(pools["admin"])
    notifier = pools[NOTIFIER]
    async with notifier.acquire() as conn:
        await ensure_queues(conn, ["default"])
        agent, _ = await issue_token(conn, name="role-agent", role=Role.AGENT, queues=["default"])
        async with conn.transaction():
            await claim(conn, case_id=case_id, actor=agent)
        marked = await conn.execute(
            "UPDATE case_history SET published_at = now()"
            " WHERE case_id = $1 AND published_at IS NULL",
            case_id,
        )
    assert marked == "UPDATE 1"
    owner = await pools["admin"].fetchval(
        "SELECT owner_id FROM recovery_cases WHERE id = $1", case_id
    )
    assert owner == agent.id


async def test_every_service_role_matches_customers_the_router_keyed(
    pools: dict[str, asyncpg.Pool],
) -> None:
    """Migration 0018's key functions run under the router's writes (they are indexed) and in
    the matching query of every role that reads responses (the retention role reads them only to
    archive them), which finds its starting response's month through ``response_keys``
    (migration 0039: the notifier reads the keys since)."""
    first, second = [await open_case(pools[ROUTER]) for _ in range(2)]
    response = await pools["admin"].fetchval(
        "SELECT survey_response_id FROM recovery_cases WHERE id = $1", first
    )
    expected = await pools["admin"].fetchval(
        "SELECT survey_response_id FROM recovery_cases WHERE id = $1", second
    )
    for role in (ROUTER, NOTIFIER, REPORTING):
        async with pools[role].acquire() as conn:
            found = await matching_responses(conn, survey_response_id=response, rule=MatchRule())
        assert [match.survey_response_id for match in found] == [expected], role


async def test_reporting_reads_the_ops_reports_and_verifies_the_audit_trail(
    pools: dict[str, asyncpg.Pool],
) -> None:
    await open_case(pools["admin"])
    until = datetime.now(UTC) + timedelta(minutes=1)
    since = until - timedelta(days=1)
    async with pools[REPORTING].acquire() as conn:
        report = await sla_report(
            conn, since=since, until=until, by=SlaDimension.REASON, targets_minutes={1: 10}
        )
        await root_cause_trends(conn, since=since, until=until)
        assert await broken_links(conn) == []
    assert report is not None


async def test_a_service_as_superuser_or_owner_warns_and_as_its_role_does_not(
    pools: dict[str, asyncpg.Pool], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="winback_shared.db_roles")
    async with pools["admin"].acquire() as conn:
        assert (await warn_if_privileged(conn)).superuser
    async with pools[ROUTER].acquire() as conn:
        assert not (await warn_if_privileged(conn)).owner
    warnings = [r for r in caplog.records if r.name == "winback_shared.db_roles"]
    assert len(warnings) == 1 and "superuser" in warnings[0].getMessage()
    assert "DATABASE_URL" in warnings[0].getMessage()


async def test_owner_membership_warns_too(migrated: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="winback_shared.db_roles")
    conn = await asyncpg.connect(as_role(migrated, OWNER))
    try:
        role = await warn_if_privileged(conn)
    finally:
        await conn.close()
    assert role.owner and not role.superuser
    assert "schema owner" in caplog.records[-1].getMessage()


async def test_a_service_role_with_migrations_pending_stops_with_what_to_run(
    schema_url: str, kafka_bootstrap: str, topics: KafkaTopics
) -> None:
    url = as_role(schema_url, ROUTER)
    settings = CommonSettings(kafka_bootstrap_servers=kafka_bootstrap, database_url=url)
    settings.topics = topics
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        with pytest.raises(RuntimeError, match=r"python -m winback_shared\.migrations"):
            await prepare_infrastructure(settings, pool)
    finally:
        await pool.close()


async def test_a_service_role_with_nothing_pending_passes_the_migration_check(
    pools: dict[str, asyncpg.Pool],
) -> None:
    async with pools[NOTIFIER].acquire() as conn:
        assert await apply_migrations(conn) == []
