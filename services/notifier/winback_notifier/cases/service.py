"""Case service: reading cases for consoles, and changing them under the workflow's rules.

Every change runs in one transaction: lock the case row (``SELECT ... FOR UPDATE``), ask
:mod:`winback_notifier.cases.rules` whether it is allowed, and write what they answer with
:func:`winback_shared.case_changes.append_change` (``seq + 1`` and the history entry with that
seq, as every writer of a case does). The row lock is what makes concurrent claims have
exactly one winner: the second waits, then sees the first one's owner and is refused.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg
from pydantic import BaseModel

from winback_notifier.cases import offer_store
from winback_notifier.cases.attempts import attempt_effect
from winback_notifier.cases.offer_rules import GIVEN, OfferStatus, nothing_pending, with_offers
from winback_notifier.cases.rules import (
    Action,
    CaseRefused,
    CaseState,
    Outcome,
    ReasonsReview,
    decide,
)
from winback_shared.agents import Agent
from winback_shared.case_changes import FIRST_NOW, NOW, CaseColumn, CaseColumns, append_change
from winback_shared.case_months import CASE_OPENED_AT, CaseView, read_case
from winback_shared.case_vocabulary import (
    BOARD_STATUSES,
    OPEN_STATUSES,
    AttemptOutcome,
    CaseStatus,
    HistoryKind,
    outcome_of,
)
from winback_shared.db import Connection
from winback_shared.events.case_events import CaseCard, GivenOffer, HistoryEntry, Resolution
from winback_shared.taxonomy import ASKS_CONTACT, RESERVED_CODES

log = logging.getLogger("winback.notifier")

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
    outcome: AttemptOutcome
    """Attempts logged before outcomes existed read as ``reached`` or ``no_answer``."""
    call_back_at: datetime | None = None
    """The time the customer asked to be called (outcome ``call_later``)."""
    note: str
    agent: str


def _card(row: asyncpg.Record) -> CaseCard:
    return CaseCard.model_validate(dict(row))


CARDS_QUERY = """
    SELECT * FROM case_cards
    WHERE status = ANY($1::text[]) AND ($2 OR queue = ANY($3::text[]))
    ORDER BY (status = $6), priority, opened_at, case_id
    LIMIT $4 OFFSET $5
"""
"""The cards an agent may see in some statuses, most urgent first (:func:`list_cards`).

Resolved cases (waiting only for their owner to close them) come last, so a pile of them never
pushes an open case out of a capped board."""


def _cards_arguments(
    agent: Agent, statuses: tuple[str, ...], limit: int, offset: int
) -> tuple[Any, ...]:
    return (
        list(statuses),
        agent.sees_all_queues,
        sorted(agent.queues),
        limit,
        offset,
        CaseStatus.RESOLVED,
    )


async def list_cards(
    conn: Db,
    agent: Agent,
    *,
    statuses: tuple[str, ...] = BOARD_STATUSES,
    limit: int = 500,
    offset: int = 0,
) -> list[CaseCard]:
    """Cases the agent may see in these statuses, most urgent first (:data:`CARDS_QUERY`)."""
    rows = await conn.fetch(CARDS_QUERY, *_cards_arguments(agent, statuses, limit, offset))
    return [_card(row) for row in rows]


async def card_pages(
    conn: Connection,
    agent: Agent,
    *,
    limit: int,
    page_size: int,
    statuses: tuple[str, ...] = BOARD_STATUSES,
) -> AsyncIterator[list[CaseCard]]:
    """:func:`list_cards`' cards, ``page_size`` at a time, read through a cursor in the
    caller's transaction.

    For a reader that encodes each page and drops it (the console board): a whole board of
    rows, decoded JSON and models at once is about ten times its JSON's size, and the
    notifier's memory never gave that back after a sign-in (docs/performance.md, section 34).
    """
    page: list[CaseCard] = []
    rows = conn.cursor(
        CARDS_QUERY, *_cards_arguments(agent, statuses, limit, 0), prefetch=page_size
    )
    async for row in rows:
        page.append(_card(row))
        if len(page) == page_size:
            yield page
            page = []
    if page:
        yield page


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


async def board_read_at(conn: Connection) -> datetime:
    """The database's clock: the moment a board read in this transaction reflects."""
    moment: datetime = await conn.fetchval("SELECT now()")
    return moment


