"""The local runner's database set-up: migrations as the owner, one login per service role."""

from __future__ import annotations

import asyncpg

from winback_local.stack import _prepare
from winback_shared.agents import authenticate
from winback_shared.db_roles import SERVICE_ROLES, connected_role, login_name
from winback_shared.settings import CommonSettings, KafkaTopics


async def test_each_service_gets_a_login_in_its_role_and_no_more(
    schema_url: str, kafka_bootstrap: str, topics: KafkaTopics
) -> None:
    settings = CommonSettings(
        kafka_bootstrap_servers=kafka_bootstrap, database_url=schema_url, topics=topics
    )
    token, urls = await _prepare(settings)
    assert token and set(urls) == set(SERVICE_ROLES) == {"router", "notifier"}
    for service, role in SERVICE_ROLES.items():
        conn = await asyncpg.connect(urls[service])
        try:
            connected = await connected_role(conn)
            assert connected.name == login_name(role)
            assert not connected.superuser and not connected.owner
            memberships = await conn.fetch(
                "SELECT r.rolname FROM pg_roles r WHERE pg_has_role(current_user, r.oid, 'MEMBER')"
                " AND r.rolname NOT LIKE 'pg\\_%' AND r.rolname <> current_user"
            )
            assert [m["rolname"] for m in memberships] == [role]
            # It sees its schema, already migrated: a service start-up has nothing to apply.
            assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
        finally:
            await conn.close()


async def test_the_demo_token_is_reused_while_it_still_signs_in(
    schema_url: str, kafka_bootstrap: str, topics: KafkaTopics
) -> None:
    """Yesterday's console URL keeps working; a token that no longer signs in is replaced."""
    settings = CommonSettings(
        kafka_bootstrap_servers=kafka_bootstrap, database_url=schema_url, topics=topics
    )
    first, _ = await _prepare(settings)
    again, _ = await _prepare(settings, saved_token=first)
    assert again == first
    replaced, _ = await _prepare(settings, saved_token="not-a-token-this-database-issued")
    assert replaced != first
    conn = await asyncpg.connect(schema_url)
    try:
        assert await authenticate(conn, replaced) is not None
        await conn.execute("UPDATE agents SET token_expires_at = now() - interval '1 day'")
    finally:
        await conn.close()
    after_expiry, _ = await _prepare(settings, saved_token=replaced)
    assert after_expiry != replaced
