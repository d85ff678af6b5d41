"""The local runner's database set-up: migrations as the owner, one login per service role."""

from __future__ import annotations

import asyncpg

from winback_local.stack import DEMO_AGENT, DEMO_FLOOR_AGENT, _prepare
from winback_notifier.live.hub import AlertHub
from winback_shared.agents import DEFAULT_QUEUE, Role, authenticate
from winback_shared.db_roles import SERVICE_ROLES, connected_role, login_name
from winback_shared.settings import CommonSettings, KafkaTopics


async def test_each_service_gets_a_login_in_its_role_and_no_more(
    schema_url: str, kafka_bootstrap: str, topics: KafkaTopics
) -> None:
    settings = CommonSettings(
        kafka_bootstrap_servers=kafka_bootstrap, database_url=schema_url, topics=topics
    )
    tokens, urls = await _prepare(settings)
    assert set(tokens) == {DEMO_AGENT, DEMO_FLOOR_AGENT} and all(tokens.values())
    assert set(urls) == set(SERVICE_ROLES) == {"router", "notifier"}
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
    first = (await _prepare(settings))[0][DEMO_AGENT]
    again = (await _prepare(settings, {DEMO_AGENT: first}))[0][DEMO_AGENT]
    assert again == first
    bogus = {DEMO_AGENT: "not-a-token-this-database-issued"}
    replaced = (await _prepare(settings, bogus))[0][DEMO_AGENT]
    assert replaced != first
    conn = await asyncpg.connect(schema_url)
    try:
        assert await authenticate(conn, replaced) is not None
        await conn.execute("UPDATE agents SET token_expires_at = now() - interval '1 day'")
    finally:
        await conn.close()
    after_expiry = (await _prepare(settings, {DEMO_AGENT: replaced}))[0][DEMO_AGENT]
    assert after_expiry != replaced


async def test_the_demo_has_an_agent_on_the_floor_besides_its_supervisor(
    schema_url: str, kafka_bootstrap: str, topics: KafkaTopics
) -> None:
    """With both demo consoles open, the staffing count (supervisors never count) finds one
    agent on the default queue, so one demo case is no staffing alarm; each token is reused,
    and neither signs in as the other."""
    settings = CommonSettings(
        kafka_bootstrap_servers=kafka_bootstrap, database_url=schema_url, topics=topics
    )
    tokens, _ = await _prepare(settings)
    again, _ = await _prepare(settings, dict(tokens))
    assert again == tokens
    swapped, _ = await _prepare(
        settings, {DEMO_AGENT: tokens[DEMO_FLOOR_AGENT], DEMO_FLOOR_AGENT: tokens[DEMO_AGENT]}
    )
    assert set(swapped.values()).isdisjoint(tokens.values())
    conn = await asyncpg.connect(schema_url)
    try:
        supervisor = await authenticate(conn, swapped[DEMO_AGENT])
        agent = await authenticate(conn, swapped[DEMO_FLOOR_AGENT])
    finally:
        await conn.close()
    assert supervisor is not None and supervisor.name == DEMO_AGENT
    assert supervisor.role is Role.SUPERVISOR
    assert agent is not None and agent.name == DEMO_FLOOR_AGENT and agent.role is Role.AGENT
    assert agent.queues == {DEFAULT_QUEUE}
    hub = AlertHub(10)
    hub.subscribe(supervisor)
    assert hub.agents_on([DEFAULT_QUEUE]) == {DEFAULT_QUEUE: 0}  # the demo's state until now
    hub.subscribe(agent)
    assert hub.agents_on([DEFAULT_QUEUE]) == {DEFAULT_QUEUE: 1}
