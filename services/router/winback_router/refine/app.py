"""The refiner process: the refinement loop, with health, readiness and metrics beside it.

Run as ``python -m winback_router.refine`` (port ``WINBACK_REFINER_PORT``, 8003 by default).
Its work is in PostgreSQL (the notifiers' outbox publishes its ``recoded`` entries); Kafka it
only reads, for the router group's lag it yields to (``WINBACK_REFINE_YIELD``, on by
default). Kafka away, it refines as if the router were idle, so readiness asks only for
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from winback_router.coding.compiler import load_and_compile
from winback_router.recoding.plan import taxonomy_digest
from winback_router.recoding.report import Summary
from winback_router.recoding.store import finish_run, start_run
from winback_router.refine.gate import HotPathGate
from winback_router.refine.hot_path import GroupLagProbe
from winback_router.refine.loop import Refiner
from winback_router.refine.pause import YieldPolicy
from winback_router.settings import RouterSettings
from winback_shared.db import create_pool
from winback_shared.errors import install_error_handlers
from winback_shared.health import database_answers, health_router
from winback_shared.loops import LoopFailure, LoopWatch, stop_process
from winback_shared.metrics import metrics_router
from winback_shared.startup import prepare_database

log = logging.getLogger("winback.refiner")
REPLAY_SOURCE = "refine"
"""``recode_runs.replay_source`` of the refiner's runs (one per process start)."""


def create_app(settings: RouterSettings, on_loop_failure: LoopFailure = stop_process) -> FastAPI:
    """Build the refiner app; the loop starts with the app and stops with it.

    The full model (and with it the sentence encoder) loads here, before the port opens.
    """
    taxonomy = load_and_compile(settings.taxonomy_path, settings.refine_model)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await prepare_database(pool)
        summary = Summary(
            taxonomy_sha256=taxonomy_digest(taxonomy), replay_source=REPLAY_SOURCE, dry_run=False
        )
        async with pool.acquire() as conn:
            summary.run_id = run_id = await start_run(
                conn,
                taxonomy_sha256=summary.taxonomy_sha256,
                replay_source=REPLAY_SOURCE,
                since=None,
                until=None,
                source=None,
            )
        probe = _lag_probe(settings)
        refiner = Refiner(
            pool=pool,
            taxonomy=taxonomy,
            run_id=run_id,
            summary=summary,
            batch=settings.refine_batch,
            idle_seconds=settings.refine_idle_seconds,
            gate=None if probe is None else HotPathGate(probe, _policy(settings)),
            small_batch=settings.refine_small_batch,
        )
        app.state.pool = pool
        app.state.loops = LoopWatch(log, on_loop_failure)
        stop = asyncio.Event()
        loop_task = app.state.loops.start(refiner.run(stop), name="refiner loop")
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait({loop_task}, timeout=15)
            if probe is not None:
                await probe.close()
            async with pool.acquire() as conn:
                error = app.state.loops.error
                await finish_run(
                    conn, run_id, summary, error=None if error is None else repr(error)
                )
            await pool.close()

    app = FastAPI(title="winback refiner", version="0.2.0", lifespan=lifespan)
    install_error_handlers(app)

    async def readiness() -> dict[str, bool]:
        return {
            "loop_running": app.state.loops.all_running,
            "database": await database_answers(app.state.pool),
        }

    app.include_router(health_router(readiness))
    app.include_router(metrics_router())
    return app


def _lag_probe(settings: RouterSettings) -> GroupLagProbe | None:
    """The router group's lag on ``survey-responses``, if the refiner is to yield to it."""
    if not settings.refine_yield:
        return None
    return GroupLagProbe(
        settings.kafka_bootstrap_servers,
        group=settings.router_group,
        topic=settings.topics.survey_responses,
    )


def _policy(settings: RouterSettings) -> YieldPolicy:
    return YieldPolicy(
        pause_lag=settings.refine_pause_lag,
        resume_lag=settings.refine_resume_lag,
        resume_after=settings.refine_resume_after_seconds,
        max_pause=settings.refine_max_pause_seconds,
    )
