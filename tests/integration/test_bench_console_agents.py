"""``--console-agents``: the consoles sign in as agents of their own, each with its own token.

The tokens are issued in the database as the bench issues them, and the compiled generator is
run against a websocket endpoint that records which token each console sent.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from starlette.types import Receive, Scope, Send

from tests.support import serve
from winback_local.bench import console_agents, loadgen
from winback_local.bench.bare_consoles import create_app as bare_consoles
from winback_local.bench.loadgen import Consoles, Plan
from winback_shared.agents import Role, authenticate

pytestmark = pytest.mark.integration


async def test_each_agent_gets_a_token_of_its_own_and_a_new_run_replaces_them(
    pool: asyncpg.Pool, schema_url: str, tmp_path: Path
) -> None:
    path = await asyncio.to_thread(
        console_agents.write_tokens, tmp_path / "tokens.txt", schema_url, 3
    )
    tokens = path.read_text().splitlines()

    agents = [await authenticate(pool, token) for token in tokens]
    assert [agent.name if agent else None for agent in agents] == [
        "bench-console-0001",
        "bench-console-0002",
        "bench-console-0003",
    ]
    assert all(agent is not None and agent.role is Role.SUPERVISOR for agent in agents)

    await console_agents.issue_tokens(schema_url, 3)  # the next run's
    assert [await authenticate(pool, token) for token in tokens] == [None] * 3


class TokenRecorder:
    """The bare consoles endpoint, remembering the token each console signed in with."""

    def __init__(self) -> None:
        self.app = bare_consoles(snapshot_bytes=2000)
        self.tokens: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def recording() -> Any:
            message = await receive()
            if message["type"] == "websocket.receive" and message.get("text"):
                sent = json.loads(message["text"])
                if sent.get("type") == "auth":
                    self.tokens.append(sent["token"])
            return message

        await self.app(scope, recording, send)


@pytest.mark.timeout(300)  # the generator is compiled first unless a build is cached
async def test_the_generator_signs_consoles_in_with_the_file_s_tokens_in_turn(
    tmp_path: Path,
) -> None:
    if shutil.which("go") is None:
        pytest.skip("the load generator needs Go (the bench's own tests say how to get it)")
    binary = await asyncio.to_thread(loadgen.build)
    (tmp_path / "requests.jsonl").write_text("")
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("first\n\nsecond\nthird\n")
    recorder = TokenRecorder()
    async with serve(recorder, websocket_compression=False) as url:
        consoles = Consoles(
            url.replace("http://", "ws://") + "/ws", "unused", reading=6, slow=1, tokens_file=tokens
        )
        plan = Plan(
            requests=tmp_path / "requests.jsonl",
            url=f"{url}/webhooks/none",
            out=tmp_path / "out",
            rate=10,
            consoles=consoles,
            alert_wait=1,
        )
        done = await asyncio.to_thread(
            subprocess.run, plan.argv(binary), capture_output=True, text=True, timeout=120
        )

    assert done.returncode == 0, done.stderr
    assert Counter(recorder.tokens) == {"first": 3, "second": 2, "third": 2}
