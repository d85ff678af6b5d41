"""Appending a change to a recovery case: the one way every writer does it.

A change moves the case's ``seq`` on by one, stamps ``updated_at``, sets the columns this change
is about, and appends a ``case_history`` entry numbered with the new ``seq``, in the caller's
transaction. The writers: the router (a later delivery revises the case), the re-coding tool (a
taxonomy change re-codes it), and the notifier (an agent's action, an SLA timer firing). The one
change not written here is the opening: the router inserts the case at ``seq`` 1 and a trigger
(created in migration 0003, its function in ``migrations/repeatable/case_history.sql``) records
its ``opened`` entry, so every case's history starts whoever inserts it.

Column names are members of :class:`CaseColumn`, never strings from the caller, and every value
travels as a query parameter, so no SQL fragment passes between modules. Two markers stand for
the database's clock, the one every stored moment is stamped with: :data:`NOW` and
:data:`FIRST_NOW` (``COALESCE(column, now())``: keep the first moment, stamp it if unset).

Concurrency is the caller's: either it holds the case row's lock (``SELECT ... FOR UPDATE``,
as the notifier's workflow does, so what it decided on is still true), or it uses
:func:`append_change_unless_finished`, whose ``UPDATE`` locks the row and re-checks the status
in one statement (the router and the re-coding tool, which lock the response, not the case).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Final

from winback_shared.case_months import CASE_OPENED_AT
from winback_shared.case_vocabulary import FINISHED_STATUSES, CaseStatus, HistoryKind
from winback_shared.db import Connection
from winback_shared.events.case_events import HistoryEntry


class CaseColumn(StrEnum):
    """The columns of ``recovery_cases`` a change may set (``seq`` and ``updated_at`` are
    always set; the case's identity, response and opening never change)."""

    STATUS = "status"
    PRIORITY = "priority"
    QUEUE = "queue"
    OWNER_ID = "owner_id"
    CLAIMED_AT = "claimed_at"
    OWNED_AT = "owned_at"
    FIRST_ATTEMPT_AT = "first_attempt_at"
    LAST_ATTEMPT_AT = "last_attempt_at"
    FIRST_CONTACT_AT = "first_contact_at"
    FAILED_ATTEMPTS = "failed_attempts"
    ROOT_CAUSE = "root_cause"
    RESOLUTION = "resolution"
    CUSTOMER_REACTION = "customer_reaction"
    RESOLVED_AT = "resolved_at"
    ROOT_CAUSE_AT = "root_cause_at"
    FOLLOW_UP_OUTCOME = "follow_up_outcome"
    CLOSED_AT = "closed_at"
    CONTACT_DUE_AT = "contact_due_at"
    SLA_WARNED_AT = "sla_warned_at"
    SLA_BREACHED_AT = "sla_breached_at"
    CALL_BACK_DUE_AT = "call_back_due_at"
    CALL_BACK_MISSED_AT = "call_back_missed_at"
    WRONG_NUMBER_AT = "wrong_number_at"


class Clock(Enum):
    """A moment the database stamps itself (its clock, not the writer's host's)."""

    NOW = "now"
    FIRST_NOW = "first_now"


NOW: Final = Clock.NOW
"""Set the column to the moment of the change."""
FIRST_NOW: Final = Clock.FIRST_NOW
"""Keep the column's first moment; stamp the moment of the change only if it has none."""

CaseColumns = Mapping[CaseColumn, object]
"""What a change sets: a column and its new value (``None`` clears it), :data:`NOW` or
:data:`FIRST_NOW`."""


def _assignments(columns: CaseColumns, first_placeholder: int) -> tuple[str, list[object]]:
    """The ``SET`` list for ``columns`` and its parameters, numbered from ``first_placeholder``."""
    assignments = ["seq = seq + 1", "updated_at = now()"]
    args: list[object] = []
    for column, value in columns.items():
        if not isinstance(column, CaseColumn):  # a str would reach the SQL text: refuse it
            raise TypeError(f"case columns are named by CaseColumn, not {column!r}")
        if value is NOW:
            assignments.append(f"{column} = now()")
        elif value is FIRST_NOW:
            assignments.append(f"{column} = COALESCE({column}, now())")
        else:
            args.append(value)
            assignments.append(f"{column} = ${first_placeholder + len(args) - 1}")
    return ", ".join(assignments), args


async def _append(
    conn: Connection,
    case_id: int,
    *,
    kind: HistoryKind,
    actor: str,
    actor_id: int | None,
    data: Mapping[str, Any],
    columns: CaseColumns,
    published: bool,
    unless_status_in: Collection[CaseStatus],
    opened_at: datetime | None = None,
) -> HistoryEntry | None:
    # recovery_cases is partitioned by month of opened_at (migration 0035): a writer that
    # knows the opening names it, any other finds it from the case's key (case_months); either
    # way the update touches that month's partition alone.
    first = 3 if opened_at is None else 4
    assignments, args = _assignments(columns, first_placeholder=first)
    month = f" AND opened_at = {CASE_OPENED_AT}" if opened_at is None else " AND opened_at = $3"
    case = await conn.fetchrow(
        f"UPDATE recovery_cases SET {assignments}"
        f" WHERE id = $1 AND status <> ALL($2::text[]){month} RETURNING seq, opened_at",
        case_id,
        sorted(unless_status_in),
        *([] if opened_at is None else [opened_at]),
        *args,
    )
    if case is None:
        return None
    row = await conn.fetchrow(
        """
        INSERT INTO case_history (case_id, case_opened_at, seq, kind, actor_id, actor, data,
                                  published_at)
        VALUES ($1, $8, $2, $3, $4, $5, $6, CASE WHEN $7::boolean THEN now() END)
        RETURNING seq, kind, actor, occurred_at, data
        """,
        case_id,
        case["seq"],
        kind,
        actor_id,
        actor,
        dict(data),
        published,
        case["opened_at"],
    )
    assert row is not None
    return HistoryEntry.model_validate(dict(row))


async def append_change(
    conn: Connection,
    case_id: int,
    *,
    kind: HistoryKind,
    actor: str,
    actor_id: int | None = None,
    data: Mapping[str, Any],
    columns: CaseColumns | None = None,
    published: bool = False,
) -> HistoryEntry:
    """Record one change of a case whose row the caller has locked; returns its history entry.

    ``published``: the writer publishes the change itself (the router's ``case.updated``), so
    the entry is born published and the notifier's outbox leaves it alone. Otherwise the entry
    waits for its writer to mark it published, or for the outbox.
    """
    entry = await _append(
        conn,
        case_id,
        kind=kind,
        actor=actor,
        actor_id=actor_id,
        data=data,
        columns=columns or {},
        published=published,
        unless_status_in=(),
    )
    if entry is None:
        raise LookupError(f"there is no case {case_id}")
    return entry


async def append_change_unless_finished(
    conn: Connection,
    case_id: int,
    *,
    kind: HistoryKind,
    actor: str,
    data: Mapping[str, Any],
    columns: CaseColumns | None = None,
    published: bool = False,
    opened_at: datetime | None = None,
) -> HistoryEntry | None:
    """As :func:`append_change` for a writer that does not hold the case's lock: nothing is
    written (``None``) if the case is resolved or closed, as checked under the row lock the
    update itself takes. A finished case keeps its history as the agent left it.

    ``opened_at``: the case's opening, when the writer knows it (the router read it with the
    response), so that the update looks in that month's partition only."""
    return await _append(
        conn,
        case_id,
        kind=kind,
        actor=actor,
        actor_id=None,
        data=data,
        columns=columns or {},
        published=published,
        unless_status_in=FINISHED_STATUSES,
        opened_at=opened_at,
    )
