"""The refiner's loop: pending responses in, full-model codes and ``recoded`` entries out.

Each batch is read without locks, coded in one :func:`~winback_router.coding.code_responses`
call in a worker thread (one encoder call for all its comments), then written: responses whose
code ids agree are marked refined in one statement; each one that differs is re-coded in its
own transaction, under its lock, after checking it is still the revision that was coded.
Marking and re-coding commit together, so a crash between batches or mid-batch leaves every
response either refined once or still pending.

With a :class:`~winback_router.refine.gate.HotPathGate` the loop yields to the router: before
each batch, and between the small chunks a batch is coded in, it asks the gate; paused, it
waits and refines only a small batch each time the pause reaches its maximum. A batch cut
short writes what was coded; the rest stays pending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import asyncpg

from winback_router.coding import code_responses
from winback_router.recoding.report import Summary
from winback_router.recoding.store import apply_change
from winback_router.refine import store
from winback_router.refine.gate import HotPathGate
from winback_router.refine.metrics import BATCH_SECONDS, PENDING, RESPONSES
from winback_router.refine.pause import Step
from winback_router.refine.select import Pending, refinement, still_as_read
from winback_shared.db import Connection
from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy
from winback_shared.transient import is_transient

log = logging.getLogger("winback.refiner")


class Refiner:
    """Refines pending responses with ``taxonomy`` (the full model attached) until stopped.

    ``run_id`` is the ``recode_runs`` row its re-codes are recorded under; ``summary`` counts
    them, as a re-coding run's does. ``gate`` (None: never yield) pauses it while the hot path
    lags; ``small_batch`` is the batch it refines while paused and the chunk a batch is coded
    in between two looks at the gate.
    """

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        taxonomy: Taxonomy,
        run_id: int,
        summary: Summary,
        batch: int,
        idle_seconds: float,
        gate: HotPathGate | None = None,
        small_batch: int = 32,
    ) -> None:
        self._pool = pool
        self._taxonomy = taxonomy
        self._run_id = run_id
        self.summary = summary
        self._batch = batch
        self._idle = idle_seconds
        self._gate = gate
        self._small = small_batch

    async def run(self, stop: asyncio.Event) -> None:
        """Refine batches until ``stop`` is set; waits ``idle_seconds`` when nothing is pending
        or after a transient failure (logged; any other error ends the loop), and the same
        between two looks at the gate while paused."""
        while not stop.is_set():
            step = Step.REFINE if self._gate is None else await self._gate.step()
            if step is Step.WAIT:
                await self._sleep(stop)
                continue
            try:
                done = await self.refine_batch(self._batch if step is Step.REFINE else self._small)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                # PostgreSQL restarting: whatever was not committed is still pending.
                log.warning(
                    "refinement batch failed, retrying", extra={"fields": {"error": repr(exc)}}
                )
                done = 0
            if done == 0:
                await self._sleep(stop)

    async def _sleep(self, stop: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(stop.wait(), self._idle)
        except TimeoutError:
            pass

    async def refine_batch(self, limit: int | None = None) -> int:
        """Refine the oldest pending responses once (at most ``limit``, by default the batch
        size); how many were coded and written (fewer than read if the gate paused it)."""
        started = time.perf_counter()
        async with self._pool.acquire() as conn:
            PENDING.set(await store.pending_count(conn))
            batch = await store.pending(conn, limit or self._batch)
        if not batch:
            return 0
        codes = await self._code(batch)
        batch = batch[: len(codes)]
        unchanged: list[Pending] = []
        failed: list[Pending] = []
        async with self._pool.acquire() as conn:
            for item, reasons in zip(batch, codes, strict=True):
                if reasons is None:
                    failed.append(item)
                elif refinement(item, reasons) is None:
                    unchanged.append(item)
                else:
                    await self._recode(conn, item, reasons)
            if unchanged or failed:
                await store.mark_refined(conn, unchanged + failed)
        RESPONSES.labels("unchanged").inc(sum(not item.reviewed for item in unchanged))
        RESPONSES.labels("reviewed").inc(sum(item.reviewed for item in unchanged))
        self.summary.responses_seen += len(batch)
        BATCH_SECONDS.observe(time.perf_counter() - started)
        log.info(
            "batch refined",
            extra={"fields": {"responses": len(batch), "recoded": len(batch) - len(unchanged)}},
        )
        return len(batch)

    async def _code(self, batch: Sequence[Pending]) -> list[list[CodedReason] | None]:
        """The full model's codes for ``batch``, or for its first chunks if the gate paused.

        Without a gate, one call for the whole batch; with one, chunks of ``small_batch``,
        looking at the gate before each chunk after the first, so a burst that starts
        mid-batch waits for at most one chunk of it.
        """
        chunk = len(batch) if self._gate is None else self._small
        codes: list[list[CodedReason] | None] = []
        for start in range(0, len(batch), chunk):
            if start and self._gate is not None and await self._gate.step() is not Step.REFINE:
                break
            part = [item.stored.response for item in batch[start : start + chunk]]
            codes += await asyncio.to_thread(self._code_part, part)
        return codes

    def _code_part(self, part: Sequence[SurveyResponse]) -> list[list[CodedReason] | None]:
        """The full model's codes for ``part``; ``None`` for a response it fails on.

        Coding is pure computation, so an error in it is a bug a retry meets again: the
        refiner would stop on that batch at every restart, and refine nothing more. So a part
        whose coding fails is coded response by response, and a response the model fails on
        alone keeps the codes it has (it is marked refined, the error logged and counted)."""
        try:
            return list(code_responses(part, self._taxonomy))
        except Exception:
            log.exception(
                "refining a batch failed; coding its responses one by one",
                extra={"fields": {"responses": len(part)}},
            )
            return [self._code_alone(response) for response in part]

    def _code_alone(self, response: SurveyResponse) -> list[CodedReason] | None:
        try:
            return code_responses([response], self._taxonomy)[0]
        except Exception:
            log.exception(
                "the full model failed on one response; it keeps the codes it has",
                extra={"fields": {"receipt_id": response.receipt_id, "source": response.source}},
            )
            RESPONSES.labels("failed").inc()
            return None

    async def _recode(
        self, conn: Connection, read: Pending, reasons: Sequence[CodedReason]
    ) -> None:
        """Re-code one response under its lock, if it is still what was coded."""
        change = None
        case_recoded = False
        async with conn.transaction():
            locked = await store.lock_pending(conn, read.stored.row_id)
            if locked is None or not still_as_read(read, locked):
                # Refined meanwhile, or revised: a revision is still pending, with new codes.
                RESPONSES.labels("revised").inc()
                return
            change = refinement(locked, reasons)
            if change is not None:
                case_recoded = await apply_change(conn, self._run_id, change)
            await store.mark_refined(conn, [locked])
        if change is None:
            RESPONSES.labels("reviewed").inc()
            return
        RESPONSES.labels("recoded").inc()
        self.summary.record(change, case_recoded=case_recoded)
