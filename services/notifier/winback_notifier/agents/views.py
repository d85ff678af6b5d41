"""Admin API: agents, their roles and tokens, queues and who belongs to them. Admins only.

Changes to an existing agent reach its open consoles at once, on every notifier: PostgreSQL
records them in the ``agent_changes`` outbox (migration 0006) as they commit, and the handler
sends the outbox right away instead of waiting for the sweep (see :mod:`.announcer`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from winback_notifier.agents.announcer import AgentChangeAnnouncer
from winback_notifier.deps import ServicesDep
from winback_shared import agents
from winback_shared.agents import Agent, Role, UnknownQueueError
from winback_shared.auth import CurrentAdmin
from winback_shared.errors import ApiError

router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    responses={
        401: {"description": "`unauthenticated`"},
        403: {"description": "`forbidden`: admins only"},
    },
)


def get_announcer(request: Request) -> AgentChangeAnnouncer:
    """The app's agent-change announcer (kept out of the shared ``Services``: only admin views
    announce, and the case views must not depend on the agents room)."""
    announcer: AgentChangeAnnouncer = request.app.state.announcer
    return announcer


AnnouncerDep = Annotated[AgentChangeAnnouncer, Depends(get_announcer)]

AgentName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,79}$")]
QueueName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]


class AgentOut(BaseModel):
    """An agent as admins see it (never its token)."""

    name: str
    role: Role
    queues: list[str]


class NewAgentIn(BaseModel):
    """An agent to create."""

    name: AgentName
    role: Role = Role.AGENT
    queues: list[QueueName] = Field(default_factory=lambda: [agents.DEFAULT_QUEUE])


class IssuedToken(BaseModel):
    """A token, shown this once: only its hash is kept."""

    agent: AgentOut
    token: str
    expires_at: datetime | None = Field(
        description="When the token stops working (`WINBACK_TOKEN_LIFETIME_DAYS`); null: never."
    )


class QueuesIn(BaseModel):
    """The agent's memberships, replacing the current ones."""

    queues: list[QueueName]


class RoleIn(BaseModel):
    """The agent's new role."""

    role: Role


class QueueIn(BaseModel):
    """A queue to create."""

    name: QueueName
    description: Annotated[str, Field(max_length=500)] = ""


class QueueOut(BaseModel):
    """A queue with its members."""

    name: str
    description: str
    members: list[str]


def _out(agent: Agent) -> AgentOut:
    return AgentOut(name=agent.name, role=agent.role, queues=sorted(agent.queues))


def _issued(agent: Agent, token: str) -> IssuedToken:
    return IssuedToken(agent=_out(agent), token=token, expires_at=agent.token_expires_at)


async def _existing(services: ServicesDep, name: str) -> Agent:
    agent = await agents.find_agent(services.pool, name)
    if agent is None:
        raise ApiError(404, "agent_not_found", f"there is no agent {name!r}")
    return agent


async def _missing_queues(services: ServicesDep, names: list[str]) -> None:
    known = {name for name, _, _ in await agents.list_queues(services.pool)}
    missing = sorted(set(names) - known)
    if missing:
        raise ApiError(404, "queue_not_found", f"no such queue: {', '.join(missing)}")


@router.get("/agents", response_model=list[AgentOut])
async def read_agents(services: ServicesDep, admin: CurrentAdmin) -> list[AgentOut]:
    """Every enabled agent."""
    return [_out(agent) for agent in await agents.list_agents(services.pool)]


@router.post("/agents", response_model=IssuedToken, status_code=status.HTTP_201_CREATED)
async def create_agent(services: ServicesDep, admin: CurrentAdmin, body: NewAgentIn) -> IssuedToken:
    """Create an agent in these queues and return its first token; 409 if the name is taken."""
    if await agents.find_agent(services.pool, body.name) is not None:
        raise ApiError(409, "agent_exists", f"agent {body.name!r} exists; issue it a new token")
    await _missing_queues(services, body.queues)
    async with services.pool.acquire() as conn:
        agent, token = await agents.issue_token(
            conn,
            name=body.name,
            role=body.role,
            queues=body.queues,
            lifetime=services.settings.token_lifetime(),
        )
    return _issued(agent, token)


@router.post("/agents/{name}/token", response_model=IssuedToken)
async def create_agent_token(
    services: ServicesDep, announcer: AnnouncerDep, admin: CurrentAdmin, name: str
) -> IssuedToken:
    """Give the agent a new token; the previous one stops working, and consoles signed in with
    it are closed (4401)."""
    existing = await _existing(services, name)
    async with services.pool.acquire() as conn:
        agent, token = await agents.issue_token(
            conn,
            name=existing.name,
            role=existing.role,
            lifetime=services.settings.token_lifetime(),
        )
    await announcer.announce_now()
    return _issued(agent, token)


@router.put("/agents/{name}/queues", response_model=AgentOut)
async def update_agent_queues(
    services: ServicesDep, announcer: AnnouncerDep, admin: CurrentAdmin, name: str, body: QueuesIn
) -> AgentOut:
    """Replace the agent's queue memberships; its open consoles switch to the new queues at
    once (a fresh `hello` and `snapshot`), without reconnecting."""
    agent = await _existing(services, name)
    async with services.pool.acquire() as conn:
        try:
            await agents.set_queues(conn, agent_id=agent.id, queues=body.queues)
        except UnknownQueueError as exc:
            raise ApiError(404, "queue_not_found", str(exc)) from None
    await announcer.announce_now()
    return _out(await _existing(services, name))


@router.put("/agents/{name}/role", response_model=AgentOut)
async def update_agent_role(
    services: ServicesDep, announcer: AnnouncerDep, admin: CurrentAdmin, name: str, body: RoleIn
) -> AgentOut:
    """Change what the agent may do; its open consoles follow at once (`hello`, `snapshot`)."""
    agent = await _existing(services, name)
    async with services.pool.acquire() as conn:
        await agents.set_role(conn, agent_id=agent.id, role=body.role)
    await announcer.announce_now()
    return _out(await _existing(services, name))


@router.delete("/agents/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(
    services: ServicesDep, announcer: AnnouncerDep, admin: CurrentAdmin, name: str
) -> None:
    """Disable the agent: its token stops working, its open consoles are closed (4401), its
    name stays in case histories."""
    agent = await _existing(services, name)
    if agent.id == admin.id:
        raise ApiError(409, "cannot_disable_self", "an admin cannot disable their own account")
    async with services.pool.acquire() as conn:
        await agents.disable_agent(conn, agent_id=agent.id)
    await announcer.announce_now()


@router.get("/queues", response_model=list[QueueOut])
async def read_queues(services: ServicesDep, admin: CurrentAdmin) -> list[QueueOut]:
    """Every queue with its members."""
    return [
        QueueOut(name=name, description=description, members=members)
        for name, description, members in await agents.list_queues(services.pool)
    ]


@router.post("/queues", response_model=QueueOut, status_code=status.HTTP_201_CREATED)
async def create_queue(services: ServicesDep, admin: CurrentAdmin, body: QueueIn) -> QueueOut:
    """Create a queue that routing rules can send cases to; 409 if it exists."""
    async with services.pool.acquire() as conn:
        created = await agents.create_queue(conn, name=body.name, description=body.description)
    if not created:
        raise ApiError(409, "queue_exists", f"queue {body.name!r} exists")
    return QueueOut(name=body.name, description=body.description, members=[])
