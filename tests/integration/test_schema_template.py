"""The template a test schema is filled from is exactly what the migrations make.

``migrate_as_owner`` (and so every ``service_env``, ``pipeline`` and ``case_desk``) fills an
empty schema from one script per run (``tests/schema_template.py``) instead of migrating it;
these tests hold that script to a schema migrated for real, catalog and rows, and likewise a
spare filled ahead under another name and put in a test schema's place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.role_support import NOTIFIER, REPORTING, ROUTER, as_role, migrate_as_owner
from tests.schema_catalog import snapshot
from tests.schema_template import (
    fill_from_template,
    filled_spare,
    put_in_place,
    schema_script,
    server_url,
    spares_kept,
)
from tests.support import empty_schema
from winback_shared.migrations import apply_migrations, pending_migrations


@pytest.fixture
async def copy_url(database_url: str, unique: str) -> AsyncIterator[str]:
    """A second empty schema beside the test's own, dropped afterwards."""
    async with empty_schema(database_url, f"test_{unique}_copy") as url:
        yield url


def schema_name(url: str) -> str:
    return url.rsplit("search_path=", 1)[1].split("&")[0]


async def test_a_filled_schema_is_the_one_the_migrations_make(
    schema_url: str, copy_url: str, database_url: str
) -> None:
    migrated = await asyncpg.connect(schema_url)
    try:
        assert await apply_migrations(migrated) != []
    finally:
        await migrated.close()
    assert await fill_from_template(copy_url) is True
    conn = await asyncpg.connect(database_url)
    try:
        real = await snapshot(conn, schema_name(schema_url))
        filled = await snapshot(conn, schema_name(copy_url))
    finally:
        await conn.close()
    assert real["relations"] and real["functions"] and real["triggers"] and real["rows"]
    for part in real:
        assert filled[part] == real[part], f"the filled schema's {part} differ"
    copy = await asyncpg.connect(copy_url)
    try:
        assert await pending_migrations(copy) == []
        assert await apply_migrations(copy) == []
    finally:
        await copy.close()


async def test_a_spare_put_in_place_is_the_schema_the_migrations_make(
    schema_url: str, copy_url: str, database_url: str
) -> None:
    migrated = await asyncpg.connect(schema_url)
    try:
        assert await apply_migrations(migrated) != []
    finally:
        await migrated.close()
    spare = await filled_spare(server_url(database_url))
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await put_in_place(conn, spare, schema_name(copy_url))
        assert await conn.fetchval("SELECT to_regnamespace($1)", spare) is None
        real = await snapshot(conn, schema_name(schema_url))
        filled = await snapshot(conn, schema_name(copy_url))
    finally:
        await conn.close()
    assert any("SET search_path" in str(f["definition"]) for f in real["functions"])
    for part in real:
        assert filled[part] == real[part], f"the schema put in place's {part} differ"
    copy = await asyncpg.connect(as_role(copy_url, ROUTER))
    try:
        assert await pending_migrations(copy) == []
    finally:
        await copy.close()


async def schema_oid(conn: asyncpg.Connection, url: str) -> int:
    return int(await conn.fetchval("SELECT $1::regnamespace::oid", schema_name(url)))


async def oids_around_a_fill(
    conn: asyncpg.Connection, schema_url: str, copy_url: str, database_url: str
) -> tuple[int, int]:
    """``copy_url``'s schema's oid before and after it is filled while spares are kept: a
    different oid means a spare was renamed into its place, the same one that it was filled."""
    async with spares_kept(database_url):
        await fill_from_template(schema_url)  # the first fill of a run may find no spare
        before = await schema_oid(conn, copy_url)
        assert await fill_from_template(copy_url) is True
        return before, await schema_oid(conn, copy_url)


