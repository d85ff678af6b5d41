"""Who is a supervisor, and the one set of HTTP dependencies that signs a caller in."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.auth_support import EXPIRED_TOKEN, TOKENS, FakePool
from winback_shared.agents import Agent, Role, sign_in
from winback_shared.auth import (
    ADMINS_ONLY,
    SUPERVISORS_ONLY,
    CurrentAdmin,
    CurrentAgent,
    CurrentSupervisor,
    bearer_token,
)
from winback_shared.errors import install_error_handlers


@pytest.mark.parametrize(
    ("role", "supervisor", "admin"),
    [(Role.AGENT, False, False), (Role.SUPERVISOR, True, False), (Role.ADMIN, True, True)],
)
def test_roles_are_a_ladder(role: Role, supervisor: bool, admin: bool) -> None:
    agent = Agent(id=1, name="x", role=role, queues=frozenset({"billing"}))
    assert (agent.is_supervisor, agent.is_admin) == (supervisor, admin)
    # every permission follows from the two rules, so no check can disagree with another
    assert agent.may_reassign is agent.sees_all_queues is supervisor
    assert agent.may_administer is admin
    assert agent.sees_queue("billing") and agent.sees_queue("retention") is supervisor


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (None, ""),
        ("", ""),
        ("Bearer abc", "abc"),
        ("Bearer  abc ", "abc"),
        ("abc", "abc"),  # a bare token is accepted, as it always was
    ],
)
def test_bearer_token(header: str | None, token: str) -> None:
    assert bearer_token(header) == token


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.pool = FakePool()

    @app.get("/agent")
    async def as_agent(agent: CurrentAgent) -> str:
        return agent.name

    @app.get("/supervisor")
    async def as_supervisor(agent: CurrentSupervisor) -> str:
        return agent.name

    @app.get("/admin")
    async def as_admin(agent: CurrentAdmin) -> str:
        return agent.name

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.mark.parametrize("path", ["/agent", "/supervisor", "/admin"])
@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer nobody", "Bearer " + "x" * 300])
async def test_no_valid_token_is_401_with_a_bearer_challenge(
    http: httpx.AsyncClient, path: str, header: str | None
) -> None:
    answer = await http.get(path, headers={} if header is None else {"Authorization": header})
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {"code": "unauthenticated", "message": "a valid agent token is required"}
    }
    assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("token", "path", "status", "message"),
    [
        ("agent-token", "/agent", 200, None),
        ("agent-token", "/supervisor", 403, SUPERVISORS_ONLY),
        ("agent-token", "/admin", 403, ADMINS_ONLY),
        ("lead-token", "/agent", 200, None),
        ("lead-token", "/supervisor", 200, None),
        ("lead-token", "/admin", 403, ADMINS_ONLY),
        ("root-token", "/agent", 200, None),
        ("root-token", "/supervisor", 200, None),
        ("root-token", "/admin", 200, None),
    ],
)
async def test_each_gate_lets_its_roles_through(
    http: httpx.AsyncClient, token: str, path: str, status: int, message: str | None
) -> None:
    answer = await http.get(path, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == status, answer.text
    if message is None:
        assert answer.json() == token
    else:
        assert answer.json() == {"error": {"code": "forbidden", "message": message}}
        assert "www-authenticate" not in answer.headers


@pytest.mark.parametrize("path", ["/agent", "/supervisor", "/admin"])
async def test_an_expired_token_is_401_saying_so(http: httpx.AsyncClient, path: str) -> None:
    answer = await http.get(path, headers={"Authorization": f"Bearer {EXPIRED_TOKEN}"})
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {
            "code": "token_expired",
            "message": "token expired at 2026-11-01 09:30 UTC; ask an admin for a new one",
        }
    }
    assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_sign_in_sends_only_the_digest_never_the_token() -> None:
    """What the database compares is SHA-256 of the token: no timing of that comparison can
    tell an attacker how much of a guessed token was right."""
    pool = FakePool()
    for token in [*TOKENS, EXPIRED_TOKEN, "a-guess"]:
        await sign_in(pool, token)  # type: ignore[arg-type]
    sent = [argument for arguments in pool.arguments for argument in arguments]
    assert len(sent) == len(TOKENS) + 2
    assert all(isinstance(argument, bytes) and len(argument) == 32 for argument in sent)
    assert not any(token.encode() in argument for argument in sent for token in TOKENS)
