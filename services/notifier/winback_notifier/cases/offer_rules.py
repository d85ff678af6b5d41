"""Authority to fix it, as pure rules: what an agent may give on the call, and who may approve more.

An offer on a case its owner (or a supervisor) is working is **granted** at once while the
case's offers in that currency stay within the offerer's limit; above it, it is **pending**
until a supervisor other than the one who asked approves or declines it. No I/O here: the
service locks the case row, reads the limits and the case's offers, asks these functions, and
writes what they answer, so every refusal is the same whoever asks.

Limits are per role, optionally narrowed per queue, in a currency (:class:`LimitRule`, the rows
of ``offer_limits``). The limit caps the *total* of a case's live offers (granted, approved and
pending) rather than each offer: three small credits are the same goodwill as one big one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from winback_notifier.cases.rules import CaseRefused, CaseState
from winback_shared.agents import Agent, Role
from winback_shared.case_vocabulary import CaseStatus, HistoryKind
from winback_shared.events.case_events import Compensation, GivenOffer, Resolution


class OfferKind(StrEnum):
    """What is given: money back or owed, or goodwill."""

    REFUND = "refund"
    CREDIT = "credit"
    VOUCHER = "voucher"
    GIFT = "gift"
    FEE_WAIVER = "fee_waiver"
    DISCOUNT = "discount"
    OTHER = "other"


class OfferStatus(StrEnum):
    """Where an offer stands. ``granted`` and ``approved`` may be given to the customer."""

    GRANTED = "granted"
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


LIVE = frozenset({OfferStatus.GRANTED, OfferStatus.PENDING, OfferStatus.APPROVED})
"""Offers that count against the limit (a declined one gave nothing)."""
GIVEN = frozenset({OfferStatus.GRANTED, OfferStatus.APPROVED})
"""Offers the customer gets: what a resolution records as its compensation."""

OFFER_STATUSES = frozenset({CaseStatus.CLAIMED, CaseStatus.CONTACTED})
"""A case someone is working, on the call or about to be: where offers are made."""

HISTORY_KIND: dict[OfferStatus, HistoryKind] = {
    OfferStatus.GRANTED: HistoryKind.OFFER_GRANTED,
    OfferStatus.PENDING: HistoryKind.OFFER_REQUESTED,
    OfferStatus.APPROVED: HistoryKind.OFFER_APPROVED,
    OfferStatus.DECLINED: HistoryKind.OFFER_DECLINED,
}
"""The history entry each outcome writes."""


@dataclass(frozen=True)
class LimitRule:
    """One configured limit: the most a ``role`` may offer on one case, in ``currency``; for
    ``queue``'s cases only, or every queue's when ``queue`` is ``None``."""

    role: Role
    queue: str | None
    currency: str
    max_amount: Decimal


def limit_for(rules: Iterable[LimitRule], role: Role, queue: str, currency: str) -> Decimal:
    """The limit of ``role`` on a case of ``queue`` in ``currency``: the queue's own rule, else
    the role's rule for every queue, else 0 (nothing configured: every offer asks)."""
    matching = [r for r in rules if r.role is role and r.currency == currency]
    for rule in matching:
        if rule.queue == queue:
            return rule.max_amount
    for rule in matching:
        if rule.queue is None:
            return rule.max_amount
    return Decimal(0)


def duplicate_rules(rules: Iterable[LimitRule]) -> list[str]:
    """Rules named more than once (same role, queue and currency), described for an error."""
    seen: set[tuple[Role, str | None, str]] = set()
    repeated = []
    for rule in rules:
        key = (rule.role, rule.queue, rule.currency)
        if key in seen:
            repeated.append(f"{rule.role} / {rule.queue or 'every queue'} / {rule.currency}")
        seen.add(key)
    return repeated


@dataclass(frozen=True)
class CaseOffers:
    """What a case has been offered so far, as far as the rules care."""

    currency: str | None
    """The currency of its live offers (one per case), ``None`` if it has none."""
    committed: Decimal
    """The total of its live offers."""