async def board_snapshot(conn: Connection) -> tuple[datetime, str]:
    """The database's clock and the transaction's snapshot (``pg_current_snapshot()``): the
    moment a board read in this repeatable-read transaction reflects, and which transactions
    it sees (:func:`board_changed_since` compares later changes against it)."""
    row = await conn.fetchrow("SELECT now() AS at, pg_current_snapshot()::text AS snapshot")
    assert row is not None
    return row["at"], row["snapshot"]


async def board_changed_since(conn: Db, snapshot: str) -> bool:
    """Whether a transaction that ``snapshot`` does not see has committed a change of what a
    board shows (a case, a card's response, an owner's name; ``board_changes``, migration 0037).

    Only transactions from the snapshot's xmin on can be unseen: one probe of the key.
    """
    changed = await conn.fetchval(
        """
        SELECT EXISTS (
            SELECT 1 FROM board_changes
            WHERE xid >= pg_snapshot_xmin($1::text::pg_snapshot)
              AND NOT pg_visible_in_snapshot(xid, $1::text::pg_snapshot))
        """,
        snapshot,
    )
    return bool(changed)


async def list_changed_cards(
    conn: Db, agent: Agent, *, since: datetime, limit: int, after_case_id: int = 0
) -> list[CaseCard]:
    """Cases changed at or after ``since`` that the agent sees, or saw until one moved away.

    Every status, closed included (a console drops a closed card from its board), ordered by
    case id from ``after_case_id`` on, ``limit`` at a time: a console catching up gets all of
    them, however many, page by page. A case moved out of the agent's queues since then comes
    too, so the console drops it.
    """
    rows = await conn.fetch(
        """
        SELECT * FROM case_cards c
        WHERE c.updated_at >= $1 AND c.case_id > $5
          AND ($2 OR c.queue = ANY($3::text[])
               OR EXISTS (SELECT 1 FROM case_history h
                          WHERE h.case_id = c.case_id AND h.occurred_at >= $1
                            AND h.data ->> 'from_queue' = ANY($3::text[])))
        ORDER BY c.case_id
        LIMIT $4
        """,
        since,
        agent.sees_all_queues,
        sorted(agent.queues),
        limit,
        after_case_id,
    )
    return [_card(row) for row in rows]


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
    row = await read_case(conn, CaseView.CARDS, case_id)
    if row is None:
        raise CaseRefused(404, "case_not_found", f"there is no case {case_id}")
    card = _card(row)
    if not agent.sees_queue(card.queue):
        raise CaseRefused(
            403, "forbidden", f"case {case_id} is in queue {card.queue!r}, not one of yours"
        )
    return card


KNOWN_KINDS = frozenset(kind.value for kind in HistoryKind)
"""The history kinds this version can name."""


async def get_history(conn: Db, case_id: int) -> list[HistoryEntry]:
    """Every change of the case, oldest first, but those of a kind this version does not know.

    A newer notifier (during a rolling upgrade) may write a kind this one has no name for;
    failing on it would make the case unopenable here (a 500) until the upgrade ends. Such an
    entry is left out with a warning, and the newer version shows it."""
    rows = await conn.fetch(
        "SELECT seq, kind, actor, occurred_at, data FROM case_history"
        " WHERE case_id = $1 ORDER BY seq",
        case_id,
    )
    known = [row for row in rows if row["kind"] in KNOWN_KINDS]
    if len(known) < len(rows):
        log.warning(
            "case history entries of a kind this version does not know left out",
            extra={
                "fields": {
                    "case_id": case_id,
                    "kinds": sorted({row["kind"] for row in rows} - KNOWN_KINDS),
                }
            },
        )
    return [HistoryEntry.model_validate(dict(row)) for row in known]


