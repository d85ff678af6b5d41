"""Agents and their tokens.

Tokens are 256-bit random strings shown once; only their SHA-256 is stored. A slow password hash
buys nothing for tokens this long, and a lookup by hash stays one indexed query.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from winback_shared.db import Connection


class Role(StrEnum):
    """What an authenticated person may do."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Agent:
    """An authenticated agent."""

    id: int
    name: str
    role: Role


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue_token(conn: Connection, *, name: str, role: Role) -> tuple[Agent, str]:
    """Create the agent if new, give it a fresh token and return both.

    The token exists only in this return value; an earlier token of the same agent stops working.
    """
    token = secrets.token_urlsafe(32)
    row = await conn.fetchrow(
        """
        INSERT INTO agents (name, role, token_sha256) VALUES ($1, $2, $3)
        ON CONFLICT (name) DO UPDATE SET token_sha256 = EXCLUDED.token_sha256
        RETURNING id, role
        """,
        name,
        role.value,
        _digest(token),
    )
    assert row is not None  # INSERT ... RETURNING always returns the row
    return Agent(id=row["id"], name=name, role=Role(row["role"])), token


async def authenticate(conn: Connection | asyncpg.Pool, token: str) -> Agent | None:
    """The agent owning ``token``, or ``None``."""
    if not token or len(token) > 200:
        return None
    row = await conn.fetchrow(
        "SELECT id, name, role FROM agents WHERE token_sha256 = $1", _digest(token)
    )
    return None if row is None else Agent(id=row["id"], name=row["name"], role=Role(row["role"]))
