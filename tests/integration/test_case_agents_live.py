"""Changing an agent (queues, role, token, disabled) reaches its open consoles at once, on every
notifier instance, whether an admin used the API or the CLI: PostgreSQL's outbox, then
``agent.changed`` on Kafka, then a fresh ``hello`` and ``snapshot`` on the same connection, or
4401 for an agent who may no longer sign in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from tests.case_support import CaseDesk, Console, publish_opened, running_desk
from winback_notifier.agents import cli as admin
from winback_notifier.agents.announcer import AgentChangeAnnouncer
from winback_notifier.live.socket import REVOKED
from winback_shared import agents
from winback_shared.agents import Role
from winback_shared.db import create_pool
from winback_shared.events.case_events import CASE_EVENT, AgentChanged
from winback_shared.kafka import ensure_topics, reliable_producer
from winback_shared.migrations import apply_migrations
from winback_shared.settings import KafkaTopics


@pytest.fixture
async def other_desk(infra_env: dict[str, Any]) -> AsyncIterator[CaseDesk]:
    """A second notifier on the same topics and database, as in production."""
    async with running_desk(infra_env) as desk:
        yield desk


async def moved_to(console: Console, queues: list[str]) -> list[int]:
    """Wait for the console's new ``hello``; check its queues; the case ids of the snapshot."""
    hello = await console.next_of("hello")
    assert hello["agent"]["queues"] == queues
    snapshot = await console.next()
    assert snapshot["type"] == "snapshot"
    return [card["case_id"] for card in snapshot["cases"]]


async def opened_until(console: Console, case_id: int) -> list[int]:
    """Case ids of every ``case.opened`` up to and including ``case_id``'s."""
    seen: list[int] = []
    while not seen or seen[-1] != case_id:
        seen.append((await console.next_of("case.opened"))["case"]["case_id"])
    return seen


async def test_moving_an_agent_changes_what_its_consoles_receive_on_every_notifier(
    case_desk: CaseDesk, other_desk: CaseDesk, kafka_bootstrap: str, infra_env: dict[str, Any]
) -> None:
    root = await case_desk.agent("root", Role.ADMIN, queues=[])
    ana = await case_desk.agent("ana", queues=["alpha"])
    bill = await case_desk.agent("bill", queues=["alpha"])
    await case_desk.agent("bea", queues=["beta"])
    in_alpha, in_beta = await case_desk.case(queue="alpha"), await case_desk.case(queue="beta")
    alerts = infra_env["topics"].recovery_alerts

    async with (
        case_desk.console(ana) as here,
        other_desk.console(ana) as there,
        other_desk.console(bill) as bystander,
    ):
        assert [c["case_id"] for c in here.snapshot] == [in_alpha]
        assert [c["case_id"] for c in there.snapshot] == [in_alpha]

        moved = await case_desk.call(
            "PUT", "/api/admin/agents/ana/queues", root, {"queues": ["beta"]}
        )
        assert moved.status_code == 200, moved.text

        for console in (here, there):  # without reconnecting: same socket, new board
            assert await moved_to(console, ["beta"]) == [in_beta]
        await bystander.nothing_for(0.5)

        # New cases: ana's consoles get beta's and no longer alpha's; bill still gets alpha's.
        new_alpha, new_beta = (
            await case_desk.case(queue="alpha"),
            await case_desk.case(queue="beta"),
        )
        await publish_opened(case_desk, kafka_bootstrap, alerts, new_alpha)
        await publish_opened(case_desk, kafka_bootstrap, alerts, new_beta)
        assert await opened_until(bystander, new_alpha) == [new_alpha]
        for console in (here, there):
            assert await opened_until(console, new_beta) == [new_beta]
        # A change to an alpha case stays away from ana too, while a beta one arrives.
        assert (await case_desk.act(bill, in_alpha, "claim")).status_code == 200
        assert (await case_desk.act(ana, in_beta, "claim")).status_code == 200
        for console in (here, there):
            change = await console.next_of("case.changed")
            assert change["case"]["case_id"] == in_beta
            await console.nothing_for(0.5)
        assert (await bystander.next_of("case.changed"))["case"]["case_id"] == in_alpha

        gone = await case_desk.call("DELETE", "/api/admin/agents/ana", root)
        assert gone.status_code == 204
        for console in (here, there):
            assert await console.closed() == (4401, REVOKED)
        await bystander.nothing_for(0.5)
        assert (await case_desk.call("GET", "/api/cases", bill)).status_code == 200


