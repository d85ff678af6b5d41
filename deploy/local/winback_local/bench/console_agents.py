"""Agents of their own for the consoles steps: a shift signs in as many agents as consoles.

With one token for every console (the stack's demo agent), the notifier encodes one ``hello``
and splices one ``snapshot`` frame for the whole crowd (``live.board``): a flattering case. A
real floor is hundreds of agents, each with a token of their own, so each console gets its own
hello and its own cursor in its snapshot. ``--console-agents N`` signs the consoles in as N
agents, in turn. They are supervisors, like the demo agent, so they see every queue: the same
board and the same alerts as the single-token steps, only the agents differ.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from winback_shared.agents import Role, issue_token
from winback_shared.db import create_pool

NAME_PREFIX = "bench-console-"


async def issue_tokens(database_url: str, count: int) -> list[str]:
    """A fresh token for each of ``count`` agents (``bench-console-0001`` ...), created if
    missing; tokens issued by an earlier run stop working."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        tokens = []
        async with pool.acquire() as conn:
            for number in range(1, count + 1):
                name = f"{NAME_PREFIX}{number:04d}"
                tokens.append((await issue_token(conn, name=name, role=Role.SUPERVISOR))[1])
        return tokens
    finally:
        await pool.close()


def write_tokens(path: Path, database_url: str, count: int) -> Path:
    """The tokens of :func:`issue_tokens`, one a line, in ``path`` (the generator's
    ``-tokens-file``)."""
    tokens = asyncio.run(issue_tokens(database_url, count))
    path.write_text("".join(f"{token}\n" for token in tokens))
    return path
