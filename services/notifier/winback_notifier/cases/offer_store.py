"""The SQL of offers and offer limits (``case_offers``, ``offer_limits``, migration 0022).

Reads and writes only; the rules are :mod:`~winback_notifier.cases.offer_rules`, and the
steps that lock a case, decide and record history are :mod:`~winback_notifier.cases.offers`.
Writers that change an offer hold its case's row lock first (always case, then offer), so two
supervisors answering at once, or an answer racing the overdue timer, queue up on the case.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, TypeAlias

import asyncpg
from pydantic import BaseModel, PlainSerializer

from winback_notifier.cases.offer_rules import (
    GIVEN,
    LIVE,
    CaseOffers,
    LimitRule,
    OfferFacts,
    OfferKind,
    OfferStatus,
)
from winback_notifier.cases.rules import CaseRefused
from winback_shared.agents import Role
from winback_shared.db import Connection

Db: TypeAlias = "Connection | asyncpg.Pool"

Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
"""An amount: exact in Python and PostgreSQL (``numeric(12,2)``), a JSON number on the wire."""


class Offer(BaseModel):
    """One offer made on a case, and its answer if it needed one."""

    offer_id: int
    case_id: int
    queue: str
    kind: OfferKind
    amount: Money
    currency: str
    note: str
    status: OfferStatus
    limit_amount: Money
    """The offerer's limit on this case when the offer was made."""
    requested_by: str
    requested_at: datetime
    answered_by: str | None = None
    answered_at: datetime | None = None
    answer_reason: str | None = None
    overdue_at: datetime | None = None
    """When the approval timer flagged it as waiting too long (pending offers only)."""


_SELECT = """
    SELECT o.id AS offer_id, o.case_id, o.queue, o.kind, o.amount, o.currency, o.note, o.status,
           o.limit_amount, r.name AS requested_by, o.requested_at, a.name AS answered_by,
           o.answered_at, o.answer_reason, o.overdue_at
    FROM case_offers o
    JOIN agents r ON r.id = o.requested_by
    LEFT JOIN agents a ON a.id = o.answered_by
"""


def _offer(row: asyncpg.Record) -> Offer:
    return Offer.model_validate(dict(row))


async def list_offers(conn: Db, case_id: int) -> list[Offer]:
    """Every offer made on the case, oldest first."""
    rows = await conn.fetch(_SELECT + " WHERE o.case_id = $1 ORDER BY o.id", case_id)
    return [_offer(row) for row in rows]


async def pending_offers(conn: Db, *, limit: int = 200) -> list[Offer]:
    """Offers waiting for a supervisor, in every queue, oldest first."""
    rows = await conn.fetch(
        _SELECT + " WHERE o.status = $1 ORDER BY o.requested_at, o.id LIMIT $2",
        OfferStatus.PENDING,
        limit,
    )
    return [_offer(row) for row in rows]


async def get_offer(conn: Db, offer_id: int) -> Offer:
    """One offer as it stands."""
    row = await conn.fetchrow(_SELECT + " WHERE o.id = $1", offer_id)
    assert row is not None
    return _offer(row)


async def given_offers(conn: Db, case_id: int) -> list[Offer]:
    """The offers the customer gets (granted or approved), oldest first."""
    return [offer for offer in await list_offers(conn, case_id) if offer.status in GIVEN]


async def so_far(conn: Connection, case_id: int) -> CaseOffers:
    """The currency and total of the case's live offers (call it under the case's lock)."""
    row = await conn.fetchrow(
        """
        SELECT min(currency) AS currency, coalesce(sum(amount), 0) AS committed
        FROM case_offers WHERE case_id = $1 AND status = ANY($2::text[])
        """,
        case_id,
        sorted(LIVE),
    )
    assert row is not None
    return CaseOffers(currency=row["currency"], committed=row["committed"])


async def insert_offer(
    conn: Connection,
    *,
    case_id: int,
    queue: str,
    kind: OfferKind,
    amount: Decimal,
    currency: str,
    note: str,
    status: OfferStatus,
    limit_amount: Decimal,
    requested_by_id: int,
) -> Offer:
    """Record a new offer, granted or pending."""
    offer_id = await conn.fetchval(
        """
        INSERT INTO case_offers (case_id, queue, kind, amount, currency, note, status,
                                 limit_amount, requested_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
        """,
        case_id,
        queue,
        kind,
        amount,
        currency,
        note,
        status,
        limit_amount,
        requested_by_id,
    )
    return await get_offer(conn, offer_id)


