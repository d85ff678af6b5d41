"""Case service: reading cases for consoles, and changing them under the workflow's rules.

Every change runs in one transaction: lock the case row (``SELECT ... FOR UPDATE``), ask
:mod:`winback_notifier.cases.rules` whether it is allowed, update the case with ``seq + 1`` and
append the history entry with that seq. The row lock is what makes concurrent claims have
exactly one winner: the second waits, then sees the first one's owner and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg
from pydantic import BaseModel

from winback_notifier.cases.rules import Action, CaseRefused, CaseState, Outcome, Status, decide
from winback_shared.agents import Agent
from winback_shared.db import Connection
from winback_shared.events.case_events import CaseCard, HistoryEntry, Resolution

OPEN_STATUSES = ("open", "claimed", "contacted", "unreachable", "reopened")
"""Cases still waiting for someone (the ``GET /api/cases`` default)."""
BOARD_STATUSES = (*OPEN_STATUSES, "resolved")
"""What a console's board shows: resolved cases stay until their owner closes them."""

Db: TypeAlias = "Connection | asyncpg.Pool"


@dataclass(frozen=True)
class Change:
    """A committed change: the card after it, its history entry, and where the case was."""

    card: CaseCard
    entry: HistoryEntry
    previous_queue: str | None


class ContactAttempt(BaseModel):
    """One try to reach the customer."""

    attempted_at: datetime
    channel: str
    reached: bool
    note: str
    agent: str


def _card(row: asyncpg.Record) -> CaseCard:
    return CaseCard.model_validate(dict(row))


_BOARD_ORDER = "(status = 'resolved'), priority, opened_at, case_id"
"""Most urgent first; resolved cases (waiting only for their owner to close them) last, so a
pile of them never pushes an open case out of a capped board."""


async def list_cards(
    conn: Db,
    agent: Agent,
    *,
    statuses: tuple[str, ...] = BOARD_STATUSES,
    limit: int = 500,
    offset: int = 0,
) -> list[CaseCard]:
    """Cases the agent may see in these statuses, most urgent first."""
    rows = await conn.fetch(
        f"""
        SELECT * FROM case_cards
        WHERE status = ANY($1::text[]) AND ($2 OR queue = ANY($3::text[]))
        ORDER BY {_BOARD_ORDER}
        LIMIT $4 OFFSET $5
        """,
        list(statuses),
        agent.sees_all_queues,
        sorted(agent.queues),
        limit,
        offset,
    )
    return [_card(row) for row in rows]


async def count_cards(conn: Db, agent: Agent, *, statuses: tuple[str, ...] = BOARD_STATUSES) -> int:
    """How many cases :func:`list_cards` would list without a limit."""
    count = await conn.fetchval(
        """
        SELECT count(*) FROM recovery_cases
        WHERE status = ANY($1::text[]) AND ($2 OR queue = ANY($3::text[]))
        """,
        list(statuses),
        agent.sees_all_queues,
        sorted(agent.queues),
    )
    return int(count)


async def list_open_cases(conn: Db, limit: int = 500) -> list[CaseCard]:
    """Every open case in every queue, most urgent first (for tools and tests, not consoles)."""
    rows = await conn.fetch(
        """
        SELECT * FROM case_cards WHERE status = ANY($1::text[])
        ORDER BY priority, opened_at, case_id LIMIT $2
        """,
        list(OPEN_STATUSES),
        limit,
    )
    return [_card(row) for row in rows]


async def get_card(conn: Db, agent: Agent, case_id: int) -> CaseCard:
    """One case the agent may see; 404 if there is none, 403 if it is not theirs to see."""
    row = await conn.fetchrow("SELECT * FROM case_cards WHERE case_id = $1", case_id)
    if row is None:
        raise CaseRefused(404, "case_not_found", f"there is no case {case_id}")
    card = _card(row)
    if not agent.sees_queue(card.queue):
        raise CaseRefused(
            403, "forbidden", f"case {case_id} is in queue {card.queue!r}, not one of yours"
        )
    return card


async def get_history(conn: Db, case_id: int) -> list[HistoryEntry]:
    """Every change of the case, oldest first."""
    rows = await conn.fetch(
        "SELECT seq, kind, actor, occurred_at, data FROM case_history"
        " WHERE case_id = $1 ORDER BY seq",
        case_id,
    )
    return [HistoryEntry.model_validate(dict(row)) for row in rows]


