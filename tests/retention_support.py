"""History and responses that span months, for the partitioning and retention tests."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import asyncpg


async def case_with_history(pool: asyncpg.Pool | asyncpg.Connection, *moments: datetime) -> int:
    """A case opened at ``moments[0]`` with one more history row at each later moment."""
    response = await pool.fetchval(
        "INSERT INTO survey_responses (source, response_id, receipt_id, vendor, received_at,"
        " customer, interaction, scores, chosen_reasons, follow_up_requested, codes,"
        " needs_recovery) VALUES ('survey', $1, $1, 'generic', $2, '{}', '{}', '[]', '[]',"
        " false, '[]', true) RETURNING id",
        f"r-{uuid4().hex[:10]}",
        moments[0],
    )
    case_id: int = await pool.fetchval(
        "INSERT INTO recovery_cases (survey_response_id, priority, queue, opened_at)"
        " VALUES ($1, 2, 'default', $2) RETURNING id",
        response,
        moments[0],
    )
    for seq, moment in enumerate(moments[1:], start=2):
        await pool.execute(
            "INSERT INTO case_history (case_id, seq, kind, actor, occurred_at, data)"
            " VALUES ($1, $2, 'note', 'ana', $3, jsonb_build_object('n', $2::int))",
            case_id,
            seq,
            moment,
        )
    await pool.execute("UPDATE recovery_cases SET seq = $2 WHERE id = $1", case_id, len(moments))
    return case_id


async def keyed_response(pool: asyncpg.Pool | asyncpg.Connection, received_at: datetime) -> str:
    """A response without a case, stored as the router stores it (its key, then its row);
    returns its response id."""
    response_id = f"r-{uuid4().hex[:10]}"
    await pool.execute(
        "WITH key AS (INSERT INTO response_keys (source, response_id, survey_response_id,"
        " received_at) VALUES ('survey', $1, nextval('survey_responses_id_seq'), $2)"
        " RETURNING survey_response_id)"
        " INSERT INTO survey_responses (id, source, response_id, receipt_id, vendor, received_at,"
        " customer, interaction, scores, chosen_reasons, follow_up_requested, codes,"
        " needs_recovery) SELECT survey_response_id, 'survey', $1, $1, 'generic', $2::timestamptz,"
        " '{}', '{}', '[]', '[]', false, '[]', false FROM key",
        response_id,
        received_at,
    )
    return response_id