async def lock_offer(conn: Connection, case_id: int, offer_id: int) -> OfferFacts:
    """The offer under its row lock; 404 ``offer_not_found`` unless it is one of the case's."""
    row = await conn.fetchrow(
        """
        SELECT o.id, o.status, o.requested_by,
               (SELECT a.name FROM agents a WHERE a.id = o.answered_by) AS answered_by
        FROM case_offers o WHERE o.id = $1 AND o.case_id = $2 FOR UPDATE
        """,
        offer_id,
        case_id,
    )
    if row is None:
        raise CaseRefused(404, "offer_not_found", f"case {case_id} has no offer {offer_id}")
    return OfferFacts(
        offer_id=row["id"],
        status=OfferStatus(row["status"]),
        requested_by_id=row["requested_by"],
        answered_by=row["answered_by"],
    )


async def write_answer(
    conn: Connection, offer_id: int, *, status: OfferStatus, answered_by_id: int, reason: str
) -> Offer:
    """Record a supervisor's answer on a pending offer (locked by the caller)."""
    await conn.execute(
        """
        UPDATE case_offers
        SET status = $2, answered_by = $3, answered_at = now(), answer_reason = $4
        WHERE id = $1
        """,
        offer_id,
        status,
        answered_by_id,
        reason,
    )
    return await get_offer(conn, offer_id)


async def overdue_candidates(conn: Db, *, older_than_seconds: float) -> list[tuple[int, int]]:
    """(case id, offer id) of pending offers asked longer ago than this and not yet flagged."""
    rows = await conn.fetch(
        """
        SELECT case_id, id FROM case_offers
        WHERE status = $1 AND overdue_at IS NULL
          AND requested_at < now() - make_interval(secs => $2)
        ORDER BY requested_at LIMIT 200
        """,
        OfferStatus.PENDING,
        older_than_seconds,
    )
    return [(row["case_id"], row["id"]) for row in rows]


async def flag_overdue(conn: Connection, offer_id: int, *, older_than_seconds: float) -> bool:
    """Flag the offer overdue if it still is (pending, unflagged, old enough); the caller holds
    its case's lock, so of two notifiers' timers exactly one flags it."""
    flagged = await conn.fetchval(
        """
        UPDATE case_offers SET overdue_at = now()
        WHERE id = $1 AND status = $2 AND overdue_at IS NULL
          AND requested_at < now() - make_interval(secs => $3)
        RETURNING id
        """,
        offer_id,
        OfferStatus.PENDING,
        older_than_seconds,
    )
    return flagged is not None


# ---- limits ----------------------------------------------------------------------------------


async def load_limits(conn: Db) -> list[LimitRule]:
    """Every configured limit, by role, queue (every queue first) and currency."""
    rows = await conn.fetch(
        "SELECT role, queue, currency, max_amount FROM offer_limits"
        " ORDER BY role, queue NULLS FIRST, currency"
    )
    return [
        LimitRule(
            role=Role(row["role"]),
            queue=row["queue"],
            currency=row["currency"],
            max_amount=row["max_amount"],
        )
        for row in rows
    ]


async def replace_limits(conn: Connection, rules: Sequence[LimitRule], *, updated_by: str) -> None:
    """Make ``rules`` the whole configuration, in one transaction (checked by the caller)."""
    async with conn.transaction():
        await conn.execute("DELETE FROM offer_limits")
        await conn.executemany(
            "INSERT INTO offer_limits (role, queue, currency, max_amount, updated_by)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(r.role, r.queue, r.currency, r.max_amount, updated_by) for r in rules],
        )


async def missing_queues(conn: Db, queues: Sequence[str]) -> list[str]:
    """The names among ``queues`` that are no queue."""
    known = {
        row["name"]
        for row in await conn.fetch("SELECT name FROM queues WHERE name = ANY($1::text[])", queues)
    }
    return sorted(set(queues) - known)