async def get_attempts(conn: Db, case_id: int) -> list[ContactAttempt]:
    """Every contact attempt of the case, oldest first."""
    rows = await conn.fetch(
        """
        SELECT t.attempted_at, t.channel, t.reached, t.outcome, t.call_back_at, t.note,
               a.name AS agent
        FROM contact_attempts t JOIN agents a ON a.id = t.agent_id
        WHERE t.case_id = $1 ORDER BY t.attempted_at, t.id
        """,
        case_id,
    )
    return [
        ContactAttempt.model_validate(
            {**dict(row), "outcome": outcome_of(row["reached"], row["outcome"])}
        )
        for row in rows
    ]


# ---- changes -------------------------------------------------------------------------------


async def _lock(conn: Connection, case_id: int) -> CaseState:
    # The owner's name comes from a subquery, not a join: after waiting for the lock, PostgreSQL
    # re-reads the locked row but would keep a joined row from before the wait, so a losing
    # claim would learn the new owner's id with the old (empty) owner's name. The case is
    # read in its month's partition alone (winback_shared.case_months).
    row = await conn.fetchrow(
        f"""
        SELECT c.id, c.status, c.queue, c.owner_id, c.failed_attempts, c.wrong_number_at,
               (SELECT a.name FROM agents a WHERE a.id = c.owner_id) AS owner
        FROM recovery_cases c
        WHERE c.id = $1 AND c.opened_at = {CASE_OPENED_AT} FOR UPDATE
        """,
        case_id,
    )
    if row is None:
        raise CaseRefused(404, "case_not_found", f"there is no case {case_id}")
    return CaseState(
        case_id=row["id"],
        status=CaseStatus(row["status"]),
        queue=row["queue"],
        owner_id=row["owner_id"],
        owner=row["owner"],
        failed_attempts=row["failed_attempts"],
        wrong_number=row["wrong_number_at"] is not None,
    )


async def lock_case(conn: Connection, case_id: int) -> CaseState:
    """The case as it stands under its row lock, held until the caller's transaction ends."""
    return await _lock(conn, case_id)


@asynccontextmanager
async def _locked(conn: Connection, case_id: int) -> AsyncIterator[CaseState]:
    """A transaction holding the case's row lock, and the case as it stands under it."""
    async with conn.transaction():
        yield await _lock(conn, case_id)


async def commit_change(
    conn: Connection,
    state: CaseState,
    outcome: Outcome,
    kind: HistoryKind,
    *,
    actor: str,
    actor_id: int | None,
    data: Mapping[str, Any],
    columns: CaseColumns | None = None,
) -> Change:
    """Write an outcome, the other columns this change sets, and its history entry; for an
    agent's action or a timer (no ``actor_id``). The caller holds the case row's lock."""
    entry = await append_change(
        conn,
        state.case_id,
        kind=kind,
        actor=actor,
        actor_id=actor_id,
        data={"status": outcome.status.value, **data},
        columns={
            CaseColumn.STATUS: outcome.status,
            CaseColumn.OWNER_ID: outcome.owner_id,
            CaseColumn.QUEUE: outcome.queue,
            **(columns or {}),
        },
    )
    card_row = await read_case(conn, CaseView.CARDS, state.case_id)
    assert card_row is not None
    return Change(
        card=_card(card_row),
        entry=entry,
        previous_queue=state.queue if outcome.queue != state.queue else None,
    )


async def _act(
    conn: Connection,
    state: CaseState,
    outcome: Outcome,
    action: Action,
    actor: Agent,
    data: Mapping[str, Any],
    columns: CaseColumns | None = None,
) -> Change:
    """Write what an agent's action decided."""
    return await commit_change(
        conn,
        state,
        outcome,
        action.kind,
        actor=actor.name,
        actor_id=actor.id,
        data=data,
        columns=columns,
    )


