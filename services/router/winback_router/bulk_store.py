"""Set-based writes of a batch: one statement per table, whatever the batch's size.

Storing a batch record by record cost several round trips per record (insert the response,
read the clock, open the case, read its summary back); the profile of a 3,000-record drain
showed 85 % of the router's time there, 40 % of it in socket writes (docs/performance.md).
Here each table gets one statement per batch, its rows passed as arrays and expanded with
``unnest``; ``ON CONFLICT`` keeps every write as safe to repeat as the per-record ones in
``store.py``, which still handle what is rare: a delivery of a response already stored (a
repeat or a revision), merged under the response's row lock.

Rows are inserted in the order of the batch (``WITH ORDINALITY``), so ids grow as they did
record by record. The case's ``opened`` history entry is still written by the trigger on
``recovery_cases`` (migration 0003), once per inserted row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from winback_router.decision import Decision
from winback_router.store import content_columns
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


async def insert_first_deliveries(
    conn: Connection, deliveries: Sequence[FirstDelivery]
) -> dict[ResponseKey, StoredRow]:
    """Insert every response not stored yet; the row of each one inserted, by key.

    Keys must be distinct (the caller keeps a batch's first delivery of each). A key missing
    from the result was already stored: that delivery is a repeat or a revision.

    One statement for both tables: the keys go into ``response_keys`` (``ON CONFLICT DO
    NOTHING``, which waits for another router inserting the same key, as the unique key on
    the responses did), each taking its response's id from the sequence, and the responses of
    the keys inserted follow. A key stored in an earlier month is found there whatever month
    this delivery arrives in, so it is never a second response.
    """
    if not deliveries:
        return {}
    columns: list[list[object]] = [[] for _ in range(17)]
    for delivery in deliveries:
        response = delivery.response
        content = content_columns(  # jsonb columns travel as text and are cast in SQL
            response, delivery.digest, delivery.reasons, delivery.decision, json_as_text=True
        )
        row = (
            response.source,
            response.response_id,
            response.receipt_id,
            response.vendor,
            response.received_at,
            *content,
        )
        for index, value in enumerate(row):
            columns[index].append(value)
    rows = await conn.fetch(
        """
        WITH d AS (
            SELECT *
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                        $6::text[], $7::timestamptz[], $8::text[], $9::text[], $10::text[],
                        $11::text[], $12::text[], $13::boolean[], $14::text[], $15::boolean[],
                        $16::bytea[], $17::timestamptz[])
                 WITH ORDINALITY AS d(source, response_id, receipt_id, vendor, received_at,
                                      survey_id, submitted_at, customer, interaction, scores,
                                      chosen_reasons, comment, follow_up_requested, codes,
                                      needs_recovery, content_sha256, vendor_updated_at,
                                      position)
        ), keys AS (
            INSERT INTO response_keys (source, response_id, survey_response_id, received_at)
            SELECT source, response_id, nextval('survey_responses_id_seq'), received_at
            FROM d ORDER BY position
            ON CONFLICT (source, response_id) DO NOTHING
            RETURNING source, response_id, survey_response_id
        )
        INSERT INTO survey_responses (
            id, source, response_id, receipt_id, vendor, received_at,
            survey_id, submitted_at, customer, interaction, scores, chosen_reasons, comment,
            follow_up_requested, codes, needs_recovery, content_sha256, vendor_updated_at)
        SELECT k.survey_response_id, d.source, d.response_id, receipt_id, vendor, received_at,
               survey_id, submitted_at, customer::jsonb, interaction::jsonb, scores::jsonb,
               chosen_reasons::jsonb, comment, follow_up_requested, codes::jsonb,
               needs_recovery, content_sha256, vendor_updated_at
        FROM d JOIN keys k ON k.source = d.source AND k.response_id = d.response_id
        ORDER BY position
        RETURNING id, source, response_id, received_at
        """,
        *columns,
    )
    return {
        (row["source"], row["response_id"]): StoredRow(row["id"], row["received_at"])
        for row in rows
    }


@dataclass(frozen=True)
class CaseToOpen:
    """A stored response that needs a case, and how urgent and where the case goes."""

    response: StoredRow
    priority: int
    queue: str


async def open_cases(
    conn: Connection, cases: Sequence[CaseToOpen], policy: ContactPolicy
) -> dict[int, CaseSummary]:
    """Open these cases at the transaction's ``now()`` with their contact deadlines; their
    summaries by response row.

    One clock reading serves every case: ``now()`` is the transaction's start, the same for
    each, as it was when every case read it for itself.
    """
    if not cases:
        return {}
    opened_at: datetime = await conn.fetchval("SELECT now()")
    rows = await conn.fetch(
        """
        INSERT INTO recovery_cases (survey_response_id, response_received_at, priority, queue,
                                    opened_at, contact_due_at)
        SELECT response_row, received_at, priority, queue, $4, contact_due_at
        FROM unnest($1::bigint[], $2::smallint[], $3::text[], $5::timestamptz[],
                    $6::timestamptz[])
             WITH ORDINALITY AS c(response_row, priority, queue, contact_due_at, received_at,
                                  position)
        ORDER BY position
        RETURNING id, survey_response_id
        """,
        [case.response.id for case in cases],
        [case.priority for case in cases],
        [case.queue for case in cases],
        opened_at,
        [contact_deadline(policy, opened_at, case.priority) for case in cases],
        [case.response.received_at for case in cases],
    )
    summaries = await case_summaries(conn, [row["id"] for row in rows])
    return {row["survey_response_id"]: summaries[row["id"]] for row in rows}


async def case_summaries(conn: Connection, case_ids: Sequence[int]) -> dict[int, CaseSummary]:
    """The console's view of these cases, by case id, in one query.

    Each row arrives as one JSON text (``row_to_json``) validated by pydantic from JSON, not
    as columns whose four jsonb values the pool's codec decodes with ``json.loads`` before
    pydantic validates the dicts again: reading the summaries back was the largest part of
    storing a batch (docs/performance.md, section 16). The same summaries: timestamps are
    brought to UTC, as the column path gives them, whatever the session's time zone.
    """
    rows = await conn.fetch(
        "SELECT case_id, row_to_json(s)::text AS summary FROM case_summaries s "
        "WHERE case_id = ANY($1::bigint[])",
        list(case_ids),
    )
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
