"""The case API: everything the console does, for any tool that speaks JSON (a CRM, a dialer).

Thin on purpose: each handler validates its body, has one function of
:mod:`winback_notifier.cases.service` make the change, which :mod:`winback_notifier.cases.flows`
commits and publishes, and returns the card after it. Refusals use the shared error shape; the
workflow's messages say what is allowed instead.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Literal, Protocol

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from winback_notifier.cases import flows, offer_store
from winback_notifier.cases import service as cases
from winback_notifier.cases.attempts import read_outcome
from winback_notifier.cases.offer_rules import with_offers
from winback_notifier.cases.rules import CaseRefused, Channel, known_codes
from winback_notifier.cases.service import Change
from winback_notifier.cases.tickets import HelpdeskTicket, case_tickets
from winback_notifier.deps import Services, ServicesDep
from winback_shared.agents import Agent, find_agent
from winback_shared.auth import CurrentAgent, current_supervisor
from winback_shared.case_vocabulary import OPEN_STATUSES, AttemptOutcome, CaseStatus
from winback_shared.db import Connection
from winback_shared.errors import ApiError
from winback_shared.events.case_events import CaseCard, GivenOffer, HistoryEntry, Resolution

router = APIRouter(prefix="/api", tags=["cases"])

ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "`unauthenticated`: no valid token"},
    403: {"description": "`forbidden` (not your queue or role) or `not_owner`"},
    404: {"description": "`case_not_found`"},
    409: {
        "description": "`already_claimed` (says by whom), `illegal_transition` (says from which "
        "states it is allowed), `not_claimed`, `not_enough_attempts`, `not_a_member`"
    },
    422: {
        "description": "`invalid_attempt` (no outcome, or `reached` contradicting it), "
        "`invalid_call_back` (missing, past, over 31 days ahead, or without call_later)"
    },
}

REASSIGN_ERRORS: dict[int | str, dict[str, str]] = {
    **ERRORS,
    403: {"description": "`forbidden`: only supervisors and admins reassign"},
    404: {
        "description": "`case_not_found`, `agent_not_found` (no enabled agent of that name) or "
        "`queue_not_found`"
    },
    409: {
        "description": "`not_a_member` (the agent is not in the target queue: add them first, "
        "or pick from `GET /api/cases/{id}/assignees`), `illegal_transition` (closed case)"
    },
    422: {"description": "`invalid_request`: name an agent, a queue, or both"},
}

Note = Annotated[str, Field(max_length=4000)]


class AttemptIn(BaseModel):
    """One try to reach the customer and how it went."""

    channel: Channel
    outcome: AttemptOutcome | None = Field(
        default=None,
        description="reached, no_answer, voicemail, wrong_number or call_later (with "
        "call_back_at). Omitted: taken from `reached`, as clients before outcomes sent it.",
    )
    reached: bool | None = Field(
        default=None, description="The older form: true is `reached`, false is `no_answer`."
    )
    call_back_at: datetime | None = Field(
        default=None,
        description="With `call_later` only: when the customer asked to be called, with its "
        "offset; it becomes the case's next deadline, flagged by the SLA timers if missed.",
    )
    note: Note = ""


class UnreachableIn(BaseModel):
    """Why the agent gives up reaching the customer."""

    note: Note = ""


class ResolutionIn(Resolution):
    """What was offered, as a client says it: the case's given offers are not the client's to
    say (the notifier reads them from ``case_offers``), so the field is not taken."""

    offers: SkipJsonSchema[list[GivenOffer]] = Field(default_factory=list, exclude=True)


class ResolveIn(BaseModel):
    """The outcome of the conversation."""

    root_cause: str = Field(
        description="Taxonomy code the agent confirmed; may differ from the coded reasons."
    )
    resolution: ResolutionIn
    customer_reaction: Literal["satisfied", "neutral", "dissatisfied"]
    note: Note = ""


class CloseIn(BaseModel):
    """What the follow-up found, if anything."""

    follow_up_outcome: Note = ""


class ReopenIn(BaseModel):
    """Why the case needs more work."""

    reason: Annotated[str, Field(min_length=1, max_length=4000)]


class ReassignIn(BaseModel):
    """The new owner and/or queue."""

    agent: str | None = Field(default=None, description="Agent name; omit to leave it unowned.")
    queue: str | None = None
    note: Note = ""


class ReasonsIn(BaseModel):
    """What the customer's reasons really were, as the agent learned them."""

    codes: Annotated[list[str], Field(max_length=50)] = Field(
        description="Every taxonomy code that applies (empty: none does). The coded reasons "
        "unchanged confirm them."
    )
    follow_up_requested: bool = Field(description="Whether the customer asked to be contacted.")
    note: Note = ""


