"""The shared sign-in against the real agents tables: disabled agents, replaced tokens, roles."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from winback_shared.agents import Role, disable_agent, issue_token, set_role
from winback_shared.auth import CurrentSupervisor
from winback_shared.errors import install_error_handlers


@pytest.fixture
async def http(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.pool = pool

    @app.get("/leads")
    async def for_supervisors(agent: CurrentSupervisor) -> str:
        return agent.name

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_a_supervisor_is_let_in_until_disabled_demoted_or_given_a_new_token(
    pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    async def status(token: str) -> int:
        answer = await http.get("/leads", headers={"Authorization": f"Bearer {token}"})
        return answer.status_code

    async with pool.acquire() as conn:
        lead, first = await issue_token(conn, name="lead", role=Role.SUPERVISOR)
        _, root = await issue_token(conn, name="root", role=Role.ADMIN)
        demoted, sue = await issue_token(conn, name="sue", role=Role.SUPERVISOR)
    assert [await status(token) for token in (first, root, sue)] == [200, 200, 200]

    async with pool.acquire() as conn:
        _, second = await issue_token(conn, name="lead", role=Role.SUPERVISOR)
        await set_role(conn, agent_id=demoted.id, role=Role.AGENT)
    assert (await status(first), await status(second), await status(sue)) == (401, 200, 403)

    async with pool.acquire() as conn:
        await disable_agent(conn, agent_id=lead.id)
    assert await status(second) == 401
