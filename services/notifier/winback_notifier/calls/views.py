"""The call's HTTP side: the customer's local time for a case, and the words for the call.

Thin, as every view: the case is read (and its visibility checked) through
:mod:`winback_notifier.cases.service`; the rules live in :mod:`.local_time` and
:mod:`.guidance`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from winback_notifier.calls.guidance import CallGuidance
from winback_notifier.calls.local_time import Basis, Verdict, call_time, guess_zones
from winback_notifier.cases import service as cases
from winback_notifier.deps import ServicesDep
from winback_shared.auth import CurrentAgent
from winback_shared.business_hours import Weekday

router = APIRouter(prefix="/api", tags=["calls"])

ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "`unauthenticated`: no valid token"},
    403: {"description": "`forbidden`: not one of your queues"},
    404: {"description": "`case_not_found`"},
}


class ZoneClock(BaseModel):
    """The customer's clock in one candidate time zone."""

    zone: str
    local_time: datetime = Field(description="Now, with the zone's offset.")
    within_hours: bool


class CallTimeOut(BaseModel):
    """Whether now is a reasonable hour to call the case's customer."""

    basis: Basis = Field(description="Where the zone came from: phone, source, queue, default.")
    region: str | None = Field(description="The phone number's country, if it has one.")
    zones: list[ZoneClock]
    verdict: Verdict = Field(description="ok, outside, mixed (some zones) or unknown.")
    calling_hours: dict[Weekday, list[str]]
    next_change_at: datetime | None = Field(description="When the verdict may change next.")


@router.get("/cases/{case_id}/call-time", response_model=CallTimeOut, responses=ERRORS)
async def read_call_time(services: ServicesDep, agent: CurrentAgent, case_id: int) -> CallTimeOut:
    """The customer's local time now and whether it is within calling hours, from the phone
    number's country or area (else the zone configured for the source, queue or by default)."""
    card = await cases.get_card(services.pool, agent, case_id)
    settings = services.settings
    guess = guess_zones(
        card.customer.phone,
        source=card.source,
        queue=card.queue,
        configured=settings.call_time_zones,
    )
    result = call_time(guess, settings.calling_hours, datetime.now(UTC))
    return CallTimeOut(
        basis=guess.basis,
        region=guess.region,
        zones=[
            ZoneClock(zone=z.zone, local_time=z.local_time, within_hours=z.within_hours)
            for z in result.zones
        ],
        verdict=result.verdict,
        calling_hours=dict(settings.calling_hours.root),
        next_change_at=result.next_change_at,
    )


@router.get("/call-guidance", response_model=CallGuidance, responses={401: ERRORS[401]})
async def read_call_guidance(services: ServicesDep, agent: CurrentAgent) -> CallGuidance:
    """The words for the call: the five steps in order and, per reason code, an apology and
    options to offer (the company's file, or the shipped defaults)."""
    return services.guidance
