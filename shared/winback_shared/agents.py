"""Agents, their roles, tokens and queue memberships.

Tokens are 256-bit random strings shown once; only their SHA-256 is stored. A slow password hash
buys nothing for tokens this long, and a lookup by hash stays one indexed query. That lookup is
also why no comparison can leak a token through timing: what the database compares is the
digest, whose bytes an attacker cannot steer towards the stored one. Each token expires
(``token_expires_at``, stamped when it is issued; ``WINBACK_TOKEN_LIFETIME_DAYS``, 30 by default).

Roles are a ladder: a supervisor may do everything an agent may (on every queue) and reassign;
an admin may do everything a supervisor may and manage agents and queues. Agents see and act on
the cases of the queues they belong to.

Every change to an existing agent made here (or anywhere else in SQL) is recorded by triggers in
the ``agent_changes`` outbox, which notifiers announce so open consoles follow it live.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import asyncpg

from winback_shared.db import Connection

DEFAULT_QUEUE = "default"
"""Where cases go when no routing rule matches; new agents join it unless told otherwise."""

DEFAULT_TOKEN_LIFETIME = timedelta(days=30)
"""How long a token works unless its issuer says otherwise (``WINBACK_TOKEN_LIFETIME_DAYS``)."""


class Role(StrEnum):
    """What an authenticated person may do."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True)
class Agent:
    """An authenticated agent and the queues it belongs to."""

    id: int
    name: str
    role: Role
    queues: frozenset[str] = field(default_factory=frozenset)
    token_expires_at: datetime | None = None
    """When the agent's current token stops working (``None``: never)."""

    @property
    def is_supervisor(self) -> bool:
        """The supervisor rule, for every check that needs one: supervisors and admins."""
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        """The admin rule: admins only."""
        return self.role is Role.ADMIN

    @property
    def sees_all_queues(self) -> bool:
        """Supervisors see every queue, members or not."""
        return self.is_supervisor

    @property
    def may_reassign(self) -> bool:
        """Moving a case to another agent or queue is a supervisor's call."""
        return self.is_supervisor

    @property
    def may_administer(self) -> bool:
        """Creating agents and queues, and changing memberships."""
        return self.is_admin

    def sees_queue(self, queue: str) -> bool:
        """Whether cases of ``queue`` are visible to this agent."""
        return self.sees_all_queues or queue in self.queues


class UnknownQueueError(ValueError):
    """A membership names a queue that does not exist."""


@dataclass(frozen=True)
class TokenExpired:
    """The token was an enabled agent's, but its lifetime is over: it needs a new one."""

    expired_at: datetime

    @property
    def message(self) -> str:
        """What the caller is told (a 401's message, a websocket's close reason)."""
        when = self.expired_at.astimezone(UTC)
        return f"token expired at {when:%Y-%m-%d %H:%M} UTC; ask an admin for a new one"


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


_AGENT_COLUMNS = """
    a.id, a.name, a.role, a.token_expires_at,
    COALESCE(ARRAY(SELECT q.queue FROM agent_queues q WHERE q.agent_id = a.id ORDER BY 1),
             '{}') AS queues
"""


def _agent(row: asyncpg.Record) -> Agent:
    return Agent(
        id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        queues=frozenset(row["queues"]),
        token_expires_at=row["token_expires_at"],
    )


async def issue_token(
    conn: Connection,
    *,
    name: str,
    role: Role,
    queues: Iterable[str] | None = None,
    lifetime: timedelta | None = DEFAULT_TOKEN_LIFETIME,
) -> tuple[Agent, str]:
    """Create the agent if new, give it a fresh token and return both.

    The token exists only in this return value; an earlier token of the same agent stops working.
    It works for ``lifetime`` from now (by the database's clock, the one sign-in checks against;
    ``None``: for ever). A new agent joins ``queues`` (the default queue when ``None``), creating
    missing queues; an existing agent keeps its role and memberships.
    """
    token = secrets.token_urlsafe(32)
    async with conn.transaction():
        row = await conn.fetchrow(
            """
            INSERT INTO agents (name, role, token_sha256, token_expires_at)
            VALUES ($1, $2, $3, now() + $4::interval)
            ON CONFLICT (name) DO UPDATE SET token_sha256 = EXCLUDED.token_sha256,
                                             token_expires_at = EXCLUDED.token_expires_at
            RETURNING id, (xmax = 0) AS created
            """,
            name,
            role.value,
            _digest(token),
            lifetime,
        )
        assert row is not None  # INSERT ... RETURNING always returns the row
        if row["created"]:
            # Nobody can be watching an agent that does not exist yet: its first memberships
            # are not announced to consoles (migration 0006's trigger reads this setting).
            await conn.execute(
                "SELECT set_config('winback.new_agent_id', $1, true)", str(row["id"])
            )
            wanted = [DEFAULT_QUEUE] if queues is None else list(queues)
            await ensure_queues(conn, wanted)
            await set_queues(conn, agent_id=row["id"], queues=wanted)
        agent = await get_agent(conn, row["id"])
    assert agent is not None
    return agent, token