_OWNED_NOW: CaseColumns = {CaseColumn.CLAIMED_AT: FIRST_NOW, CaseColumn.OWNED_AT: NOW}
"""A new owner: the case's first claim is kept, and an untried claim lapses counting from now."""


async def claim(conn: Connection, *, case_id: int, actor: Agent) -> Change:
    """Take ownership; exactly one of several concurrent claims wins."""
    async with _locked(conn, case_id) as state:
        outcome = decide(Action.CLAIM, state, actor)
        return await _act(
            conn, state, outcome, Action.CLAIM, actor, {"owner": actor.name}, _OWNED_NOW
        )


async def log_attempt(
    conn: Connection,
    *,
    case_id: int,
    actor: Agent,
    channel: str,
    outcome: AttemptOutcome,
    note: str,
    call_back_at: datetime | None = None,
) -> Change:
    """Record one try to reach the customer, with how it went (:mod:`.attempts`): a reached
    customer marks the case contacted, "call later" sets its next deadline, and any attempt
    answers the call-back an earlier one set."""
    async with _locked(conn, case_id) as state:
        now: datetime = await conn.fetchval("SELECT now()")
        effect = attempt_effect(outcome, call_back_at, now)
        decided = decide(Action.ATTEMPT, state, actor, reached=effect.reached)
        await conn.execute(
            """
            INSERT INTO contact_attempts
                (case_id, agent_id, channel, reached, outcome, call_back_at, note)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """,
            case_id,
            actor.id,
            channel,
            effect.reached,
            effect.outcome.value,
            effect.call_back_due_at,
            note,
        )
        columns: dict[CaseColumn, object] = {
            CaseColumn.FIRST_ATTEMPT_AT: FIRST_NOW,
            CaseColumn.LAST_ATTEMPT_AT: NOW,
            CaseColumn.CALL_BACK_DUE_AT: effect.call_back_due_at,
            CaseColumn.CALL_BACK_MISSED_AT: None,
        }
        if effect.reached:
            columns[CaseColumn.FIRST_CONTACT_AT] = FIRST_NOW
        if effect.failed:
            columns[CaseColumn.FAILED_ATTEMPTS] = state.failed_attempts + 1  # read under the lock
        if effect.wrong_number:
            columns[CaseColumn.WRONG_NUMBER_AT] = FIRST_NOW
        data: dict[str, Any] = {
            "channel": channel,
            "reached": effect.reached,
            "outcome": effect.outcome.value,
            "note": note,
        }
        if effect.call_back_due_at is not None:
            data["call_back_at"] = effect.call_back_due_at.isoformat()
        return await _act(conn, state, decided, Action.ATTEMPT, actor, data, columns)


async def mark_unreachable(
    conn: Connection, *, case_id: int, actor: Agent, note: str, unreachable_after: int
) -> Change:
    """Give up reaching the customer after enough failed attempts."""
    async with _locked(conn, case_id) as state:
        outcome = decide(Action.MARK_UNREACHABLE, state, actor, unreachable_after=unreachable_after)
        data = {"note": note, "failed_attempts": state.failed_attempts}
        return await _act(conn, state, outcome, Action.MARK_UNREACHABLE, actor, data)


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
    async with _locked(conn, case_id) as state:
        outcome = decide(Action.RESOLVE, state, actor)
        made = await offer_store.list_offers(conn, case_id)
        nothing_pending(
            [
                f"offer {o.offer_id}: {o.amount} {o.currency} {o.kind}"
                for o in made
                if o.status is OfferStatus.PENDING
            ],
            case_id=case_id,
        )
        given = [
            GivenOffer(
                offer_id=o.offer_id, kind=o.kind, amount=float(o.amount), currency=o.currency
            )
            for o in made
            if o.status in GIVEN
        ]
        resolution = with_offers(resolution, given, case_id=case_id)
        offered = resolution.model_dump(mode="json")
        data = {
            "root_cause": root_cause,
            "resolution": offered,
            "customer_reaction": customer_reaction,
            "note": note,
        }
        columns = {
            CaseColumn.ROOT_CAUSE: root_cause,
            CaseColumn.RESOLUTION: offered,
            CaseColumn.CUSTOMER_REACTION: customer_reaction,
            CaseColumn.RESOLVED_AT: NOW,
            CaseColumn.ROOT_CAUSE_AT: NOW,  # unlike resolved_at, reopening keeps it
        }
        return await _act(conn, state, outcome, Action.RESOLVE, actor, data, columns)


