"""The offers API: make an offer on the call, answer a request, and configure the limits.

Thin, as :mod:`winback_notifier.cases.views`: each handler validates its body, has
:mod:`winback_notifier.cases.offers` make the change under the case's lock, publishes it like
any case change (so consoles follow it live), and answers with the card and the offer after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from winback_notifier.cases import offer_store, offers
from winback_notifier.cases import service as cases
from winback_notifier.cases.offer_rules import (
    LIVE,
    LimitRule,
    OfferKind,
    duplicate_rules,
    limit_for,
)
from winback_notifier.cases.offer_store import Money, Offer
from winback_notifier.cases.offers import OfferChange
from winback_notifier.deps import Services, ServicesDep
from winback_shared.agents import Agent, Role
from winback_shared.auth import CurrentAdmin, CurrentAgent, CurrentSupervisor, current_supervisor
from winback_shared.db import Connection
from winback_shared.errors import ApiError
from winback_shared.events.case_events import CaseCard

router = APIRouter(prefix="/api", tags=["offers"])

Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code in capitals, e.g. EUR")
]
Amount = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]

ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "`unauthenticated`: no valid token"},
    403: {
        "description": "`forbidden` (not your queue, or not a supervisor), `not_owner`, "
        "`own_request` (nobody answers their own request)"
    },
    404: {"description": "`case_not_found`, `offer_not_found`"},
    409: {
        "description": "`not_claimed`, `illegal_transition` (offers are made on claimed or "
        "contacted cases), `already_answered` (says how and by whom)"
    },
    422: {"description": "`currency_mismatch` (one currency per case), `invalid_request`"},
}


class OfferIn(BaseModel):
    """What the agent offers the customer."""

    kind: OfferKind
    amount: Amount
    currency: Currency
    note: Annotated[str, Field(max_length=2000)] = ""


class ApproveIn(BaseModel):
    """A supervisor's yes, with an optional word for the owner."""

    note: Annotated[str, Field(max_length=2000)] = ""


class DeclineIn(BaseModel):
    """A supervisor's no: the owner needs to know why to tell the customer something else."""

    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class OfferResult(BaseModel):
    """The case's card and the offer after the step."""

    case: CaseCard
    offer: Offer


class YourLimit(BaseModel):
    """What the signed-in agent may give on this case in one currency without asking."""

    currency: str
    max_amount: Money


class CaseOffersOut(BaseModel):
    """A case's offers and where the signed-in agent stands against its limit."""

    offers: list[Offer]
    currency: str | None = Field(description="The case's currency once it has a live offer.")
    committed: Money = Field(description="Total of the live (granted, approved, pending) offers.")
    limits: list[YourLimit] = Field(
        description="Your limits on this case's queue, per configured currency; a currency not "
        "listed has a limit of 0 (every offer in it asks a supervisor)."
    )


class LimitIn(BaseModel):
    """One limit: the most ``role`` may offer on one case of ``queue`` (all queues if
    omitted) in ``currency`` without a supervisor's approval."""

    role: Role
    queue: str | None = None
    currency: Currency
    max_amount: Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class LimitOut(BaseModel):
    """One configured limit."""

    role: Role
    queue: str | None
    currency: str
    max_amount: Money


class LimitsIn(BaseModel):
    """The whole limits configuration: it replaces what was there."""

    limits: Annotated[list[LimitIn], Field(max_length=1000)]


async def _commit(
    services: Services, write: Callable[[Connection], Awaitable[OfferChange]]
) -> OfferResult:
    """Commit an offer step, then publish its case change (see ``cases.flows``)."""
    async with services.pool.acquire() as conn:
        done = await write(conn)
    await services.publisher.publish(done.change)
    return OfferResult(case=done.change.card, offer=done.offer)


@router.get("/cases/{case_id}/offers", response_model=CaseOffersOut, responses=ERRORS)
async def read_case_offers(
    services: ServicesDep, agent: CurrentAgent, case_id: int
) -> CaseOffersOut:
    """The case's offers, oldest first, and your limits on it."""
    card = await cases.get_card(services.pool, agent, case_id)
    made = await offer_store.list_offers(services.pool, case_id)
    live = [offer for offer in made if offer.status in LIVE]
    rules = await offer_store.load_limits(services.pool)
    currencies = sorted({rule.currency for rule in rules if rule.role is agent.role})
    return CaseOffersOut(
        offers=made,
        currency=live[0].currency if live else None,
        committed=sum((offer.amount for offer in live), Decimal(0)),
        limits=[
            YourLimit(currency=c, max_amount=limit_for(rules, agent.role, card.queue, c))
            for c in currencies
        ],
    )