async def test_while_spares_are_kept_a_bare_schema_is_replaced_by_one_filled_ahead(
    schema_url: str, copy_url: str, database_url: str
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        before, after = await oids_around_a_fill(conn, schema_url, copy_url, database_url)
        assert after != before
    finally:
        await conn.close()


async def test_a_schema_with_grants_of_its_own_is_filled_not_replaced(
    schema_url: str, copy_url: str, database_url: str
) -> None:
    await schema_script(database_url)  # the template migrated: the service roles exist
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"GRANT USAGE ON SCHEMA {schema_name(copy_url)} TO {REPORTING}")
        before, after = await oids_around_a_fill(conn, schema_url, copy_url, database_url)
        assert after == before
        acl = await conn.fetchval(
            "SELECT nspacl::text FROM pg_namespace WHERE nspname = $1", schema_name(copy_url)
        )
    finally:
        await conn.close()
    assert f"{REPORTING}=U/" in acl
    copy = await asyncpg.connect(copy_url)
    try:
        assert await pending_migrations(copy) == []
    finally:
        await copy.close()


VIEW_CHANGED = "the view unclassified_reasons made to show nothing"


async def make(conn: asyncpg.Connection, change: str) -> None:
    if change == VIEW_CHANGED:
        definition = await conn.fetchval("SELECT pg_get_viewdef('unclassified_reasons')")
        definition = definition.strip().rstrip(";")
        change = (
            "CREATE OR REPLACE VIEW unclassified_reasons AS"
            f" SELECT * FROM ({definition}) AS shown WHERE false"
        )
    await conn.execute(change)


CHANGES = [
    "REVOKE SELECT ON schema_migrations FROM winback_router",
    "ALTER TABLE recovery_cases ALTER COLUMN status DROP DEFAULT",
    "ALTER TABLE agents ADD CONSTRAINT extra CHECK (id > 0)",
    "CREATE INDEX extra ON agents (name)",
    "DROP TRIGGER agents_announce_changes ON agents",
    "CREATE OR REPLACE FUNCTION agent_changes_from_agents() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$",
    VIEW_CHANGED,
    "ALTER SEQUENCE agents_id_seq RESTART WITH 100",
    "UPDATE queues SET description = description || '!'",
    "ALTER TABLE agents OWNER TO winback_router",
    "COMMENT ON TABLE agents IS 'changed'",
    "ALTER TABLE agents ADD COLUMN extra integer",
    "ALTER TABLE case_history DETACH PARTITION case_history_default",
]
"""One change of each kind of thing the snapshot compares."""


async def test_the_comparison_sees_any_change(copy_url: str) -> None:
    """A comparison that passed whatever the schemas held would prove nothing."""
    await fill_from_template(copy_url)
    schema = schema_name(copy_url)
    conn = await asyncpg.connect(copy_url)
    try:
        before = await snapshot(conn, schema)
        async with conn.transaction():
            for change in CHANGES:
                undo = conn.transaction()
                await undo.start()
                try:
                    await make(conn, change)
                    assert await snapshot(conn, schema) != before, change
                finally:
                    await undo.rollback()
        assert await snapshot(conn, schema) == before
    finally:
        await conn.close()


async def test_filled_schemas_share_nothing(schema_url: str, copy_url: str) -> None:
    await migrate_as_owner(schema_url)
    await migrate_as_owner(copy_url)
    one = await asyncpg.connect(as_role(schema_url, NOTIFIER))
    other = await asyncpg.connect(as_role(copy_url, NOTIFIER))
    try:
        await one.execute("INSERT INTO queues (name) VALUES ('only-here')")
        assert await one.fetchval("SELECT count(*) FROM queues WHERE name = 'only-here'") == 1
        assert await other.fetchval("SELECT count(*) FROM queues WHERE name = 'only-here'") == 0
        assert await other.fetchval("SELECT count(*) FROM queues") == 1
    finally:
        await one.close()
        await other.close()


async def test_a_schema_holding_anything_is_migrated_for_real(schema_url: str) -> None:
    conn = await asyncpg.connect(schema_url)
    try:
        await conn.execute("CREATE TABLE before_the_migrations (id integer)")
        assert await fill_from_template(schema_url) is False
        await migrate_as_owner(schema_url)
        applied = await conn.fetchval("SELECT count(*) FROM schema_migrations")
        assert applied == len(await conn.fetch("SELECT 1 FROM schema_migrations"))
        assert await pending_migrations(conn) == []
        assert await conn.fetchval("SELECT to_regclass('before_the_migrations') IS NOT NULL")
    finally:
        await conn.close()
    router = await asyncpg.connect(as_role(schema_url, ROUTER))
    try:
        assert await pending_migrations(router) == []
    finally:
        await router.close()