async def sign_in(conn: Connection | asyncpg.Pool, token: str) -> Agent | TokenExpired | None:
    """The enabled agent owning ``token``; :class:`TokenExpired` past its lifetime; else ``None``.

    Only the token's digest reaches the database, and expiry is judged by the database's clock,
    the one that stamped it.
    """
    if not token or len(token) > 200:
        return None
    row = await conn.fetchrow(
        f"SELECT {_AGENT_COLUMNS}, a.token_expires_at <= now() AS expired"
        " FROM agents a WHERE a.token_sha256 = $1 AND a.disabled_at IS NULL",
        _digest(token),
    )
    if row is None:
        return None
    if row["expired"]:
        return TokenExpired(row["token_expires_at"])
    return _agent(row)


async def authenticate(conn: Connection | asyncpg.Pool, token: str) -> Agent | None:
    """The enabled agent owning ``token`` while it has not expired, or ``None``."""
    signed_in = await sign_in(conn, token)
    return signed_in if isinstance(signed_in, Agent) else None


async def get_agent(conn: Connection | asyncpg.Pool, agent_id: int) -> Agent | None:
    """The agent with that id, enabled or not."""
    row = await conn.fetchrow(f"SELECT {_AGENT_COLUMNS} FROM agents a WHERE a.id = $1", agent_id)
    return None if row is None else _agent(row)


async def find_agent(conn: Connection | asyncpg.Pool, name: str) -> Agent | None:
    """The enabled agent with that name."""
    row = await conn.fetchrow(
        f"SELECT {_AGENT_COLUMNS} FROM agents a WHERE a.name = $1 AND a.disabled_at IS NULL",
        name,
    )
    return None if row is None else _agent(row)


async def list_agents(conn: Connection | asyncpg.Pool) -> list[Agent]:
    """Every enabled agent, by name."""
    rows = await conn.fetch(
        f"SELECT {_AGENT_COLUMNS} FROM agents a WHERE a.disabled_at IS NULL ORDER BY a.name"
    )
    return [_agent(row) for row in rows]


async def set_role(conn: Connection, *, agent_id: int, role: Role) -> None:
    """Change what an agent may do."""
    await conn.execute("UPDATE agents SET role = $2 WHERE id = $1", agent_id, role.value)


async def disable_agent(conn: Connection, *, agent_id: int) -> None:
    """Stop the agent's token from working; its history keeps its name."""
    await conn.execute(
        "UPDATE agents SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL", agent_id
    )


async def ensure_queues(conn: Connection, names: Iterable[str], description: str = "") -> None:
    """Create the queues that do not exist yet; existing ones keep their description."""
    await conn.execute(
        """
        INSERT INTO queues (name, description) SELECT unnest($1::text[]), $2
        ON CONFLICT (name) DO NOTHING
        """,
        list(names),
        description,
    )


async def create_queue(conn: Connection, *, name: str, description: str = "") -> bool:
    """Create a queue; ``False`` if one of that name exists."""
    created = await conn.fetchval(
        "INSERT INTO queues (name, description) VALUES ($1, $2)"
        " ON CONFLICT (name) DO NOTHING RETURNING name",
        name,
        description,
    )
    return created is not None


async def list_queues(conn: Connection | asyncpg.Pool) -> list[tuple[str, str, list[str]]]:
    """Every queue as (name, description, member names)."""
    rows = await conn.fetch(
        """
        SELECT q.name, q.description,
               COALESCE(ARRAY(SELECT a.name FROM agent_queues m JOIN agents a ON a.id = m.agent_id
                              WHERE m.queue = q.name AND a.disabled_at IS NULL ORDER BY 1),
                        '{}') AS members
        FROM queues q ORDER BY q.name
        """
    )
    return [(row["name"], row["description"], list(row["members"])) for row in rows]


async def set_queues(conn: Connection, *, agent_id: int, queues: Iterable[str]) -> None:
    """Make ``queues`` exactly the agent's memberships; every queue must exist."""
    wanted = sorted(set(queues))
    async with conn.transaction():
        known = {
            row["name"]
            for row in await conn.fetch(
                "SELECT name FROM queues WHERE name = ANY($1::text[])", wanted
            )
        }
        missing = [name for name in wanted if name not in known]
        if missing:
            raise UnknownQueueError(f"no such queue: {', '.join(missing)}")
        await conn.execute(
            "DELETE FROM agent_queues WHERE agent_id = $1 AND NOT (queue = ANY($2::text[]))",
            agent_id,
            wanted,
        )
        await conn.execute(
            """
            INSERT INTO agent_queues (agent_id, queue) SELECT $1, unnest($2::text[])
            ON CONFLICT DO NOTHING
            """,
            agent_id,
            wanted,
        )
