"""Who is calling an HTTP API: the agent behind ``Authorization: Bearer <token>``, and its role.

One set of dependencies for every app that has agents: the notifier's case, ops and admin APIs
and the router's dead-letter endpoints. The app's lifespan must set ``app.state.pool`` (an
asyncpg pool on the schema that holds ``agents``). The role rules themselves are properties of
:class:`~winback_shared.agents.Agent` (``is_supervisor``, ``is_admin``), so a gate here and a
case rule elsewhere can never disagree about who is a supervisor.

Answers: 401 ``unauthenticated`` with ``WWW-Authenticate: Bearer`` when no enabled agent owns
the token (none given, unknown, replaced, or its agent disabled); 401 ``token_expired`` (the
message says when, and to ask an admin for a new one) when its lifetime is over; 403
``forbidden`` when the agent's role is too low.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Request

from winback_shared.agents import Agent, TokenExpired, sign_in
from winback_shared.errors import ApiError

SUPERVISORS_ONLY = "only supervisors and admins may do this"
ADMINS_ONLY = "only an admin may manage agents and queues"


def bearer_token(authorization: str | None) -> str:
    """The token in an ``Authorization`` header: ``Bearer <token>`` (or the bare token)."""
    return (authorization or "").removeprefix("Bearer ").strip()


async def current_agent(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Agent:
    """The enabled agent behind ``Authorization: Bearer <token>``; 401 otherwise."""
    pool: asyncpg.Pool = request.app.state.pool
    signed_in = await sign_in(pool, bearer_token(authorization))
    if isinstance(signed_in, TokenExpired):
        challenge = 'Bearer error="invalid_token", error_description="token expired"'
        raise ApiError(401, "token_expired", signed_in.message, {"WWW-Authenticate": challenge})
    if signed_in is None:
        raise ApiError(
            401,
            "unauthenticated",
            "a valid agent token is required",
            {"WWW-Authenticate": "Bearer"},
        )
    return signed_in


CurrentAgent = Annotated[Agent, Depends(current_agent)]


async def current_supervisor(agent: CurrentAgent) -> Agent:
    """The signed-in agent if it is a supervisor (or an admin); 403 otherwise."""
    if not agent.is_supervisor:
        raise ApiError(403, "forbidden", SUPERVISORS_ONLY)
    return agent


CurrentSupervisor = Annotated[Agent, Depends(current_supervisor)]


async def current_admin(agent: CurrentAgent) -> Agent:
    """The signed-in agent if it is an admin; 403 otherwise."""
    if not agent.is_admin:
        raise ApiError(403, "forbidden", ADMINS_ONLY)
    return agent


CurrentAdmin = Annotated[Agent, Depends(current_admin)]
