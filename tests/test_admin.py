"""The token command works against a real database and the token it prints authenticates."""

from __future__ import annotations

import asyncio

import pytest

from winback_notifier import admin
from winback_shared.agents import Role, authenticate
from winback_shared.db import create_pool


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
