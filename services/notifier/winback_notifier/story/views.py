"""The story API: what an agent reads before calling a customer, and claiming their cases
together. Same roles as reading a case; the work is in :mod:`winback_notifier.story.service`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from winback_notifier.cases.views import ERRORS
from winback_notifier.deps import Services, ServicesDep
from winback_notifier.story import service as story
from winback_shared.auth import CurrentAgent
from winback_shared.events.case_events import CaseCard

router = APIRouter(prefix="/api", tags=["cases"])

CLAIM_ERRORS: dict[int | str, dict[str, str]] = {
    **ERRORS,
    409: {
        "description": "`already_claimed` (this case), `linked_owned` (another agent owns one of "
        "the linked cases: says who), `not_linked` (not another case of this customer); "
        "nothing is claimed"
    },
}


class ClaimTogetherIn(BaseModel):
    """The linked open cases to claim with this one (as the story listed them)."""

    linked: Annotated[list[int], Field(max_length=50)] = Field(default_factory=list)


def _window(services: Services) -> timedelta:
    return timedelta(days=services.settings.customer_match.repeat_window_days)


@router.get("/cases/{case_id}/story", response_model=story.Story, responses=ERRORS)
async def read_case_story(services: ServicesDep, agent: CurrentAgent, case_id: int) -> story.Story:
    """The story so far: the interaction the survey was about, every other response and case of
    the same customer (matched by id, e-mail or phone, across sources) with their outcomes, and
    the customer's other open cases with their owners."""
    async with services.pool.acquire() as conn:
        return await story.read_story(
            conn,
            agent=agent,
            case_id=case_id,
            rule=services.settings.customer_match.rule(),
            repeat_window=_window(services),
            taxonomy=services.taxonomy,
        )


@router.get(
    "/repeat-customers", response_model=list[story.RepeatMark], responses={401: ERRORS[401]}
)
async def read_repeat_customers(
    services: ServicesDep,
    agent: CurrentAgent,
    case_id: Annotated[list[int], Query(max_length=200, description="Cases on the board.")],
) -> list[story.RepeatMark]:
    """Which of these cases' customers answered another survey within the repeat window before
    (``WINBACK_CUSTOMER_MATCH_REPEAT_WINDOW_DAYS``); cases you do not see are left out."""
    async with services.pool.acquire() as conn:
        marks = await story.repeat_marks(
            conn,
            agent=agent,
            case_ids=case_id,
            rule=services.settings.customer_match.rule(),
            repeat_window=_window(services),
        )
    return [mark for mark in marks if mark.earlier]


@router.post(
    "/cases/{case_id}/claim-together", response_model=list[CaseCard], responses=CLAIM_ERRORS
)
async def claim_case_together(
    services: ServicesDep, agent: CurrentAgent, case_id: int, body: ClaimTogetherIn
) -> list[CaseCard]:
    """Claim this case and the customer's linked open cases at once, all or none: of two agents
    claiming overlapping cases at once, one gets them all, the other 409 naming them."""
    async with services.pool.acquire() as conn:
        changes = await story.claim_together(
            conn,
            case_id=case_id,
            linked=body.linked,
            actor=agent,
            rule=services.settings.customer_match.rule(),
        )
    for change in changes:
        await services.publisher.publish(change)
    return [change.card for change in changes]
