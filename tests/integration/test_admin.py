"""Managing agents, tokens and queues: the admin CLI and the admin API, on a real database."""

from __future__ import annotations

import asyncio

import pytest

from tests.case_support import CaseDesk
from winback_notifier.agents import cli as admin
from winback_shared.agents import Role, authenticate, issue_token
from winback_shared.db import create_pool
from winback_shared.migrations import apply_migrations


async def test_issue_token_prints_a_token_that_authenticates(
    schema_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", schema_url)

    code = await asyncio.to_thread(
        admin.main, ["issue-token", "--name", "dana", "--role", "supervisor"]
    )

    token = capsys.readouterr().out.strip()
    assert code == 0
    pool = await create_pool(schema_url, max_size=1)
    try:
        agent = await authenticate(pool, token)
        again = await asyncio.to_thread(admin.main, ["issue-token", "--name", "dana"])
        replaced = await authenticate(pool, token)
    finally:
        await pool.close()
    assert agent is not None and agent.name == "dana" and agent.role is Role.SUPERVISOR
    assert again == 0
    assert replaced is None  # a new token retires the old one


async def test_cli_manages_queues_memberships_and_roles(
    schema_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", schema_url)

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(admin.main, list(argv))
        captured = capsys.readouterr()
        return code, captured.out.strip(), captured.err.strip()

    code, token, _ = await run("issue-token", "--name", "bill", "--queue", "billing")
    assert code == 0
    assert (await run("create-queue", "retention", "--description", "Churn risk"))[0] == 0
    assert (await run("create-queue", "retention"))[:3:2] == (1, "error: queue 'retention' exists")
    assert (await run("set-queues", "--name", "bill", "billing", "retention"))[0] == 0
    missing = await run("set-queues", "--name", "bill", "nowhere")
    assert missing[0] == 1 and "no such queue: nowhere" in missing[2]
    assert (await run("set-role", "--name", "bill", "supervisor"))[0] == 0
    listing = (await run("list"))[1]

    pool = await create_pool(schema_url, max_size=1)
    try:
        agent = await authenticate(pool, token)
        assert (await run("disable", "--name", "bill"))[0] == 0
        disabled = await authenticate(pool, token)
    finally:
        await pool.close()
    assert agent is not None
    assert agent.role is Role.SUPERVISOR and agent.queues == {"billing", "retention"}
    assert "bill (supervisor): billing, retention" in listing
    assert "retention - Churn risk: bill" in listing
    assert disabled is None


async def test_new_agents_join_the_default_queue(schema_url: str) -> None:
    pool = await create_pool(schema_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            agent, _ = await issue_token(conn, name="dana", role=Role.AGENT)
            again, _ = await issue_token(conn, name="dana", role=Role.ADMIN, queues=["x"])
    finally:
        await pool.close()
    assert agent.queues == {"default"}
    assert again.queues == {"default"} and again.role is Role.AGENT  # existing agents keep theirs


async def test_admin_api_is_for_admins_only(case_desk: CaseDesk) -> None:
    root = await case_desk.agent("root", Role.ADMIN)
    sue = await case_desk.agent("sue", Role.SUPERVISOR)
    for token in (sue, await case_desk.agent("ana")):
        for method, path, body in [
            ("GET", "/api/admin/agents", None),
            ("POST", "/api/admin/agents", {"name": "eve", "role": "admin"}),
            ("POST", "/api/admin/queues", {"name": "vip"}),
            ("PUT", "/api/admin/agents/root/role", {"role": "agent"}),
            ("DELETE", "/api/admin/agents/root", None),
        ]:
            answer = await case_desk.call(method, path, token, body)
            assert answer.status_code == 403, (path, answer.text)
            assert answer.json()["error"]["code"] == "forbidden"
    names = [a["name"] for a in (await case_desk.call("GET", "/api/admin/agents", root)).json()]
    assert names == ["ana", "root", "sue"]  # eve was never created


async def test_admin_api_creates_agents_queues_and_tokens(case_desk: CaseDesk) -> None:
    root = await case_desk.agent("root", Role.ADMIN)

    queue = await case_desk.call(
        "POST", "/api/admin/queues", root, {"name": "vip", "description": "Gold customers"}
    )
    again = await case_desk.call("POST", "/api/admin/queues", root, {"name": "vip"})
    bad_name = await case_desk.call("POST", "/api/admin/queues", root, {"name": "Not OK"})
    created = await case_desk.call(
        "POST", "/api/admin/agents", root, {"name": "vic", "queues": ["vip"]}
    )
    duplicate = await case_desk.call("POST", "/api/admin/agents", root, {"name": "vic"})
    unknown_queue = await case_desk.call(
        "POST", "/api/admin/agents", root, {"name": "zed", "queues": ["nowhere"]}
    )
    member = await case_desk.call(
        "PUT", "/api/admin/agents/vic/queues", root, {"queues": ["vip", "default"]}
    )
    promoted = await case_desk.call(
        "PUT", "/api/admin/agents/vic/role", root, {"role": "supervisor"}
    )
    reissued = await case_desk.call("POST", "/api/admin/agents/vic/token", root)
    self_disable = await case_desk.call("DELETE", "/api/admin/agents/root", root)
    queues = (await case_desk.call("GET", "/api/admin/queues", root)).json()

    assert queue.status_code == 201
    assert again.status_code == 409 and again.json()["error"]["code"] == "queue_exists"
    assert bad_name.status_code == 422
    assert created.status_code == 201
    assert created.json()["agent"] == {"name": "vic", "role": "agent", "queues": ["vip"]}
    first_token = created.json()["token"]
    assert duplicate.status_code == 409
    assert unknown_queue.status_code == 404
    assert member.json()["queues"] == ["default", "vip"]
    assert promoted.json()["role"] == "supervisor"
    assert reissued.status_code == 200 and reissued.json()["token"] != first_token
    assert (await case_desk.call("GET", "/api/me", first_token)).status_code == 401
    me = await case_desk.call("GET", "/api/me", reissued.json()["token"])
    assert me.json()["role"] == "supervisor"
    assert self_disable.status_code == 409
    assert {"name": "vip", "description": "Gold customers", "members": ["vic"]} in queues