async def get_attempts(conn: Db, case_id: int) -> list[ContactAttempt]:
    """Every contact attempt of the case, oldest first."""
    rows = await conn.fetch(
        """
        SELECT t.attempted_at, t.channel, t.reached, t.note, a.name AS agent
        FROM contact_attempts t JOIN agents a ON a.id = t.agent_id
        WHERE t.case_id = $1 ORDER BY t.attempted_at, t.id
        """,
        case_id,
    )
    return [ContactAttempt.model_validate(dict(row)) for row in rows]


# ---- changes -------------------------------------------------------------------------------


async def _lock(conn: Connection, case_id: int) -> CaseState:
    # The owner's name comes from a subquery, not a join: after waiting for the lock, PostgreSQL
    # re-reads the locked row but would keep a joined row from before the wait, so a losing
    # claim would learn the new owner's id with the old (empty) owner's name.
    row = await conn.fetchrow(
        """
        SELECT c.id, c.status, c.queue, c.owner_id, c.failed_attempts,
               (SELECT a.name FROM agents a WHERE a.id = c.owner_id) AS owner
        FROM recovery_cases c
        WHERE c.id = $1 FOR UPDATE
        """,
        case_id,
    )
    if row is None:
        raise CaseRefused(404, "case_not_found", f"there is no case {case_id}")
    return CaseState(
        case_id=row["id"],
        status=Status(row["status"]),
        queue=row["queue"],
        owner_id=row["owner_id"],
        owner=row["owner"],
        failed_attempts=row["failed_attempts"],
    )


async def _commit_change(
    conn: Connection,
    state: CaseState,
    outcome: Outcome,
    action: Action,
    actor: Agent,
    data: dict[str, Any],
    extra_sql: str = "",
    extra_args: tuple[Any, ...] = (),
) -> Change:
    """Write the outcome (plus action-specific columns) and its history entry."""
    return await commit_change(
        conn, state, outcome, action.value, actor.id, actor.name, data, extra_sql, extra_args
    )


async def commit_change(
    conn: Connection,
    state: CaseState,
    outcome: Outcome,
    kind: str,
    actor_id: int | None,
    actor_name: str,
    data: dict[str, Any],
    extra_sql: str = "",
    extra_args: tuple[Any, ...] = (),
) -> Change:
    """Write an outcome and its history entry, for an agent's action or a timer (no agent).

    The caller holds the case row's lock (``FOR UPDATE``) in its transaction. ``extra_sql``
    is a fixed fragment of ``SET`` assignments written in this package, whose placeholders
    start at ``$5``; values always travel as parameters.
    """
    seq = await conn.fetchval(
        f"""
        UPDATE recovery_cases
        SET status = $2, owner_id = $3, queue = $4, seq = seq + 1, updated_at = now() {extra_sql}
        WHERE id = $1 RETURNING seq
        """,
        state.case_id,
        outcome.status.value,
        outcome.owner_id,
        outcome.queue,
        *extra_args,
    )
    entry_row = await conn.fetchrow(
        """
        INSERT INTO case_history (case_id, seq, kind, actor_id, actor, data)
        VALUES ($1, $2, $3, $4, $5, $6)
        RETURNING seq, kind, actor, occurred_at, data
        """,
        state.case_id,
        seq,
        kind,
        actor_id,
        actor_name,
        {"status": outcome.status.value, **data},
    )
    assert entry_row is not None
    card_row = await conn.fetchrow("SELECT * FROM case_cards WHERE case_id = $1", state.case_id)
    assert card_row is not None
    return Change(
        card=_card(card_row),
        entry=HistoryEntry.model_validate(dict(entry_row)),
        previous_queue=state.queue if outcome.queue != state.queue else None,
    )


async def claim(conn: Connection, *, case_id: int, actor: Agent) -> Change:
    """Take ownership; exactly one of several concurrent claims wins."""
    async with conn.transaction():
        state = await _lock(conn, case_id)
        outcome = decide(Action.CLAIM, state, actor)
        return await _commit_change(
            conn,
            state,
            outcome,
            Action.CLAIM,
            actor,
            {"owner": actor.name},
            ", claimed_at = COALESCE(claimed_at, now()), owned_at = now()",
        )


