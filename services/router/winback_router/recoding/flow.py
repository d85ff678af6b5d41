"""One re-coding run, from choosing responses to the summary.

A run is safe to interrupt and to repeat: each changed response commits on its own, and a
response already carrying what the taxonomy gives is left alone, so the next run picks up
exactly what the last one did not finish.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import asyncpg

from winback_router.recoding.plan import plan_change, taxonomy_digest
from winback_router.recoding.replay import KafkaReplay, Key, Window, stored_ids
from winback_router.recoding.report import ReplayCounts, Summary
from winback_router.recoding.store import (
    apply_change,
    finish_run,
    ids_for_keys,
    load_by_ids,
    lock_response,
    start_run,
)
from winback_shared.taxonomy import Taxonomy

Progress = Callable[[Summary], None]


def _quiet(summary: Summary) -> None:
    pass


async def recode(
    *,
    pool: asyncpg.Pool,
    taxonomy: Taxonomy,
    window: Window,
    kafka: KafkaReplay | None = None,
    dry_run: bool = False,
    progress: Progress = _quiet,
) -> Summary:
    """Re-code the responses in ``window`` with ``taxonomy``; from Kafka if ``kafka`` is given,
    else from the stored responses. ``progress`` hears after every batch.

    A dry run reads and compares only: it writes nothing, not even the run record.
    """
    summary = Summary(
        taxonomy_sha256=taxonomy_digest(taxonomy),
        replay_source="kafka" if kafka is not None else "database",
        dry_run=dry_run,
    )
    if not dry_run:
        async with pool.acquire() as conn:
            summary.run_id = await start_run(
                conn,
                taxonomy_sha256=summary.taxonomy_sha256,
                replay_source=summary.replay_source,
                since=window.since,
                until=window.until,
                source=window.source,
            )
    try:
        batches = (
            _kafka_ids(pool, kafka, window, summary.replay)
            if kafka is not None
            else stored_ids(pool, window, summary.replay)
        )
        async for ids in batches:
            if ids:
                await _recode_batch(pool, ids, taxonomy, summary)
            progress(summary)
    except BaseException as exc:
        if summary.run_id is not None:
            async with pool.acquire() as conn:
                await finish_run(conn, summary.run_id, summary, error=repr(exc))
        raise
    if summary.run_id is not None:
        async with pool.acquire() as conn:
            await finish_run(conn, summary.run_id, summary)
    return summary


async def _kafka_ids(
    pool: asyncpg.Pool, kafka: KafkaReplay, window: Window, counts: ReplayCounts
) -> AsyncIterator[list[int]]:
    """Stored row ids for the responses the topic names, each once however many deliveries;
    one list per fetched batch, empty when the batch named nothing new (progress still moves)."""
    seen: set[Key] = set()
    async for keys in kafka.keys(window, counts):
        fresh = list(dict.fromkeys(key for key in keys if key not in seen))
        seen.update(fresh)
        ids: list[int] = []
        if fresh:
            async with pool.acquire() as conn:
                ids = await ids_for_keys(conn, fresh)
            counts.not_stored += len(fresh) - len(ids)
        yield ids


async def _recode_batch(
    pool: asyncpg.Pool, ids: list[int], taxonomy: Taxonomy, summary: Summary
) -> None:
    """Plan every response of the batch without locks; apply each change in its own
    transaction after locking and planning again, since a router may have revised it since."""
    async with pool.acquire() as conn:
        stored = await load_by_ids(conn, ids)
        summary.responses_seen += len(stored)
        for item in stored:
            change = plan_change(item, taxonomy)
            if change is None:
                continue
            if summary.run_id is None:
                summary.record(change, case_recoded=change.case_open)
                continue
            async with conn.transaction():
                locked = await lock_response(conn, item.row_id)
                change = plan_change(locked, taxonomy) if locked is not None else None
                if change is None:
                    continue
                case_recoded = await apply_change(conn, summary.run_id, change)
            summary.record(change, case_recoded=case_recoded)
