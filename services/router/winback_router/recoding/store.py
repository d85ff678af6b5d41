"""Reading stored responses for re-coding, writing new codes, and the record of each run.

Reads for planning take no locks. Each change is then applied in its own short transaction
that locks the one response (as the router does, ``FOR UPDATE``) and then its case, the same
order the router uses, so a run can go on beside live routers and notifiers without deadlocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from winback_router.recoding.plan import ResponseChange, StoredCoding, history_note
from winback_router.recoding.report import Summary
from winback_shared.case_changes import append_change_unless_finished
from winback_shared.case_vocabulary import CaseStatus, HistoryKind
from winback_shared.db import Connection
from winback_shared.survey import SurveyResponse

RECODE_ACTOR = "recode"
"""The actor of a re-coding's history entry."""

SELECT_STORED = """
    SELECT r.*, c.id AS case_id, c.status AS case_status, c.priority AS case_priority
    FROM survey_responses r LEFT JOIN recovery_cases c ON c.survey_response_id = r.id
"""

_WINDOW = """
    ($1::timestamptz IS NULL OR r.received_at >= $1)
    AND ($2::timestamptz IS NULL OR r.received_at < $2)
    AND ($3::text IS NULL OR r.source = $3)
"""


def stored_from_row(row: asyncpg.Record) -> StoredCoding:
    """A row of :data:`SELECT_STORED` as the planner reads it."""
    response = SurveyResponse.model_validate({**dict(row), "reasons": row["chosen_reasons"]})
    return StoredCoding(
        row_id=row["id"],
        response=response,
        codes=list(row["codes"]),
        case_id=row["case_id"],
        case_status=None if row["case_status"] is None else CaseStatus(row["case_status"]),
        case_priority=row["case_priority"],
    )


async def count_in_window(
    conn: Connection, *, since: datetime | None, until: datetime | None, source: str | None
) -> int:
    """How many stored responses were first received in the window (for progress)."""
    count = await conn.fetchval(
        f"SELECT count(*) FROM survey_responses r WHERE {_WINDOW}", since, until, source
    )
    return int(count)


async def ids_in_window(
    conn: Connection,
    *,
    after_id: int,
    limit: int,
    since: datetime | None,
    until: datetime | None,
    source: str | None,
) -> list[int]:
    """The next page of response row ids first received in the window, in id order."""
    rows = await conn.fetch(
        f"SELECT r.id FROM survey_responses r WHERE {_WINDOW} AND r.id > $4 ORDER BY r.id LIMIT $5",
        since,
        until,
        source,
        after_id,
        limit,
    )
    return [row["id"] for row in rows]


async def load_by_ids(conn: Connection, ids: Sequence[int]) -> list[StoredCoding]:
    """These responses as stored, in id order, without locking them."""
    rows = await conn.fetch(
        f"{SELECT_STORED} WHERE r.id = ANY($1::bigint[]) ORDER BY r.id", list(ids)
    )
    return [stored_from_row(row) for row in rows]


async def ids_for_keys(conn: Connection, keys: Sequence[tuple[str, str]]) -> list[int]:
    """Row ids of the stored responses with these (source, response id) keys."""
    rows = await conn.fetch(
        """
        SELECT r.id FROM survey_responses r
        JOIN unnest($1::text[], $2::text[]) AS k (source, response_id)
          ON r.source = k.source AND r.response_id = k.response_id
        ORDER BY r.id
        """,
        [source for source, _ in keys],
        [response_id for _, response_id in keys],
    )
    return [row["id"] for row in rows]


async def lock_response(conn: Connection, row_id: int) -> StoredCoding | None:
    """One response, locked until the transaction ends (a router revising it waits)."""
    row = await conn.fetchrow(f"{SELECT_STORED} WHERE r.id = $1 FOR UPDATE OF r", row_id)
    return stored_from_row(row) if row is not None else None


