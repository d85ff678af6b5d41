"""The router process: a consumer loop with health endpoints beside it.

It runs under uvicorn so it gets the same signal handling, graceful shutdown and probes as the
HTTP services; the loop itself lives in the app's lifespan.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from winback_router.consumer import RecoveryRouter
from winback_router.settings import RouterSettings
from winback_shared.db import create_pool
from winback_shared.health import database_answers, health_router
from winback_shared.kafka import broker_answers, manual_commit_consumer, reliable_producer
from winback_shared.startup import prepare_infrastructure
from winback_shared.taxonomy import load_taxonomy

log = logging.getLogger("winback.router")


def create_app(settings: RouterSettings) -> FastAPI:
    """Build the router app; the consumer starts with the app and stops with it."""
    taxonomy = load_taxonomy(settings.taxonomy_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await prepare_infrastructure(settings, pool)
        producer = reliable_producer(settings.kafka_bootstrap_servers)
        consumer = manual_commit_consumer(
            settings.kafka_bootstrap_servers, group_id=settings.router_group
        )
        router = RecoveryRouter(
            consumer=consumer,
            producer=producer,
            pool=pool,
            taxonomy=taxonomy,
            alerts_topic=settings.topics.recovery_alerts,
            input_topic=settings.topics.survey_responses,
        )
        router.subscribe()
        await producer.start()
        await consumer.start()
        app.state.pool, app.state.consumer = pool, consumer
        stop = asyncio.Event()
        loop_task = asyncio.create_task(router.run(stop), name="router-loop")
        loop_task.add_done_callback(_exit_if_crashed)
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait({loop_task}, timeout=15)
            await consumer.stop()
            await producer.stop()
            await pool.close()

    app = FastAPI(title="winback router", version="0.1.0", lifespan=lifespan)

    async def readiness() -> dict[str, bool]:
        return {
            "database": await database_answers(app.state.pool),
            "kafka": await broker_answers(app.state.consumer._client),
            "partitions_assigned": bool(app.state.consumer.assignment()),
        }

    app.include_router(health_router(readiness))
    return app


def _exit_if_crashed(task: asyncio.Task[None]) -> None:
    """A loop that died on a non-transient error must not leave a healthy-looking process."""
    if task.cancelled() or task.exception() is None:
        return
    log.error("router loop stopped", exc_info=task.exception())
    os.kill(os.getpid(), signal.SIGTERM)
