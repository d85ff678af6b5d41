"""Set-based writes of a batch: a few statements, whatever the batch's size.

Storing a batch record by record cost several round trips per record (insert the response,
read the clock, open the case, read its summary back); the profile of a 3,000-record drain
showed 85 % of the router's time there, 40 % of it in socket writes (docs/performance.md).
Here a batch's rows are passed as arrays and expanded with ``unnest``: its new responses, their
cases and the cases' summaries in one call of a SQL function (repeatable ``router_batch.sql``;
one round trip, section 21), dead letters in one statement. ``ON CONFLICT`` keeps every write
as safe to repeat as the per-record ones in ``store.py``, which still handle what is rare: a
delivery of a response already stored (a repeat or a revision), merged under the response's
row lock.

Rows are inserted in the order of the batch (``WITH ORDINALITY``), so ids grow as they did
record by record. The case's ``opened`` history entry is still written by the trigger on
``recovery_cases`` (migration 0003), once per inserted row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from winback_router.decision import Decision
from winback_router.store import content_columns, triggers_json
from winback_shared.case_months import cases_opened_between, responses_received_between
from winback_shared.db import Connection
from winback_shared.deadlines import ContactPolicy, contact_deadline
from winback_shared.events.recovery_alerts import CaseSummary, CodedReason
from winback_shared.survey import SurveyResponse

ResponseKey = tuple[str, str]
"""(source, response id): what makes a response unique (``response_keys``' primary key)."""


@dataclass(frozen=True)
class StoredRow:
    """Where a stored response is: its id and its partition key (``survey_responses`` is
    partitioned by month of ``received_at``, its key is both, migration 0032)."""

    id: int
    received_at: datetime


@dataclass(frozen=True)
class FirstDelivery:
    """A response the batch may be the first to deliver, coded, with its content digest."""

    response: SurveyResponse
    digest: bytes
    reasons: list[CodedReason]
    decision: Decision
    queue: str

    @property
    def key(self) -> ResponseKey:
        """The response's unique key."""
        return (self.response.source, self.response.response_id)


class AlreadyStored(Exception):
    """Some response of a batch stored whole was stored before: nothing was written, and its
    deliveries must be merged in one transaction with the rest (SQLSTATE ``WBR01``)."""


@dataclass(frozen=True)
class FirstsStored:
    """What storing a batch's first deliveries wrote: each inserted response's row, by key,
    the transaction's ``now()``, and the summaries of the cases opened, by response row."""

    rows: dict[ResponseKey, StoredRow]
    now: datetime | None
    opened: dict[int, CaseSummary]


def _microseconds(target: timedelta | None) -> int | None:
    return None if target is None else target // timedelta(microseconds=1)


async def insert_first_deliveries(
    conn: Connection, deliveries: Sequence[FirstDelivery]
) -> dict[ResponseKey, StoredRow]:
    """Insert every response not stored yet, opening no case; the row of each one inserted,
    by key (:func:`store_first_deliveries` without a policy)."""
    return (await store_first_deliveries(conn, deliveries, None)).rows


async def store_first_deliveries(
    conn: Connection,
    deliveries: Sequence[FirstDelivery],
    policy: ContactPolicy | None,
    *,
    whole: bool = False,
) -> FirstsStored:
    """Insert every response not stored yet and, without business hours, open the cases of
    those inserted, in one round trip (``router_store_first_deliveries``, a repeatable SQL
    function); the summaries of the cases opened come back with the rows.

    Keys must be distinct (the caller keeps a batch's first delivery of each). A key missing
    from the result was already stored: that delivery is a repeat or a revision. With
    ``whole``, such a key instead raises :class:`AlreadyStored` and nothing is written: the
    caller stores the batch again in a transaction that merges those deliveries too.

    The keys go into ``response_keys`` (``ON CONFLICT DO NOTHING``, which waits for another
    router inserting the same key), each taking its response's id from the sequence, and the
    responses of the keys inserted follow, so a key stored in an earlier month is found there
    whatever month this delivery arrives in. A case opens at ``now()`` with its deadline
    ``now()`` plus its priority's target, which is :func:`contact_deadline` without business
    hours. With business hours (or no ``policy``) no case is opened here (``opened`` is empty)
    and the caller opens them with :func:`open_cases` at the returned ``now``, in the same
    transaction.
    """
    if not deliveries:
        return FirstsStored({}, None, {})
    targets = policy.targets if policy is not None and policy.hours is None else None
    columns: list[list[object]] = [[] for _ in range(21)]
    for delivery in deliveries:
        response = delivery.response
        content = content_columns(  # jsonb columns travel as text and are cast in SQL
            response, delivery.digest, delivery.reasons, delivery.decision, json_as_text=True
        )
        priority = delivery.decision.priority
        case = targets is not None and delivery.decision.needs_recovery
        values = (
            response.source,
            response.response_id,
            response.receipt_id,
            response.vendor,
            response.received_at,
            *content,
            priority if case else None,
            delivery.queue if case else None,
            _microseconds(targets.get(priority)) if targets is not None and case else None,
            triggers_json(delivery.decision) if case else None,
        )
        for index, value in enumerate(values):
            columns[index].append(value)
    try:
        rows = await conn.fetch(
            "SELECT * FROM router_store_first_deliveries($1, $2, $3, $4, $5, $6, $7, $8, $9,"
            " $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)",
            *columns,
            whole,
        )
    except asyncpg.PostgresError as error:
        if error.sqlstate == "WBR01":
            raise AlreadyStored(str(error)) from error
        raise
    stored: dict[ResponseKey, StoredRow] = {}
    opened: dict[int, CaseSummary] = {}
    for row in rows:
        stored[(row["source"], row["response_id"])] = StoredRow(row["id"], row["received_at"])
        if row["summary"] is not None:
            opened[row["id"]] = summary_in_utc(row["summary"])
    return FirstsStored(stored, rows[0]["opened_at"] if rows else None, opened)


@dataclass(frozen=True)
class CaseToOpen:
    """A stored response that needs a case, and how urgent and where the case goes."""

    response: StoredRow
    priority: int
    queue: str
    triggers: str | None = None
    """Why that priority, as JSON text (:func:`~winback_router.store.triggers_json`)."""


async def open_cases(
    conn: Connection,
    cases: Sequence[CaseToOpen],
    policy: ContactPolicy,
    opened_at: datetime | None = None,
) -> dict[int, CaseSummary]:
    """Open these cases at ``opened_at`` (the transaction's ``now()``, as
    :func:`store_first_deliveries` returns it; read here if not given) with their contact
    deadlines; their summaries by response row. The way with business hours, whose deadlines
    only Python computes.

    One clock reading serves every case: ``now()`` is the transaction's start, the same for
    each, as it was when every case read it for itself.
    """
    if not cases:
        return {}
    if opened_at is None:
        opened_at = await conn.fetchval("SELECT now()")
        assert opened_at is not None
    rows = await conn.fetch(
        """
        INSERT INTO recovery_cases (survey_response_id, response_received_at, priority, queue,
                                    opened_at, contact_due_at, triggers)
        SELECT response_row, received_at, priority, queue, $4, contact_due_at, triggers::jsonb
        FROM unnest($1::bigint[], $2::smallint[], $3::text[], $5::timestamptz[],
                    $6::timestamptz[], $7::text[])
             WITH ORDINALITY AS c(response_row, priority, queue, contact_due_at, received_at,
                                  triggers, position)
        ORDER BY position
        RETURNING id, survey_response_id
        """,
        [case.response.id for case in cases],
        [case.priority for case in cases],
        [case.queue for case in cases],
        opened_at,
        [contact_deadline(policy, opened_at, case.priority) for case in cases],
        [case.response.received_at for case in cases],
        [case.triggers for case in cases],
    )
    summaries = await case_summaries(conn, [row["id"] for row in rows])
    return {row["survey_response_id"]: summaries[row["id"]] for row in rows}


SUMMARIES = (
    "SELECT case_id, row_to_json(s)::text AS summary FROM case_summaries s"
    f" WHERE case_id = ANY($1::bigint[]) AND {cases_opened_between()}"
    f" AND {responses_received_between()}"
)
"""The read of :func:`case_summaries`: cases named in ``$1::bigint[]``, in their months."""


async def case_summaries(conn: Connection, case_ids: Sequence[int]) -> dict[int, CaseSummary]:
    """The console's view of these cases, by case id, in one query.

    Each row arrives as one JSON text (``row_to_json``) validated by pydantic from JSON, not
    as columns whose four jsonb values the pool's codec decodes with ``json.loads`` before
    pydantic validates the dicts again: reading the summaries back was the largest part of
    storing a batch (docs/performance.md, section 16). The same summaries: timestamps are
    brought to UTC, as the column path gives them, whatever the session's time zone.

    In the months of these cases and of their responses alone (``winback_shared.case_months``),
    not in every month partition of both.
    """
    rows = await conn.fetch(SUMMARIES, list(case_ids))
    return {row["case_id"]: summary_in_utc(row["summary"]) for row in rows}


_TIMES = ("submitted_at", "received_at", "opened_at", "contact_due_at")


def summary_in_utc(text: str) -> CaseSummary:
    """A ``case_summaries`` row given as JSON, as a summary whose timestamps are in UTC.

    ``row_to_json`` writes a timestamp with the session's offset; the column path hands
    asyncpg's UTC datetimes over. Equal instants either way, but an alert's JSON would show
    ``+01:00`` instead of ``Z``: any offset other than zero is brought back to UTC.
    """
    summary = CaseSummary.model_validate_json(text)
    shifted = {
        name: value.astimezone(UTC)
        for name in _TIMES
        if (value := getattr(summary, name)) is not None and value.utcoffset()
    }
    return summary.model_copy(update=shifted) if shifted else summary