async def close(conn: Connection, *, case_id: int, actor: Agent, follow_up_outcome: str) -> Change:
    """Finish the case, with what the follow-up found."""
    async with _locked(conn, case_id) as state:
        outcome = decide(Action.CLOSE, state, actor)
        data = {"follow_up_outcome": follow_up_outcome}
        columns = {
            CaseColumn.FOLLOW_UP_OUTCOME: follow_up_outcome or None,
            CaseColumn.CLOSED_AT: NOW,
        }
        return await _act(conn, state, outcome, Action.CLOSE, actor, data, columns)


async def reopen(conn: Connection, *, case_id: int, actor: Agent, reason: str) -> Change:
    """Put a finished case back in its queue, unowned; its earlier outcome stays in history."""
    async with _locked(conn, case_id) as state:
        outcome = decide(Action.REOPEN, state, actor)
        data = {"reason": reason, "previous_owner": state.owner}
        columns = dict.fromkeys((CaseColumn.RESOLVED_AT, CaseColumn.CLOSED_AT, CaseColumn.OWNED_AT))
        return await _act(conn, state, outcome, Action.REOPEN, actor, data, columns)


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
    async with _locked(conn, case_id) as state:
        outcome = decide(Action.REASSIGN, state, actor, new_owner=new_owner, new_queue=new_queue)
        data = {
            "from_owner": state.owner,
            "to_owner": new_owner.name if new_owner else None,
            "from_queue": state.queue,
            "to_queue": outcome.queue,
            "note": note,
        }
        # Handed to a queue alone, the case is unowned: no claim of its can lapse.
        columns = _OWNED_NOW if new_owner else {CaseColumn.OWNED_AT: None}
        return await _act(conn, state, outcome, Action.REASSIGN, actor, data, columns)


async def review_reasons(
    conn: Connection,
    *,
    case_id: int,
    actor: Agent,
    codes: tuple[str, ...],
    follow_up_requested: bool,
    note: str,
) -> Change:
    """Record the reasons the agent confirms (``codes``: known taxonomy codes) beside what the
    router coded; the case's own coding is left as the router wrote it."""
    async with _locked(conn, case_id) as state:
        outcome = decide(Action.REVIEW_REASONS, state, actor)
        row = await read_case(conn, CaseView.CARDS, case_id)
        assert row is not None  # the case is locked, and a case always has its response
        stored = [reason["code"] for reason in row["reasons"]]
        review = ReasonsReview(
            codes=codes,
            follow_up_requested=follow_up_requested,
            coded=tuple(dict.fromkeys(c for c in stored if c not in RESERVED_CODES)),
            coded_follow_up=row["follow_up_requested"] or ASKS_CONTACT in stored,
        )
        data = review.history_data(note)
        return await _act(conn, state, outcome, Action.REVIEW_REASONS, actor, data)


async def add_note(conn: Connection, *, case_id: int, actor: Agent, text: str) -> Change:
    """An internal comment on the case, kept in its history."""
    async with _locked(conn, case_id) as state:
        outcome = decide(Action.NOTE, state, actor)
        return await _act(conn, state, outcome, Action.NOTE, actor, {"text": text})
