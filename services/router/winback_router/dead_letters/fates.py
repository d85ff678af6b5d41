"""What became of one accepted delivery: a case, a response stored without one, a dead letter,
or nothing yet. Asked by ``winback send`` right after ingest's 202, which says only "accepted".

A delivery is named by its receipt id (ingest's 202) and, when the sender knows it, the source
and response id it carries. The response is looked up by (source, response id), the router's
own key (``response_keys``: one probe, then one month of ``survey_responses`` and
``case_keys``), never by receipt: no index leads from a receipt to a stored response, and
scanning a month of responses for each question of a waiting sender is not worth one. A dead
letter has no response id (it could not be normalised), so it is found by receipt; the table
holds only what failed, and ``winback send`` asks a handful of times at most.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg

from winback_shared.db import Connection

Fate = Literal["case", "stored", "dead_letter", "unseen"]


@dataclass(frozen=True)
class StoredResponse:
    """The stored response with the asked-for id, and its case if one was opened."""

    receipt_id: str
    """The receipt of the delivery that stored it: another one's when this was a repeat."""
    needs_recovery: bool
    scores: list[dict[str, Any]]
    codes: list[str]
    case_id: int | None


@dataclass(frozen=True)
class LetterSeen:
    """The newest dead letter of the asked-for receipt."""

    id: int
    error: str


@dataclass(frozen=True)
class DeliveryFate:
    """The answer of ``GET /ops/deliveries/{receipt_id}``."""

    receipt_id: str
    fate: Fate
    case_id: int | None = None
    reasons: list[str] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)
    stored_receipt_id: str | None = None
    """When a response is known: the receipt that stored it (not this one for a repeat)."""
    dead_letter_id: int | None = None
    error: str | None = None


def decide(
    receipt_id: str, stored: StoredResponse | None, letter: LetterSeen | None
) -> DeliveryFate:
    """The delivery's fate from what the database holds.

    A response stored by this very receipt wins (a dead letter replayed once its adapter was
    fixed is stored under the same receipt); else this receipt's dead letter; else a response
    stored by an earlier delivery of the same id (this one is a repeat, reported as what is
    stored, with the other receipt); else nothing is known yet.
    """
    if stored is not None and (stored.receipt_id == receipt_id or letter is None):
        return DeliveryFate(
            receipt_id=receipt_id,
            fate="case" if stored.case_id is not None else "stored",
            case_id=stored.case_id,
            reasons=stored.codes,
            scores=stored.scores,
            stored_receipt_id=stored.receipt_id,
        )
    if letter is not None:
        return DeliveryFate(
            receipt_id=receipt_id, fate="dead_letter", dead_letter_id=letter.id, error=letter.error
        )
    return DeliveryFate(receipt_id=receipt_id, fate="unseen")


async def find_response(
    conn: Connection | asyncpg.Pool, source: str, response_id: str
) -> StoredResponse | None:
    """The stored response ``source``/``response_id`` with its case, if stored."""
    row = await conn.fetchrow(
        """
        SELECT r.receipt_id, r.needs_recovery, r.scores, r.codes, c.case_id
        FROM response_keys k
        JOIN survey_responses r ON r.id = k.survey_response_id AND r.received_at = k.received_at
        LEFT JOIN case_keys c ON c.survey_response_id = k.survey_response_id
        WHERE k.source = $1 AND k.response_id = $2
        """,
        source,
        response_id,
    )
    if row is None:
        return None
    return StoredResponse(
        receipt_id=row["receipt_id"],
        needs_recovery=row["needs_recovery"],
        scores=list(row["scores"]),
        codes=[reason["code"] for reason in row["codes"]],
        case_id=row["case_id"],
    )


NEWEST_LETTER_SQL = (
    "SELECT id, error FROM dead_letters WHERE receipt_id = $1 ORDER BY id DESC LIMIT 1"
)
"""One probe of ``dead_letters_receipt_idx`` (migration 0040), read backwards."""


async def find_letter(conn: Connection | asyncpg.Pool, receipt_id: str) -> LetterSeen | None:
    """The newest dead letter of ``receipt_id``, if any."""
    row = await conn.fetchrow(NEWEST_LETTER_SQL, receipt_id)
    return None if row is None else LetterSeen(id=row["id"], error=row["error"])


async def delivery_fate(
    conn: Connection | asyncpg.Pool,
    receipt_id: str,
    *,
    source: str | None = None,
    response_id: str | None = None,
) -> DeliveryFate:
    """What became of the delivery ``receipt_id`` (with its source and response id, if known)."""
    stored = None
    if source is not None and response_id is not None:
        stored = await find_response(conn, source, response_id)
    return decide(receipt_id, stored, await find_letter(conn, receipt_id))