class NoteIn(BaseModel):
    """An internal comment, shown to every agent who sees the case."""

    text: Annotated[str, Field(min_length=1, max_length=4000)]


class CaseDetail(BaseModel):
    """A case with its contact attempts and its whole history."""

    case: CaseCard
    attempts: list[cases.ContactAttempt]
    history: list[HistoryEntry]
    tickets: list[HelpdeskTicket] = Field(default_factory=list)
    """The helpdesk tickets kept in step with the case (Zendesk), with their links."""


class CaseWrite(Protocol):
    """A function of :mod:`~winback_notifier.cases.service` that changes one case, with the
    action's own details already given (``functools.partial``)."""

    def __call__(self, conn: Connection, /, *, case_id: int, actor: Agent) -> Awaitable[Change]:
        """Lock, decide and write the change in one transaction."""
        ...


@dataclass(frozen=True)
class CaseAction:
    """The signed-in agent acting on the case in the path."""

    services: Services
    agent: Agent
    case_id: int

    async def __call__(self, write: CaseWrite) -> CaseCard:
        """Commit the change, publish it, and answer with the card after it."""
        change = await flows.commit_and_publish(
            self.services.pool,
            self.services.publisher,
            partial(write, case_id=self.case_id, actor=self.agent),
        )
        return change.card


def case_action(services: ServicesDep, agent: CurrentAgent, case_id: int) -> CaseAction:
    """What every case action needs: the agent, the case, the notifier's services."""
    return CaseAction(services, agent, case_id)


ActOnCase = Annotated[CaseAction, Depends(case_action)]


