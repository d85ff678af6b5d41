"""Who a case may be reassigned to: the list a supervisor picks from instead of typing a name.

The list is computed with the same predicate the reassign rule checks
(:meth:`winback_shared.agents.Agent.sees_queue`, used by ``workflow._reassigned``), so the
console never offers a choice that ``POST /api/cases/{id}/reassign`` would refuse with
``not_a_member``, and an agent the rule would accept is never missing from it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from winback_notifier.cases import service as cases
from winback_notifier.cases.rules import CaseRefused
from winback_notifier.deps import ServicesDep
from winback_shared import agents
from winback_shared.agents import Role
from winback_shared.auth import CurrentSupervisor

router = APIRouter(prefix="/api", tags=["cases"])


class Assignee(BaseModel):
    """An enabled agent who may own the case in the target queue."""

    name: str
    role: Role
    queues: list[str] = Field(description="The agent's memberships (supervisors see all queues).")
    owner: bool = Field(description="Whether the agent owns the case now.")


class Assignees(BaseModel):
    """Where the case is, where it may go, and who may take it there."""

    case_id: int
    case_queue: str = Field(description="The queue the case is in now.")
    owner: str | None = Field(description="Who owns the case now, if anybody.")
    queue: str = Field(description="The target queue the agents below were chosen for.")
    queues: list[str] = Field(description="Every queue the case may be moved to.")
    agents: list[Assignee] = Field(
        description="Members of the target queue, then supervisors and admins (they may own a "
        "case in any queue); each by name."
    )


RESPONSES: dict[int | str, dict[str, str]] = {
    401: {"description": "`unauthenticated`: no valid token"},
    403: {"description": "`forbidden`: only supervisors and admins reassign"},
    404: {"description": "`case_not_found`, or `queue_not_found` for an unknown `queue`"},
}


@router.get("/cases/{case_id}/assignees", response_model=Assignees, responses=RESPONSES)
async def read_case_assignees(
    services: ServicesDep,
    supervisor: CurrentSupervisor,
    case_id: int,
    queue: Annotated[
        str | None,
        Query(description="The queue the case would move to; default: the queue it is in."),
    ] = None,
) -> Assignees:
    """Supervisors and admins: every enabled agent who may own the case in `queue`.

    That is the members of `queue` (default: the queue the case is in) and the supervisors and
    admins, who may own a case in any queue, each with their own queues. Not every agent: a
    name the reassign call would refuse (409 `not_a_member`) only sets up a failed click. Not
    only the case's queue either: a supervisor often moves a case and names its new owner in
    one call, so the console asks again with `?queue=` for the queue chosen. `queues` lists
    where the case may move, which supervisors cannot learn elsewhere (the admin API is for
    admins). Agents get 403 whatever the case id, so the answer never tells them which cases
    exist.
    """
    card = await cases.get_card(services.pool, supervisor, case_id)
    known = [name for name, _, _ in await agents.list_queues(services.pool)]
    target = card.queue if queue is None else queue
    if target not in known:
        raise CaseRefused(404, "queue_not_found", f"there is no queue {target!r}")
    eligible = [
        agent for agent in await agents.list_agents(services.pool) if agent.sees_queue(target)
    ]
    eligible.sort(key=lambda agent: (agent.sees_all_queues, agent.name))
    return Assignees(
        case_id=card.case_id,
        case_queue=card.queue,
        owner=card.owner,
        queue=target,
        queues=known,
        agents=[
            Assignee(
                name=agent.name,
                role=agent.role,
                queues=sorted(agent.queues),
                owner=agent.name == card.owner,
            )
            for agent in eligible
        ],
    )
