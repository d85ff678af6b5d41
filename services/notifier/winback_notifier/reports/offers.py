"""Offers by queue: what agents gave on the call, what they asked for, and how fast supervisors
answered (``case_offers``, migration 0022).

An offer counts in the window by when it was made (``requested_at``), under the queue its case
was in then. Amounts are summed per currency (different currencies never add up). "Given" is
what the customer gets: granted within the limit, or approved.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from winback_notifier.cases.offer_rules import GIVEN, OfferStatus
from winback_notifier.reports.service import Db


class OfferRow(BaseModel):
    """Offers made on one queue's cases in one currency."""

    queue: str
    currency: str
    offers: int
    granted: int
    """Within the offerer's limit: given at once."""
    asked: int
    """Above it: a supervisor was asked (approved, declined or still pending)."""
    approved: int
    declined: int
    pending: int
    overdue: int
    """Requests flagged for waiting longer than the approval time."""
    given_amount: float
    """Total of the granted and approved offers."""
    answer_minutes_p50: float | None
    """Median time from request to answer, for answered requests."""


class OfferReport(BaseModel):
    """Offers made in ``[since, until)``, by queue and currency."""

    since: datetime
    until: datetime
    rows: list[OfferRow]


async def offer_report(conn: Db, *, since: datetime, until: datetime) -> OfferReport:
    """Offers made in the window, by queue and currency, most given first."""
    rows = await conn.fetch(
        """
        SELECT queue, currency, count(*) AS offers,
               count(*) FILTER (WHERE status = $3) AS granted,
               count(*) FILTER (WHERE status <> $3) AS asked,
               count(*) FILTER (WHERE status = $4) AS approved,
               count(*) FILTER (WHERE status = $5) AS declined,
               count(*) FILTER (WHERE status = $6) AS pending,
               count(*) FILTER (WHERE overdue_at IS NOT NULL) AS overdue,
               coalesce(sum(amount) FILTER (WHERE status = ANY($7::text[])), 0) AS given_amount,
               percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY extract(epoch FROM answered_at - requested_at) / 60
               ) FILTER (WHERE answered_at IS NOT NULL) AS answer_minutes_p50
        FROM case_offers
        WHERE requested_at >= $1 AND requested_at < $2
        GROUP BY queue, currency
        ORDER BY given_amount DESC, queue, currency
        """,
        since,
        until,
        OfferStatus.GRANTED,
        OfferStatus.APPROVED,
        OfferStatus.DECLINED,
        OfferStatus.PENDING,
        sorted(GIVEN),
    )
    return OfferReport(
        since=since,
        until=until,
        rows=[
            OfferRow.model_validate(
                {
                    **dict(row),
                    "given_amount": round(float(row["given_amount"]), 2),
                    "answer_minutes_p50": None
                    if row["answer_minutes_p50"] is None
                    else round(float(row["answer_minutes_p50"]), 2),
                }
            )
            for row in rows
        ],
    )
