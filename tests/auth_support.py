"""Sign-in without a database: a pool that answers the agents lookup from a table of tokens.

Used by the pure tests of the auth gates and of every service's route table; the real lookup
against PostgreSQL is tested in ``tests/integration``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from winback_shared.agents import Role

TOKENS = {"agent-token": Role.AGENT, "lead-token": Role.SUPERVISOR, "root-token": Role.ADMIN}
"""One token per role; a disabled agent or an unknown token is simply absent."""
TOKEN_OF = {role: token for token, role in TOKENS.items()}
EXPIRED_TOKEN = "stale-token"
"""An admin's token whose lifetime is over."""
EXPIRED_AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


class FakePool:
    """Answers ``winback_shared.agents.sign_in``'s one query; records what it was sent."""

    def __init__(self) -> None:
        self.arguments: list[tuple[Any, ...]] = []

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        """The row of the agent whose token has this digest."""
        self.arguments.append(args)
        (digest,) = args
        for number, (token, role) in enumerate([*TOKENS.items(), (EXPIRED_TOKEN, Role.ADMIN)]):
            if hashlib.sha256(token.encode()).digest() == digest:
                expired = token == EXPIRED_TOKEN
                return {
                    "id": number,
                    "name": token,
                    "role": role.value,
                    "queues": ["default"],
                    "token_expires_at": EXPIRED_AT if expired else None,
                    "expired": expired,
                }
        return None
