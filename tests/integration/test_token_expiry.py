"""Agent tokens on the real database: stored only as a digest, and refused once expired.

Time is not waited out: a token's expiry is moved into the past in the table, which is what
its passing would do.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.case_support import CaseDesk, running_desk
from winback_notifier.agents import cli as admin
from winback_shared.agents import Agent, Role, TokenExpired, issue_token, sign_in
from winback_shared.db import create_pool
from winback_shared.migrations import apply_migrations


async def expire(desk: CaseDesk, name: str) -> None:
    """Let the agent's token run out, as if its lifetime had passed."""
    await desk.pool.execute(
        "UPDATE agents SET token_expires_at = now() - interval '1 second' WHERE name = $1", name
    )


async def refused_console(desk: CaseDesk, token: str) -> tuple[int | None, str | None]:
    """Sign a console in with ``token``; the close code and reason it gets instead of hello."""
    async with connect(desk.websocket_url) as socket:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(socket.recv(), 10)
    return socket.close_code, socket.close_reason


async def test_a_token_is_stored_only_as_its_sha256(case_desk: CaseDesk) -> None:
    token = await case_desk.agent("dana")
    row = await case_desk.pool.fetchrow("SELECT * FROM agents WHERE name = 'dana'")
    assert row is not None
    assert row["token_sha256"] == hashlib.sha256(token.encode()).digest()
    # nowhere in the row, in any column, in any spelling
    stored = await case_desk.pool.fetchval(
        "SELECT row_to_json(a)::text FROM agents a WHERE name = 'dana'"
    )
    assert token not in stored and token.encode().hex() not in stored


async def test_an_expired_token_gets_401_saying_so_over_http_and_the_websocket(
    case_desk: CaseDesk,
) -> None:
    token = await case_desk.agent("dana")
    assert (await case_desk.call("GET", "/api/me", token)).status_code == 200

    await expire(case_desk, "dana")
    answer = await case_desk.call("GET", "/api/me", token)
    assert answer.status_code == 401
    error = answer.json()["error"]
    assert error["code"] == "token_expired"
    assert error["message"].startswith("token expired at ")
    assert error["message"].endswith("ask an admin for a new one")

    code, reason = await refused_console(case_desk, token)
    assert code == 4401 and reason is not None and reason.startswith("token expired at ")

    await case_desk.agent("dana")  # a new token works again; the old one stays refused
    assert (await case_desk.call("GET", "/api/me", token)).status_code == 401


@pytest.mark.parametrize(("days", "expected"), [(2.0, timedelta(days=2)), (0.0, None)])
async def test_tokens_issued_by_the_admin_api_live_the_configured_lifetime(
    infra_env: dict[str, Any], days: float, expected: timedelta | None
) -> None:
    async with running_desk(infra_env, token_lifetime_days=days) as desk:
        root = await desk.agent("root", Role.ADMIN)
        created = await desk.call("POST", "/api/admin/agents", root, {"name": "vic"})
        renewed = await desk.call("POST", "/api/admin/agents/vic/token", root)
    for answer in (created, renewed):
        assert answer.status_code in (200, 201), answer.text
        expires_at = answer.json()["expires_at"]
        if expected is None:
            assert expires_at is None
        else:
            lifetime = datetime.fromisoformat(expires_at) - datetime.now(UTC)
            assert expected - timedelta(minutes=5) < lifetime <= expected


async def test_the_cli_issues_tokens_with_the_lifetime_asked_for(
    schema_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", schema_url)
    monkeypatch.setenv("WINBACK_TOKEN_LIFETIME_DAYS", "7")
    assert await asyncio.to_thread(admin.main, ["issue-token", "--name", "dana"]) == 0
    default = capsys.readouterr().out.strip()
    argv = ["issue-token", "--name", "eve", "--lifetime-days", "0.5"]
    assert await asyncio.to_thread(admin.main, argv) == 0
    short = capsys.readouterr().out.strip()
    pool = await create_pool(schema_url, max_size=1)
    try:
        lifetimes = [
            await pool.fetchval(
                "SELECT token_expires_at - now() FROM agents WHERE token_sha256 = $1",
                hashlib.sha256(token.encode()).digest(),
            )
            for token in (default, short)
        ]
    finally:
        await pool.close()
    assert timedelta(days=6, hours=23) < lifetimes[0] <= timedelta(days=7)
    assert timedelta(hours=11) < lifetimes[1] <= timedelta(hours=12)


async def test_a_token_issued_without_a_lifetime_works_until_given_an_expiry(
    schema_url: str,
) -> None:
    pool = await create_pool(schema_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            _, token = await issue_token(conn, name="old", role=Role.AGENT, lifetime=None)
            assert await conn.fetchval("SELECT token_expires_at FROM agents") is None
            assert isinstance(await sign_in(conn, token), Agent)
            await conn.execute("UPDATE agents SET token_expires_at = now() - interval '1 day'")
            refused = await sign_in(conn, token)
    finally:
        await pool.close()
    assert isinstance(refused, TokenExpired)