async def log_attempt(
    conn: Connection,
    *,
    case_id: int,
    actor: Agent,
    channel: str,
    reached: bool,
    note: str,
) -> Change:
    """Record one try to reach the customer; a successful one marks the case contacted."""
    async with conn.transaction():
        state = await _lock(conn, case_id)
        outcome = decide(Action.ATTEMPT, state, actor, reached=reached)
        await conn.execute(
            """
            INSERT INTO contact_attempts (case_id, agent_id, channel, reached, note)
            VALUES ($1, $2, $3, $4, $5)
            """,
            case_id,
            actor.id,
            channel,
            reached,
            note,
        )
        return await _commit_change(
            conn,
            state,
            outcome,
            Action.ATTEMPT,
            actor,
            {"channel": channel, "reached": reached, "note": note},
            """, first_attempt_at = COALESCE(first_attempt_at, now()), last_attempt_at = now(),
                 first_contact_at = CASE WHEN $5 THEN COALESCE(first_contact_at, now())
                                         ELSE first_contact_at END,
                 failed_attempts = failed_attempts + CASE WHEN $5 THEN 0 ELSE 1 END""",
            (reached,),
        )


async def mark_unreachable(
    conn: Connection, *, case_id: int, actor: Agent, note: str, unreachable_after: int
) -> Change:
    """Give up reaching the customer after enough failed attempts."""
    async with conn.transaction():
        state = await _lock(conn, case_id)
        outcome = decide(Action.MARK_UNREACHABLE, state, actor, unreachable_after=unreachable_after)
        data = {"note": note, "failed_attempts": state.failed_attempts}
        return await _commit_change(conn, state, outcome, Action.MARK_UNREACHABLE, actor, data)


async def resolve(
    conn: Connection,
    *,
    case_id: int,
    actor: Agent,
    root_cause: str,
    resolution: Resolution,
    customer_reaction: str,
    note: str,
) -> Change:
    """Record the confirmed root cause, what was offered and how the customer took it."""
    async with conn.transaction():
        state = await _lock(conn, case_id)
        outcome = decide(Action.RESOLVE, state, actor)
        offered = resolution.model_dump(mode="json")
        return await _commit_change(
            conn,
            state,
            outcome,
            Action.RESOLVE,
            actor,
            {
                "root_cause": root_cause,
                "resolution": offered,
                "customer_reaction": customer_reaction,
                "note": note,
            },
            ", root_cause = $5, resolution = $6, customer_reaction = $7, resolved_at = now()",
            (root_cause, offered, customer_reaction),
        )


async def close(conn: Connection, *, case_id: int, actor: Agent, follow_up_outcome: str) -> Change:
    """Finish the case, with what the follow-up found."""
    async with conn.transaction():
        state = await _lock(conn, case_id)
        outcome = decide(Action.CLOSE, state, actor)
        return await _commit_change(
            conn,
            state,
            outcome,
            Action.CLOSE,
            actor,
            {"follow_up_outcome": follow_up_outcome},
            ", follow_up_outcome = $5, closed_at = now()",
            (follow_up_outcome or None,),
        )


async def reopen(conn: Connection, *, case_id: int, actor: Agent, reason: str) -> Change:
    """Put a finished case back in its queue, unowned; its earlier outcome stays in history."""
    async with conn.transaction():
        state = await _lock(conn, case_id)
        outcome = decide(Action.REOPEN, state, actor)
        return await _commit_change(
            conn,
            state,
            outcome,
            Action.REOPEN,
            actor,
            {"reason": reason, "previous_owner": state.owner},
            ", resolved_at = NULL, closed_at = NULL, owned_at = NULL",
        )


async def reassign(
    conn: Connection,
    *,
    case_id: int,
    actor: Agent,
    new_owner: Agent | None,
    new_queue: str | None,
    note: str,
) -> Change:
    """Hand the case to another agent and/or queue (a supervisor's decision)."""
    async with conn.transaction():
        state = await _lock(conn, case_id)
        outcome = decide(Action.REASSIGN, state, actor, new_owner=new_owner, new_queue=new_queue)
        data = {
            "from_owner": state.owner,
            "to_owner": new_owner.name if new_owner else None,
            "from_queue": state.queue,
            "to_queue": outcome.queue,
            "note": note,
        }
        # A new owner's claim lapses counting from now; handed to a queue alone, it is unowned.
        owned = (
            ", claimed_at = COALESCE(claimed_at, now()), owned_at = now()"
            if new_owner
            else ", owned_at = NULL"
        )
        return await _commit_change(conn, state, outcome, Action.REASSIGN, actor, data, owned)


async def add_note(conn: Connection, *, case_id: int, actor: Agent, text: str) -> Change:
    """An internal comment on the case, kept in its history."""
    async with conn.transaction():
        state = await _lock(conn, case_id)
        outcome = decide(Action.NOTE, state, actor)
        return await _commit_change(conn, state, outcome, Action.NOTE, actor, {"text": text})
