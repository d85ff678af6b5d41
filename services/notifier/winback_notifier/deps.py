"""What every request handler needs: the signed-in agent, and the notifier's shared services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends, Header, Request

from winback_notifier.cases.publisher import CaseEventPublisher
from winback_notifier.settings import NotifierSettings
from winback_shared.agents import Agent, authenticate
from winback_shared.errors import ApiError
from winback_shared.taxonomy import Taxonomy


@dataclass(frozen=True)
class Services:
    """Built once in the app's lifespan; handlers reach it through ``ServicesDep``."""

    settings: NotifierSettings
    pool: asyncpg.Pool
    publisher: CaseEventPublisher
    taxonomy: Taxonomy


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def current_agent(
    services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> Agent:
    """The agent behind ``Authorization: Bearer <token>``; 401 otherwise."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    agent = await authenticate(services.pool, token)
    if agent is None:
        raise ApiError(
            401,
            "unauthenticated",
            "a valid agent token is required",
            {"WWW-Authenticate": "Bearer"},
        )
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]


async def current_supervisor(agent: CurrentAgent) -> Agent:
    """The signed-in agent if it may reassign cases (supervisors and admins); 403 otherwise."""
    if not agent.may_reassign:
        raise ApiError(403, "forbidden", "only a supervisor may reassign a case")
    return agent


CurrentSupervisor = Annotated[Agent, Depends(current_supervisor)]


async def current_admin(agent: CurrentAgent) -> Agent:
    """The signed-in agent if it is an admin; 403 otherwise."""
    if not agent.may_administer:
        raise ApiError(403, "forbidden", "only an admin may manage agents and queues")
    return agent


CurrentAdmin = Annotated[Agent, Depends(current_admin)]
