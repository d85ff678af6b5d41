"""Offers on a case: made on the call, granted within the limit, otherwise asked and answered.

Each step runs as every case change does (:mod:`winback_notifier.cases.service`): one
transaction that locks the case row, asks the rules (:mod:`~winback_notifier.cases.offer_rules`),
writes the offer (:mod:`~winback_notifier.cases.offer_store`) and appends a history entry with
``seq + 1``; the caller then publishes it (:func:`winback_notifier.cases.flows.commit_and_publish`),
so every console showing the case gets it live as ``case.changed``: a supervisor's console pops
up an ``offer_requested``, the owner's an approval or a refusal. No step changes the case's
status, owner or queue: approving is not taking over.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from winback_notifier.cases import offer_store
from winback_notifier.cases.offer_rules import (
    HISTORY_KIND,
    OfferKind,
    decide_answer,
    decide_offer,
    limit_for,
)
from winback_notifier.cases.offer_store import Offer
from winback_notifier.cases.rules import CaseState, Outcome
from winback_notifier.cases.service import Change, commit_change, lock_case
from winback_shared.agents import Agent
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.db import Connection

TIMER_ACTOR = "sla"
"""Who the overdue flag is written by, as the SLA timers' entries are."""


@dataclass(frozen=True)
class OfferChange:
    """A committed offer step: the case change (to publish) and the offer after it."""

    change: Change
    offer: Offer


def _unchanged(state: CaseState) -> Outcome:
    return Outcome(state.status, state.owner_id, state.queue)


def _history(offer: Offer) -> dict[str, Any]:
    """What a history entry says of an offer (amounts as JSON numbers)."""
    return {
        "offer_id": offer.offer_id,
        "kind": offer.kind.value,
        "amount": float(offer.amount),
        "currency": offer.currency,
        "limit": float(offer.limit_amount),
        "requested_by": offer.requested_by,
    }


async def _record(
    conn: Connection, state: CaseState, offer: Offer, actor: Agent, extra: dict[str, Any]
) -> OfferChange:
    """The history entry of the offer's new status, on a case left as it was."""
    change = await commit_change(
        conn,
        state,
        _unchanged(state),
        HISTORY_KIND[offer.status],
        actor=actor.name,
        actor_id=actor.id,
        data={**_history(offer), **extra},
    )
    return OfferChange(change, offer)


async def make_offer(
    conn: Connection,
    *,
    case_id: int,
    actor: Agent,
    kind: OfferKind,
    amount: Decimal,
    currency: str,
    note: str,
) -> OfferChange:
    """Record an offer: granted within the actor's limit on this case, otherwise pending."""
    async with conn.transaction():
        state = await lock_case(conn, case_id)
        limits = await offer_store.load_limits(conn)
        limit = limit_for(limits, actor.role, state.queue, currency)
        status = decide_offer(
            state,
            actor,
            await offer_store.so_far(conn, case_id),
            amount=amount,
            currency=currency,
            limit=limit,
        )
        offer = await offer_store.insert_offer(
            conn,
            case_id=case_id,
            queue=state.queue,
            kind=kind,
            amount=amount,
            currency=currency,
            note=note,
            status=status,
            limit_amount=limit,
            requested_by_id=actor.id,
        )
        return await _record(conn, state, offer, actor, {"note": note})


async def answer_offer(
    conn: Connection,
    *,
    case_id: int,
    offer_id: int,
    actor: Agent,
    approve: bool,
    reason: str,
) -> OfferChange:
    """A supervisor approves or declines a pending offer; of two answering at once, the first
    to lock the case wins and the other is refused with 409 ``already_answered``."""
    async with conn.transaction():
        state = await lock_case(conn, case_id)
        facts = await offer_store.lock_offer(conn, case_id, offer_id)
        status = decide_answer(state, facts, actor, approve=approve)
        offer = await offer_store.write_answer(
            conn, offer_id, status=status, answered_by_id=actor.id, reason=reason
        )
        return await _record(conn, state, offer, actor, {"reason": reason})


async def flag_overdue(
    conn: Connection, *, case_id: int, offer_id: int, older_than_seconds: float
) -> Change | None:
    """Flag one pending offer that waited too long (history ``offer_overdue``, actor ``sla``);
    ``None`` if it was answered or flagged meanwhile (another notifier's timer, a supervisor)."""
    async with conn.transaction():
        state = await lock_case(conn, case_id)
        if not await offer_store.flag_overdue(
            conn, offer_id, older_than_seconds=older_than_seconds
        ):
            return None
        offer = await offer_store.get_offer(conn, offer_id)
        return await commit_change(
            conn,
            state,
            _unchanged(state),
            HistoryKind.OFFER_OVERDUE,
            actor=TIMER_ACTOR,
            actor_id=None,
            data=_history(offer),
        )