def decide_offer(
    state: CaseState,
    actor: Agent,
    so_far: CaseOffers,
    *,
    amount: Decimal,
    currency: str,
    limit: Decimal,
) -> OfferStatus:
    """Granted at once or pending a supervisor; raises :class:`CaseRefused` if not allowed.

    Checked from the least to the most specific: visibility, state, ownership, currency.
    """
    case = f"case {state.case_id}"
    if not actor.sees_queue(state.queue):
        raise CaseRefused(403, "forbidden", f"{case} is in queue {state.queue!r}, not one of yours")
    if state.status not in OFFER_STATUSES:
        allowed = ", ".join(sorted(OFFER_STATUSES))
        raise CaseRefused(
            409,
            "illegal_transition",
            f"cannot make an offer on {case} while it is {state.status}; allowed while: {allowed}",
        )
    if state.owner_id is None:
        raise CaseRefused(409, "not_claimed", f"claim {case} before you make an offer on it")
    if state.owner_id != actor.id and not actor.may_reassign:
        raise CaseRefused(
            403,
            "not_owner",
            f"{case} is owned by {state.owner}; only the owner or a supervisor may make offers",
        )
    if so_far.currency is not None and so_far.currency != currency:
        raise CaseRefused(
            422,
            "currency_mismatch",
            f"the offers on {case} are in {so_far.currency}; make this one in {so_far.currency} "
            "too (one currency per case keeps its limit and its resolution one figure)",
        )
    return OfferStatus.GRANTED if so_far.committed + amount <= limit else OfferStatus.PENDING


@dataclass(frozen=True)
class OfferFacts:
    """The parts of an offer an answer looks at."""

    offer_id: int
    status: OfferStatus
    requested_by_id: int
    answered_by: str | None


def decide_answer(
    state: CaseState, offer: OfferFacts, actor: Agent, *, approve: bool
) -> OfferStatus:
    """What a supervisor's answer makes of a pending offer; raises :class:`CaseRefused` if the
    actor may not answer it (not a supervisor, their own request, already answered)."""
    verb = "approve" if approve else "decline"
    if not actor.is_supervisor:
        raise CaseRefused(403, "forbidden", f"only a supervisor may {verb} an offer")
    if not actor.sees_queue(state.queue):
        raise CaseRefused(
            403, "forbidden", f"case {state.case_id} is in queue {state.queue!r}, not one of yours"
        )
    if offer.status is not OfferStatus.PENDING:
        by = f" by {offer.answered_by}" if offer.answered_by else ""
        raise CaseRefused(
            409,
            "already_answered",
            f"offer {offer.offer_id} is {offer.status}{by}; only a pending offer can be answered",
        )
    if offer.requested_by_id == actor.id:
        raise CaseRefused(
            403,
            "own_request",
            f"offer {offer.offer_id} is your own request; another supervisor must {verb} it",
        )
    return OfferStatus.APPROVED if approve else OfferStatus.DECLINED


def nothing_pending(pending: Sequence[str], *, case_id: int) -> None:
    """Refuse to resolve while an offer waits for a supervisor (409 ``offer_pending``): the
    resolution records what was given, and that is not known yet. ``pending`` describes them."""
    if pending:
        raise CaseRefused(
            409,
            "offer_pending",
            f"case {case_id} has an offer waiting for a supervisor ({'; '.join(pending)}); "
            "resolve it once the offer is approved or declined",
        )


def with_offers(resolution: Resolution, given: Sequence[GivenOffer], *, case_id: int) -> Resolution:
    """The resolution with the case's given offers as its compensation, so no figure is typed
    twice: their total, in their (one) currency, of their kind (``several`` if they differ).

    Refused with 422 ``compensation_in_offers`` if the agent also typed a compensation, and
    with 422 ``nothing_offered`` if there is neither an offer nor anything else to record.
    """
    if not given:
        offered = resolution.model_copy(update={"offers": []})
        if not (
            offered.apology or offered.explanation or offered.compensation or offered.process_change
        ):
            raise CaseRefused(
                422,
                "nothing_offered",
                "say what was offered: apology, explanation, compensation or process change",
            )
        return offered
    if resolution.compensation is not None:
        total = ", ".join(f"{o.amount:g} {o.currency} {o.kind}" for o in given)
        raise CaseRefused(
            422,
            "compensation_in_offers",
            f"case {case_id} already has its compensation in its offers ({total}); leave "
            "compensation out and the resolution records them",
        )
    kinds = {offer.kind for offer in given}
    compensation = Compensation(
        kind=kinds.pop() if len(kinds) == 1 else "several",
        value=round(sum(offer.amount for offer in given), 2),
        currency=given[0].currency,
    )
    return resolution.model_copy(update={"offers": list(given), "compensation": compensation})