async def apply_change(conn: Connection, run_id: int, change: ResponseChange) -> bool:
    """Store the new codes and record the change; True if an open case got a history entry.

    The entry is left unpublished (``published_at`` NULL), and the notifier's outbox sweep
    publishes it as ``case.changed`` with the case's current card, so consoles showing the case
    get the new reasons live; its kind tells them it is no news (no pop-up, see
    ``HistoryKind.RECODED``).
    The outbox rather than this run publishes it because a run must work with PostgreSQL alone
    (``--from-database`` is the path for when Kafka is unreachable or past retention), and
    because the outbox already gives what a push needs: the change goes out only once
    committed, at least once even if Kafka is down meanwhile, paced (a batch per sweep, so a run
    touching thousands of open cases does not flood consoles into resynchronising), and built
    the same way as every other case change.
    """
    await conn.execute(
        "UPDATE survey_responses SET codes = $2 WHERE id = $1", change.row_id, change.codes_after
    )
    case_seq: int | None = None
    if change.case_id is not None and change.case_open:
        entry = await append_change_unless_finished(
            conn,
            change.case_id,
            kind=HistoryKind.RECODED,
            actor=RECODE_ACTOR,
            data={
                "run_id": run_id,
                "added": list(change.added),
                "removed": list(change.removed),
                "priority": change.case_priority,
                "recoded_priority": change.recoded_priority,
                "note": history_note(change),
            },
        )
        case_seq = entry.seq if entry is not None else None
    await conn.execute(
        """
        INSERT INTO recode_changes (
            run_id, survey_response_id, codes_added, codes_removed, codes_before, codes_after,
            case_id, case_seq, case_priority, recoded_priority)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        """,
        run_id,
        change.row_id,
        list(change.added),
        list(change.removed),
        change.codes_before,
        change.codes_after,
        change.case_id,
        case_seq,
        change.case_priority,
        change.recoded_priority,
    )
    return case_seq is not None


async def start_run(
    conn: Connection,
    *,
    taxonomy_sha256: str,
    replay_source: str,
    since: datetime | None,
    until: datetime | None,
    source: str | None,
) -> int:
    """Record that a run began; its id goes on every change it makes."""
    run_id = await conn.fetchval(
        """
        INSERT INTO recode_runs (taxonomy_sha256, replay_source, window_since, window_until,
                                 source_filter)
        VALUES ($1, $2, $3, $4, $5) RETURNING id
        """,
        taxonomy_sha256,
        replay_source,
        since,
        until,
        source,
    )
    return int(run_id)


async def finish_run(
    conn: Connection, run_id: int, summary: Summary, *, error: str | None = None
) -> None:
    """Record how the run ended and what it counted (a failed run keeps what it did)."""
    report: dict[str, Any] = summary.as_json()
    if error is not None:
        report["error"] = error
    await conn.execute(
        """
        UPDATE recode_runs
        SET finished_at = now(), status = $2, responses_seen = $3, responses_changed = $4,
            cases_recoded = $5, summary = $6
        WHERE id = $1
        """,
        run_id,
        "failed" if error is not None else "finished",
        summary.responses_seen,
        summary.responses_changed,
        len(summary.cases_recoded),
        report,
    )


async def recent_runs(conn: Connection, *, limit: int) -> list[asyncpg.Record]:
    """The latest runs, newest first."""
    return list(
        await conn.fetch(
            """
            SELECT id, started_at, finished_at, status, taxonomy_sha256, replay_source,
                   window_since, window_until, source_filter, responses_seen,
                   responses_changed, cases_recoded
            FROM recode_runs ORDER BY id DESC LIMIT $1
            """,
            limit,
        )
    )


async def run_changes(conn: Connection, run_id: int, *, limit: int) -> list[asyncpg.Record]:
    """What one run changed, response by response (no customer data)."""
    return list(
        await conn.fetch(
            """
            SELECT ch.changed_at, r.source, r.response_id, ch.codes_added, ch.codes_removed,
                   ch.case_id, ch.case_seq, ch.case_priority, ch.recoded_priority
            FROM recode_changes ch JOIN survey_responses r ON r.id = ch.survey_response_id
            WHERE ch.run_id = $1 ORDER BY ch.id LIMIT $2
            """,
            run_id,
            limit,
        )
    )
