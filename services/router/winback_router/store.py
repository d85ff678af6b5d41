"""Durable, idempotent writes of responses, cases and dead letters.

Uniqueness on (source, response id), held by ``response_keys`` (migration 0032: the responses
themselves are partitioned by month, so their own keys hold the month too), makes every write
safe to repeat, whichever month a repeat arrives in. A redelivery that says
nothing new changes nothing, except that a case whose alert never went out (a crash between the
database commit and the publish) is handed back to be alerted again. A delivery that adds
something (a comment, a finished survey) revises the stored response and its open case.
Call everything here inside one transaction per batch.

A case's contact deadline is stored here, in the statement that opens the case, and tightened
in the one that raises its priority: computed by :func:`winback_shared.deadlines.contact_deadline`
from the router's own settings, so opening a case depends on no other service.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import TypeAdapter

from winback_router.decision import Decision
from winback_shared.case_changes import CaseColumn, append_change_unless_finished
from winback_shared.case_months import CaseView, cases_opened_between, read_case
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.db import Connection
from winback_shared.deadlines import ContactPolicy, contact_deadline
from winback_shared.events.recovery_alerts import CaseSummary, CodedReason
from winback_shared.survey import Customer, Interaction, Score, SurveyResponse

DEFAULT_QUEUE = "default"
ROUTER_ACTOR = "router"
"""The actor of the history entries the router writes (its opening is written by migration
0003's trigger, with the same actor)."""


class ConcurrentDelivery(Exception):
    """Another router stored the same response first (only during a rebalance); retry."""


class AlreadyStored(Exception):
    """``insert_response`` found the response stored: this delivery is a repeat or a revision."""


@dataclass(frozen=True)
class StoredResponse:
    """A response as stored, with its case if it has one."""

    row_id: int
    response: SurveyResponse
    digest: bytes | None
    case_id: int | None
    case_alerted: bool
    case_priority: int | None
    case_opened_at: datetime | None
    case_contact_due_at: datetime | None


AlertKind = Literal[HistoryKind.OPENED, HistoryKind.REVISED]
"""What the consoles are told of a case: its opening (``case.opened``) or a revision
(``case.updated``)."""


@dataclass(frozen=True)
class CaseChange:
    """A case the consoles must hear about: newly opened, or revised by a later delivery."""

    kind: AlertKind
    case: CaseSummary


async def case_summary(conn: Connection, case_id: int) -> CaseSummary:
    """The console's view of one case."""
    row = await read_case(conn, CaseView.SUMMARIES, case_id)
    assert row is not None, f"case {case_id} vanished inside its own transaction"
    return CaseSummary.model_validate(dict(row))


async def load_response(conn: Connection, source: str, response_id: str) -> StoredResponse | None:
    """The stored response for this key, locked until the transaction ends.

    Found through its key (one index probe), then by id: one probe of each month partition's
    key index (not by the key's ``received_at`` too, which a data fix of the response's may
    have moved since; only later deliveries pay this, a batch's first ones do not). Its case
    through the case's key (migration 0035: one probe, then the case's month partition only).
    """
    row = await conn.fetchrow(
        """
        SELECT r.*, c.id AS case_id, c.alerted_at IS NOT NULL AS case_alerted,
               c.priority AS case_priority, c.opened_at AS case_opened_at,
               c.contact_due_at AS case_contact_due_at
        FROM response_keys k
        JOIN survey_responses r ON r.id = k.survey_response_id
        LEFT JOIN case_keys ck ON ck.survey_response_id = r.id
        LEFT JOIN recovery_cases c ON c.id = ck.case_id AND c.opened_at = ck.opened_at
        WHERE k.source = $1 AND k.response_id = $2
        FOR UPDATE OF r
        """,
        source,
        response_id,
    )
    if row is None:
        return None
    response = SurveyResponse.model_validate(
        {**dict(row), "reasons": row["chosen_reasons"], "updated_at": row["vendor_updated_at"]}
    )
    return StoredResponse(
        row_id=row["id"],
        response=response,
        digest=row["content_sha256"],
        case_id=row["case_id"],
        case_alerted=bool(row["case_alerted"]),
        case_priority=row["case_priority"],
        case_opened_at=row["case_opened_at"],
        case_contact_due_at=row["case_contact_due_at"],
    )


async def insert_response(
    conn: Connection,
    response: SurveyResponse,
    digest: bytes,
    reasons: list[CodedReason],
    decision: Decision,
    queue: str = DEFAULT_QUEUE,
    *,
    contact_policy: ContactPolicy,
) -> CaseChange | None:
    """Store one first delivery and open its case if it needs one.

    The router's batches insert their first deliveries together (``bulk_store``); this is the
    one-response form, for tools and tests that store a single response. ``AlreadyStored``
    sends the caller to ``load_response`` and the merge.
    """
    stored_id = await conn.fetchval(
        "INSERT INTO response_keys (source, response_id, survey_response_id, received_at)"
        " VALUES ($1, $2, nextval('survey_responses_id_seq'), $3)"
        " ON CONFLICT (source, response_id) DO NOTHING RETURNING survey_response_id",
        response.source,
        response.response_id,
        response.received_at,
    )
    if stored_id is None:
        raise AlreadyStored(f"{response.source}/{response.response_id}")
    await conn.execute(
        """
        INSERT INTO survey_responses (
            id, source, response_id, receipt_id, vendor, received_at,
            survey_id, submitted_at, customer, interaction, scores, chosen_reasons, comment,
            follow_up_requested, codes, needs_recovery, content_sha256, vendor_updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
        """,
        stored_id,
        response.source,
        response.response_id,
        response.receipt_id,
        response.vendor,
        response.received_at,
        *content_columns(response, digest, reasons, decision),
    )
    if not decision.needs_recovery:
        return None
    case = await open_case(
        conn,
        stored_id,
        response.received_at,
        decision.priority,
        queue,
        contact_policy,
        triggers=decision.triggers,
    )
    return CaseChange(HistoryKind.OPENED, case)


_CUSTOMER: TypeAdapter[Customer] = TypeAdapter(Customer)
_INTERACTION: TypeAdapter[Interaction] = TypeAdapter(Interaction)
_SCORES: TypeAdapter[list[Score]] = TypeAdapter(list[Score])
_CHOSEN: TypeAdapter[list[str]] = TypeAdapter(list[str])
_CODES: TypeAdapter[list[CodedReason]] = TypeAdapter(list[CodedReason])


def _jsonb(adapter: TypeAdapter[Any], value: object, as_text: bool) -> object:
    """A jsonb column's value: JSON-ready Python for the connection's codec, or (``as_text``)
    the JSON text itself, written by pydantic in one call instead of a dump and a
    ``json.dumps`` (the set-based insert passes jsonb columns as text arrays)."""
    if as_text:
        return adapter.dump_json(value).decode()
    return adapter.dump_python(value, mode="json")


def content_columns(
    response: SurveyResponse,
    digest: bytes,
    reasons: list[CodedReason],
    decision: Decision,
    *,
    json_as_text: bool = False,
) -> tuple[object, ...]:
    """What a delivery says, as stored: ``survey_id`` to ``vendor_updated_at``, in that order.

    The jsonb columns (customer, interaction, scores, chosen reasons, codes) are Python values
    for the connection's json codec, or JSON text with ``json_as_text``.
    """
    return (
        response.survey_id,
        response.submitted_at,
        _jsonb(_CUSTOMER, response.customer, json_as_text),
        _jsonb(_INTERACTION, response.interaction, json_as_text),
        _jsonb(_SCORES, response.scores, json_as_text),
        _jsonb(_CHOSEN, response.reasons, json_as_text),
        response.comment,
        response.follow_up_requested,
        _jsonb(_CODES, reasons, json_as_text),
        decision.needs_recovery,
        digest,
        response.updated_at,
    )


def triggers_json(decision: Decision) -> str:
    """The decision's triggers as the JSON text of the array ``recovery_cases.triggers`` keeps
    (why the case has its priority; its opening's history entry shows it), for the set-based
    writes, which pass jsonb as text."""
    return json.dumps(list(decision.triggers))


async def open_case(
    conn: Connection,
    response_row: int,
    received_at: datetime,
    priority: int,
    queue: str,
    policy: ContactPolicy,
    *,
    triggers: Sequence[str] | None = None,
) -> CaseSummary:
    """Open the case of a stored response, with its contact deadline and why it has its
    priority (the decision's ``triggers``; the connection's codec writes the jsonb).

    The case opens at PostgreSQL's ``now()`` (the transaction's start, as the column default
    would have it), the clock the SLA timers compare deadlines with.
    """
    opened_at: datetime = await conn.fetchval("SELECT now()")
    case_id = await conn.fetchval(
        "INSERT INTO recovery_cases (survey_response_id, response_received_at, priority, queue,"
        " opened_at, contact_due_at, triggers) VALUES ($1, $6, $2, $3, $4, $5, $7::jsonb)"
        " RETURNING id",
        response_row,
        priority,
        queue,
        opened_at,
        contact_deadline(policy, opened_at, priority),
        received_at,
        None if triggers is None else list(triggers),
    )
    return await case_summary(conn, case_id)


async def revise_response(
    conn: Connection,
    stored: StoredResponse,
    merged: SurveyResponse,
    digest: bytes,
    reasons: list[CodedReason],
    decision: Decision,
    queue: str = DEFAULT_QUEUE,
    *,
    contact_policy: ContactPolicy,
) -> CaseChange | None:
    """Apply a later delivery that changed the response.

    An open case is revised in place (a revision never lowers its urgency) and its ``seq``
    moves on; a raised priority tightens its contact deadline to the new priority's target
    counted from the opening (nothing loosens it); a response that did not need recovery but
    now does gets its case. A case that is already resolved or closed keeps its history: the
    revision is stored on the response only. Its codes are the router's (fast) ones again, so
    it waits for the refiner once more (``refine_pending``).
    """
    await conn.execute(
        """
        UPDATE survey_responses
        SET survey_id = $2, submitted_at = $3, customer = $4, interaction = $5, scores = $6,
            chosen_reasons = $7, comment = $8, follow_up_requested = $9, codes = $10,
            needs_recovery = needs_recovery OR $11, content_sha256 = $12,
            revision = revision + 1, revised_at = now(), vendor_updated_at = $13,
            refine_pending = true
        WHERE id = $1 AND received_at = $14
        """,
        stored.row_id,
        *content_columns(merged, digest, reasons, decision),
        stored.response.received_at,
    )
    if stored.case_id is None:
        if not decision.needs_recovery:
            return None
        case = await open_case(
            conn,
            stored.row_id,
            stored.response.received_at,
            decision.priority,
            queue,
            contact_policy,
            triggers=decision.triggers,
        )
        return CaseChange(HistoryKind.OPENED, case)
    # The case's priority was read with the response's lock held, and only a revision (which
    # holds it too) changes it: it is still current.
    assert stored.case_priority is not None
    priority = min(stored.case_priority, decision.priority)
    columns: dict[CaseColumn, object] = {CaseColumn.PRIORITY: priority}
    if priority < stored.case_priority:
        # A raised priority tightens the deadline to its target counted from the opening;
        # nothing loosens it (a deadline already earlier, e.g. from older targets, stays).
        assert stored.case_opened_at is not None, "a stored case always has its opening time"
        raised = contact_deadline(contact_policy, stored.case_opened_at, priority)
        candidates = [due for due in (stored.case_contact_due_at, raised) if due is not None]
        columns[CaseColumn.CONTACT_DUE_AT] = min(candidates) if candidates else None
    # The router publishes the revision itself (as ``case.updated``), so its history entry is
    # born published and the notifier's outbox leaves it alone.
    revised = await append_change_unless_finished(
        conn,
        stored.case_id,
        kind=HistoryKind.REVISED,
        actor=ROUTER_ACTOR,
        data={
            "reasons": [reason.code for reason in reasons],
            "priority": priority,
            "comment_added": merged.comment is not None
            and merged.comment != stored.response.comment,
            "triggers": list(decision.triggers),
        },
        columns=columns,
        published=True,
        opened_at=stored.case_opened_at,
    )
    if revised is None:
        return None
    # A case whose first alert never went out is still news to the consoles.
    kind: AlertKind = HistoryKind.REVISED if stored.case_alerted else HistoryKind.OPENED
    return CaseChange(kind, await case_summary(conn, stored.case_id))


async def unalerted_case(conn: Connection, stored: StoredResponse) -> CaseChange | None:
    """For a plain duplicate: the case to alert again if its alert was never confirmed."""
    if stored.case_id is None or stored.case_alerted:
        return None
    return CaseChange(HistoryKind.OPENED, await case_summary(conn, stored.case_id))


async def mark_alerted(conn: Connection, case_ids: list[int]) -> None:
    """Record that these cases' alerts were acknowledged by Kafka.

    In the month partitions from the first opening of these cases to the last (their keys'
    ``opened_at``, two subqueries PostgreSQL runs before it scans: the other months are pruned
    at run time), not in every month's: a batch's cases were opened moments ago, one month.
    """
    await conn.execute(
        f"""
        UPDATE recovery_cases SET alerted_at = now()
        WHERE id = ANY($1::bigint[]) AND alerted_at IS NULL AND {cases_opened_between()}
        """,
        case_ids,
    )