async def test_cli_changes_reach_open_consoles(
    case_desk: CaseDesk,
    other_desk: CaseDesk,
    schema_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI only writes to PostgreSQL; the notifiers' outbox sweep announces its changes."""
    monkeypatch.setenv("DATABASE_URL", schema_url)
    ana = await case_desk.agent("ana", queues=["alpha"])
    await case_desk.agent("bea", queues=["beta", "gamma"])
    in_alpha, in_beta = await case_desk.case(queue="alpha"), await case_desk.case(queue="beta")
    in_gamma = await case_desk.case(queue="gamma")

    async def cli(*argv: str) -> None:
        assert await asyncio.to_thread(admin.main, list(argv)) == 0, capsys.readouterr().err

    async with case_desk.console(ana) as here, other_desk.console(ana) as there:
        await cli("set-queues", "--name", "ana", "beta", "gamma")
        for console in (here, there):
            assert sorted(await moved_to(console, ["beta", "gamma"])) == sorted([in_beta, in_gamma])

        await cli("set-role", "--name", "ana", "supervisor")
        for console in (here, there):
            hello = await console.next_of("hello")
            assert (hello["agent"]["role"], hello["agent"]["may_reassign"]) == ("supervisor", True)
            snapshot = await console.next()
            assert {c["case_id"] for c in snapshot["cases"]} == {in_alpha, in_beta, in_gamma}

        await cli("disable", "--name", "ana")
        for console in (here, there):
            assert await console.closed() == (4401, REVOKED)


async def test_a_new_token_closes_consoles_signed_in_with_the_old_one(
    case_desk: CaseDesk,
) -> None:
    root = await case_desk.agent("root", Role.ADMIN, queues=[])
    ana = await case_desk.agent("ana")
    ben = await case_desk.agent("ben")
    async with case_desk.console(ana) as old, case_desk.console(ben) as other:
        issued = await case_desk.call("POST", "/api/admin/agents/ana/token", root)
        assert issued.status_code == 200
        assert await old.closed() == (4401, REVOKED)
        await other.nothing_for(0.5)
        async with case_desk.console(issued.json()["token"]) as fresh:
            assert fresh.profile["name"] == "ana"


async def test_a_change_that_changes_nothing_is_not_announced(case_desk: CaseDesk) -> None:
    root = await case_desk.agent("root", Role.ADMIN, queues=[])
    ana = await case_desk.agent("ana", queues=["default"])
    async with case_desk.console(ana) as console:
        same = await case_desk.call(
            "PUT", "/api/admin/agents/ana/queues", root, {"queues": ["default"]}
        )
        role = await case_desk.call("PUT", "/api/admin/agents/ana/role", root, {"role": "agent"})
        assert (same.status_code, role.status_code) == (200, 200)
        await console.nothing_for(1.0)
    assert await case_desk.pool.fetchval("SELECT count(*) FROM agent_changes") == 0


async def test_the_outbox_records_every_kind_of_change_and_sends_one_event_per_agent(
    schema_url: str, kafka_bootstrap: str, topics: KafkaTopics
) -> None:
    await ensure_topics(kafka_bootstrap, {topics.case_events: 2})
    pool = await create_pool(schema_url, max_size=2)
    producer = reliable_producer(kafka_bootstrap)
    await producer.start()
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            ana, _ = await agents.issue_token(conn, name="ana", role=Role.AGENT)
            ben, _ = await agents.issue_token(conn, name="ben", role=Role.AGENT)
            await agents.ensure_queues(conn, ["billing"])
            created = await conn.fetchval("SELECT count(*) FROM agent_changes")
            await agents.set_queues(conn, agent_id=ana.id, queues=["billing", "default"])
            await agents.set_role(conn, agent_id=ana.id, role=Role.SUPERVISOR)
            await agents.issue_token(conn, name="ana", role=Role.AGENT)
            await agents.disable_agent(conn, agent_id=ben.id)
            await conn.execute("DELETE FROM queues WHERE name = 'billing'")  # cascades
            recorded = [
                r["agent_id"]
                for r in await conn.fetch("SELECT agent_id FROM agent_changes ORDER BY id")
            ]

        announcer = AgentChangeAnnouncer(producer, pool, topics.case_events, 10)
        sent = await announcer.announce()
        again = await announcer.announce()
        left = await pool.fetchval("SELECT count(*) FROM agent_changes")
    finally:
        await producer.stop()
        await pool.close()

    assert created == 0  # nobody watches an agent that did not exist
    # queue added, role, token, disabled, queue removed by cascade
    assert recorded == [ana.id, ana.id, ana.id, ben.id, ana.id]
    assert (sent, again, left) == (2, 0, 0)
    records = await read_all(kafka_bootstrap, topics.case_events, count=2)
    assert sorted(records) == sorted(
        [(f"agent:{ana.id}".encode(), ana.id), (f"agent:{ben.id}".encode(), ben.id)]
    )


async def read_all(bootstrap: str, topic: str, count: int) -> list[tuple[bytes, int]]:
    """The first ``count`` records of ``topic``, as (key, agent id)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[tuple[bytes, int]] = []
    try:
        async with asyncio.timeout(15):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        event = CASE_EVENT.validate_json(record.value)
                        assert isinstance(event, AgentChanged)
                        found.append((record.key, event.agent_id))
    finally:
        await consumer.stop()
    return found