@router.get("/cases", response_model=list[CaseCard], responses={401: ERRORS[401]})
async def read_cases(
    services: ServicesDep,
    agent: CurrentAgent,
    response: Response,
    status: Annotated[
        list[CaseStatus] | None,
        Query(description="Default: every open status. An unknown status is a 422."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Cases per page.")] = 500,
    offset: Annotated[int, Query(ge=0, description="Cases to skip (the next page).")] = 0,
) -> list[CaseCard]:
    """Cases you may see, most urgent first (supervisors see every queue).

    Resolved cases come after the others. ``X-Total-Count`` says how many match in all, so a
    tool can page through them with ``offset``.
    """
    wanted = tuple(status) if status else OPEN_STATUSES
    page = await cases.list_cards(services.pool, agent, statuses=wanted, limit=limit, offset=offset)
    total = await cases.count_cards(services.pool, agent, statuses=wanted)
    response.headers["X-Total-Count"] = str(total)
    return page


@router.get("/cases/{case_id}", response_model=CaseDetail, responses=ERRORS)
async def read_case(services: ServicesDep, agent: CurrentAgent, case_id: int) -> CaseDetail:
    """One case with every contact attempt, its history and its helpdesk tickets."""
    card = await cases.get_card(services.pool, agent, case_id)
    return CaseDetail(
        case=card,
        attempts=await cases.get_attempts(services.pool, case_id),
        history=await cases.get_history(services.pool, case_id),
        tickets=await case_tickets(services.pool, case_id),
    )


@router.get("/cases/{case_id}/history", response_model=list[HistoryEntry], responses=ERRORS)
async def read_case_history(
    services: ServicesDep, agent: CurrentAgent, case_id: int
) -> list[HistoryEntry]:
    """Every change of the case (who, when, what), oldest first."""
    await cases.get_card(services.pool, agent, case_id)
    return await cases.get_history(services.pool, case_id)


@router.post("/cases/{case_id}/claim", response_model=CaseCard, responses=ERRORS)
async def claim_case(act: ActOnCase) -> CaseCard:
    """Own the follow-up. Of several agents claiming at once exactly one wins; the others get
    409 `already_claimed` naming the owner."""
    return await act(cases.claim)


@router.post("/cases/{case_id}/attempts", response_model=CaseCard, responses=ERRORS)
async def create_contact_attempt(act: ActOnCase, body: AttemptIn) -> CaseCard:
    """Log a try to reach the customer: `reached` marks the case `contacted`; `no_answer`,
    `voicemail` and `wrong_number` count as failed (a wrong number allows marking it
    unreachable at once); `call_later` sets `call_back_at` as the case's next deadline."""
    outcome = read_outcome(body.outcome, body.reached)
    return await act(
        partial(
            cases.log_attempt,
            channel=body.channel.value,
            outcome=outcome,
            note=body.note,
            call_back_at=body.call_back_at,
        )
    )


@router.post("/cases/{case_id}/unreachable", response_model=CaseCard, responses=ERRORS)
async def mark_case_unreachable(act: ActOnCase, body: UnreachableIn) -> CaseCard:
    """Give up reaching the customer; allowed after the configured number of failed attempts."""
    after = act.services.settings.unreachable_after_attempts
    return await act(partial(cases.mark_unreachable, note=body.note, unreachable_after=after))


@router.post("/cases/{case_id}/resolve", response_model=CaseCard, responses=ERRORS)
async def resolve_case(act: ActOnCase, body: ResolveIn) -> CaseCard:
    """Record the confirmed root cause, what was offered and how the customer took it."""
    taxonomy = act.services.taxonomy
    try:
        taxonomy.by_id(body.root_cause)
    except KeyError:
        known = ", ".join(code.id for code in taxonomy.codes)
        raise ApiError(
            422,
            "unknown_root_cause",
            f"{body.root_cause!r} is not a reason code; use one of: {known}",
        ) from None
    offer = Resolution.model_validate(body.resolution.model_dump())
    # Checked before the case is looked at, as before offers existed; a case with offers
    # granted or approved has its compensation in them (checked again under the case's lock).
    if not await offer_store.given_offers(act.services.pool, act.case_id):
        with_offers(offer, [], case_id=act.case_id)
    return await act(
        partial(
            cases.resolve,
            root_cause=body.root_cause,
            resolution=offer,
            customer_reaction=body.customer_reaction,
            note=body.note,
        )
    )


@router.post("/cases/{case_id}/close", response_model=CaseCard, responses=ERRORS)
async def close_case(act: ActOnCase, body: CloseIn) -> CaseCard:
    """Finish a resolved (or unreachable) case."""
    return await act(partial(cases.close, follow_up_outcome=body.follow_up_outcome))


@router.post("/cases/{case_id}/reopen", response_model=CaseCard, responses=ERRORS)
async def reopen_case(act: ActOnCase, body: ReopenIn) -> CaseCard:
    """Put a resolved, closed or unreachable case back in its queue, unowned."""
    return await act(partial(cases.reopen, reason=body.reason))


@router.post(
    "/cases/{case_id}/reassign",
    response_model=CaseCard,
    responses=REASSIGN_ERRORS,
    # Declared on the route, not only in the workflow: an agent is refused before a name or
    # queue is looked up, so 404s never tell agents who or what exists.
    dependencies=[Depends(current_supervisor)],
)
async def reassign_case(act: ActOnCase, body: ReassignIn) -> CaseCard:
    """Supervisors only: give the case to another agent and/or move it to another queue.

    The new owner must be able to see the target queue (a member, or a supervisor); otherwise
    409 `not_a_member` and nothing changes. `GET /api/cases/{id}/assignees` lists who qualifies.
    A queue alone hands the case back unowned to that queue."""
    pool = act.services.pool
    new_owner = None
    if body.agent is not None:
        new_owner = await find_agent(pool, body.agent)
        if new_owner is None:
            raise CaseRefused(404, "agent_not_found", f"there is no agent {body.agent!r}")
    if body.queue is not None:
        exists = await pool.fetchval("SELECT 1 FROM queues WHERE name = $1", body.queue)
        if not exists:
            raise CaseRefused(404, "queue_not_found", f"there is no queue {body.queue!r}")
    return await act(
        partial(cases.reassign, new_owner=new_owner, new_queue=body.queue, note=body.note)
    )


REASONS_ERRORS: dict[int | str, dict[str, str]] = {
    **ERRORS,
    403: {"description": "`forbidden` (not your queue) or `not_owner`: the owner or a supervisor"},
    422: {"description": "`unknown_reason_code`: names the codes that are not in the taxonomy"},
}


@router.post("/cases/{case_id}/reasons", response_model=CaseCard, responses=REASONS_ERRORS)
async def review_case_reasons(act: ActOnCase, body: ReasonsIn) -> CaseCard:
    """Confirm the coded reasons or correct them: which taxonomy codes apply, and whether the
    customer asked to be contacted. Kept in the case's history (verdict `confirmed` or
    `corrected`, beside what was coded) as labelled data for reason coding; the case's coded
    reasons, priority and queue do not change."""
    taxonomy_codes = [code.id for code in act.services.taxonomy.codes]
    codes = known_codes(body.codes, taxonomy_codes)
    return await act(
        partial(
            cases.review_reasons,
            codes=codes,
            follow_up_requested=body.follow_up_requested,
            note=body.note,
        )
    )


@router.post("/cases/{case_id}/notes", response_model=CaseCard, responses=ERRORS)
async def create_case_note(act: ActOnCase, body: NoteIn) -> CaseCard:
    """Add an internal comment to the case's history."""
    return await act(partial(cases.add_note, text=body.text))