@router.get("/offers/pending", response_model=list[Offer])
async def read_pending_offers(services: ServicesDep, _: CurrentSupervisor) -> list[Offer]:
    """Supervisors: every offer waiting for an answer, oldest first (at most 200). A console
    that connects pops these up again, so a request made while it was closed is not missed."""
    return await offer_store.pending_offers(services.pool)


@router.post("/cases/{case_id}/offers", response_model=OfferResult, responses=ERRORS)
async def create_offer(
    services: ServicesDep, agent: CurrentAgent, case_id: int, body: OfferIn
) -> OfferResult:
    """Offer the customer something on the case you own. Within your limit (the case's live
    offers in that currency included) it is `granted` at once; above it, `pending` until a
    supervisor approves or declines it. The case stays yours either way."""
    return await _commit(
        services,
        partial(
            offers.make_offer,
            case_id=case_id,
            actor=agent,
            kind=body.kind,
            amount=body.amount,
            currency=body.currency,
            note=body.note,
        ),
    )


def _answer(
    services: Services, agent: Agent, case_id: int, offer_id: int, *, approve: bool, reason: str
) -> Awaitable[OfferResult]:
    """Commit and publish a supervisor's answer."""
    write = partial(
        offers.answer_offer,
        case_id=case_id,
        offer_id=offer_id,
        actor=agent,
        approve=approve,
        reason=reason,
    )
    return _commit(services, write)


SUPERVISOR_GATE = [Depends(current_supervisor)]
"""On the answers' routes, so an agent is refused before any case or offer is looked up."""


@router.post(
    "/cases/{case_id}/offers/{offer_id}/approve",
    response_model=OfferResult,
    responses=ERRORS,
    dependencies=SUPERVISOR_GATE,
)
async def approve_offer(
    services: ServicesDep, agent: CurrentSupervisor, case_id: int, offer_id: int, body: ApproveIn
) -> OfferResult:
    """Supervisors: approve a pending offer someone else asked for. The owner keeps the case."""
    return await _answer(services, agent, case_id, offer_id, approve=True, reason=body.note)


@router.post(
    "/cases/{case_id}/offers/{offer_id}/decline",
    response_model=OfferResult,
    responses=ERRORS,
    dependencies=SUPERVISOR_GATE,
)
async def decline_offer(
    services: ServicesDep, agent: CurrentSupervisor, case_id: int, offer_id: int, body: DeclineIn
) -> OfferResult:
    """Supervisors: decline a pending offer someone else asked for, saying why."""
    return await _answer(services, agent, case_id, offer_id, approve=False, reason=body.reason)


def _out(rules: list[LimitRule]) -> list[LimitOut]:
    return [
        LimitOut(role=r.role, queue=r.queue, currency=r.currency, max_amount=r.max_amount)
        for r in rules
    ]


@router.get("/admin/offer-limits", response_model=list[LimitOut], tags=["admin"])
async def read_offer_limits(services: ServicesDep, _: CurrentAdmin) -> list[LimitOut]:
    """Admins: every configured offer limit."""
    return _out(await offer_store.load_limits(services.pool))


@router.put(
    "/admin/offer-limits",
    response_model=list[LimitOut],
    tags=["admin"],
    responses={422: {"description": "`queue_not_found`, `duplicate_limit`, `invalid_request`"}},
)
async def replace_offer_limits(
    services: ServicesDep, admin: CurrentAdmin, body: LimitsIn
) -> list[LimitOut]:
    """Admins: replace the offer limits with these (an empty list: every offer asks)."""
    rules = [
        LimitRule(role=r.role, queue=r.queue, currency=r.currency, max_amount=r.max_amount)
        for r in body.limits
    ]
    repeated = duplicate_rules(rules)
    if repeated:
        raise ApiError(
            422, "duplicate_limit", f"each role, queue and currency once; repeated: {repeated}"
        )
    named = sorted({r.queue for r in rules if r.queue is not None})
    missing = await offer_store.missing_queues(services.pool, named)
    if missing:
        raise ApiError(
            422, "queue_not_found", f"no such queue: {', '.join(missing)}; create it first"
        )
    async with services.pool.acquire() as conn:
        await offer_store.replace_limits(conn, rules, updated_by=admin.name)
    return _out(await offer_store.load_limits(services.pool))
