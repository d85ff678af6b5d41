"""Durable, idempotent writes of responses, cases and dead letters.

Uniqueness on (source, response id) makes every write safe to repeat: a redelivered record finds
its response already stored and changes nothing, except that a case whose alert never went out
(a crash between the database commit and the publish) is handed back to be alerted again.
"""

from __future__ import annotations

from winback_router.decision import Decision
from winback_shared.db import Connection
from winback_shared.events.recovery_alerts import CaseSummary, CodedReason
from winback_shared.survey import SurveyResponse

DEFAULT_QUEUE = "default"


async def _summary(conn: Connection, where: str, *args: object) -> CaseSummary | None:
    row = await conn.fetchrow(f"SELECT * FROM case_summaries WHERE {where}", *args)
    return None if row is None else CaseSummary.model_validate(dict(row))


async def store_outcome(
    conn: Connection,
    response: SurveyResponse,
    reasons: list[CodedReason],
    decision: Decision,
) -> CaseSummary | None:
    """Store the response and any case; return the case if it still needs its alert.

    Call inside a transaction: the response and its case must commit together.
    """
    stored_id = await conn.fetchval(
        """
        INSERT INTO survey_responses (
            source, response_id, receipt_id, vendor, survey_id, submitted_at, received_at,
            customer, interaction, scores, chosen_reasons, comment, follow_up_requested,
            codes, needs_recovery)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        ON CONFLICT (source, response_id) DO NOTHING
        RETURNING id
        """,
        response.source,
        response.response_id,
        response.receipt_id,
        response.vendor,
        response.survey_id,
        response.submitted_at,
        response.received_at,
        response.customer.model_dump(mode="json"),
        response.interaction.model_dump(mode="json"),
        [s.model_dump(mode="json") for s in response.scores],
        response.reasons,
        response.comment,
        response.follow_up_requested,
        [r.model_dump(mode="json") for r in reasons],
        decision.needs_recovery,
    )
    if stored_id is None:
        return await _summary(
            conn,
            "source = $1 AND response_id = $2 AND alerted_at IS NULL",
            response.source,
            response.response_id,
        )
    if not decision.needs_recovery:
        return None
    case_id = await conn.fetchval(
        """
        INSERT INTO recovery_cases (survey_response_id, priority, queue)
        VALUES ($1, $2, $3) RETURNING id
        """,
        stored_id,
        decision.priority,
        DEFAULT_QUEUE,
    )
    return await _summary(conn, "case_id = $1", case_id)


async def mark_alerted(conn: Connection, case_ids: list[int]) -> None:
    """Record that these cases' alerts were acknowledged by Kafka."""
    await conn.execute(
        "UPDATE recovery_cases SET alerted_at = now() WHERE id = ANY($1::bigint[])"
        " AND alerted_at IS NULL",
        case_ids,
    )


async def record_dead_letter(
    conn: Connection,
    *,
    topic: str,
    partition: int,
    offset: int,
    record: bytes,
    error: str,
    receipt_id: str | None,
    source: str | None,
) -> None:
    """Keep a record that cannot be normalised, with why; the same position is kept once."""
    await conn.execute(
        """
        INSERT INTO dead_letters (topic, kafka_partition, kafka_offset, record, error,
                                  receipt_id, source)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING
        """,
        topic,
        partition,
        offset,
        record,
        error[:4000],
        receipt_id,
        source,
    )
