"""The ``helpdesk_links`` table (migration 0031) and the per-case ordering of helpdesk deliveries.

A link says which helpdesk ticket stands for a case under one subscription, and what we last
know the ticket shows (``synced_*``): the outbound sync sends only what differs from it, and
the inbound webhook ignores a change equal to it, so neither side echoes the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from winback_notifier.outbound.channels.zendesk import TicketState
from winback_notifier.outbound.store import Executor


@dataclass(frozen=True)
class Link:
    """A case's ticket under one subscription."""

    subscription_id: int
    case_id: int
    system: str
    external_id: str
    url: str
    synced_seq: int
    synced: TicketState


_COLUMNS = (
    "subscription_id, case_id, system, external_id, url, synced_seq, synced_status, synced_assignee"
)


def _link(row: asyncpg.Record) -> Link:
    return Link(
        subscription_id=row["subscription_id"],
        case_id=row["case_id"],
        system=row["system"],
        external_id=row["external_id"],
        url=row["url"],
        synced_seq=row["synced_seq"],
        synced=TicketState(row["synced_status"], row["synced_assignee"]),
    )


async def find(db: Executor, subscription_id: int, case_id: int) -> Link | None:
    """The case's ticket under the subscription, if one was made."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM helpdesk_links WHERE subscription_id = $1 AND case_id = $2",
        subscription_id,
        case_id,
    )
    return None if row is None else _link(row)


async def find_by_ticket(
    db: Executor, subscription_id: int, ticket_id: str, *, lock: bool = False
) -> Link | None:
    """The link of a ticket (``lock``: held until the transaction ends)."""
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM helpdesk_links WHERE subscription_id = $1 AND external_id = $2"
        + (" FOR UPDATE" if lock else ""),
        subscription_id,
        ticket_id,
    )
    return None if row is None else _link(row)


async def save(
    db: Executor,
    *,
    subscription_id: int,
    case_id: int,
    system: str,
    external_id: str,
    url: str,
    seq: int,
    state: TicketState,
) -> None:
    """Record a new ticket for the case (a second answer for the same ticket changes nothing
    but what it shows)."""
    await db.execute(
        """
        INSERT INTO helpdesk_links (subscription_id, case_id, system, external_id, url,
                                    synced_seq, synced_status, synced_assignee)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (subscription_id, case_id) DO UPDATE
        SET synced_seq = greatest(helpdesk_links.synced_seq, excluded.synced_seq),
            synced_status = excluded.synced_status,
            synced_assignee = coalesce(excluded.synced_assignee, helpdesk_links.synced_assignee),
            updated_at = now()
        """,
        subscription_id,
        case_id,
        system,
        external_id,
        url,
        seq,
        state.status,
        state.assignee,
    )


async def synced(
    db: Executor, subscription_id: int, case_id: int, *, seq: int, state: TicketState
) -> None:
    """The ticket now shows ``state``, as of the case's change ``seq`` (never moved back)."""
    await db.execute(
        """
        UPDATE helpdesk_links
        SET synced_seq = greatest(synced_seq, $3), synced_status = $4,
            synced_assignee = coalesce($5, synced_assignee), updated_at = now()
        WHERE subscription_id = $1 AND case_id = $2
        """,
        subscription_id,
        case_id,
        seq,
        state.status,
        state.assignee,
    )


async def seconds_until_earlier_due(
    db: Executor, subscription_id: int, case_id: int, seq: int
) -> float | None:
    """How long until an earlier change of the same case (lower ``seq``), still owed to the
    subscription, is due; ``None`` when none is owed. A later change waits for it: a ticket is
    made once, by the first, and changes reach it in the case's order."""
    value = await db.fetchval(
        """
        SELECT extract(epoch FROM min(next_attempt_at) - now())
        FROM outbound_deliveries
        WHERE subscription_id = $1 AND case_id = $2 AND status = 'pending'
          AND (payload -> 'data' -> 'case' ->> 'seq')::int < $3
        """,
        subscription_id,
        case_id,
        seq,
    )
    # greatest(0, NULL) would be 0, not NULL: clamped here instead.
    return None if value is None else max(0.0, float(value))


async def defer(db: Executor, delivery_id: int, seconds: float) -> None:
    """Put a delivery back, due in ``seconds``, without counting an attempt (it waits its turn;
    it has not failed)."""
    await db.execute(
        "UPDATE outbound_deliveries SET next_attempt_at = now() + make_interval(secs => $2)"
        " WHERE id = $1",
        delivery_id,
        seconds,
    )
