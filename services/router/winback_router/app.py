"""The router process: a consumer loop with health and ops endpoints beside it.

It runs under uvicorn so it gets the same signal handling, graceful shutdown and probes as the
HTTP services; the loop itself lives in the app's lifespan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from winback_router.adapters import AdapterContext
from winback_router.adapters.vendor_api import VendorApiClient
from winback_router.batch_store import PostgresBatchStore
from winback_router.coding.compiler import load_and_compile
from winback_router.coding_process import CodingProcess
from winback_router.consumer import RecoveryRouter, RouterTopics
from winback_router.dead_letters.flood_guard import FloodGuard
from winback_router.dead_letters.views import ops_router
from winback_router.kafka_stream import KafkaPublisher, KafkaRecordSource, alert_producer
from winback_router.settings import RouterSettings
from winback_shared.contact_policy_log import record_contact_policy
from winback_shared.db import create_pool
from winback_shared.errors import install_error_handlers
from winback_shared.health import database_answers, health_router
from winback_shared.kafka import broker_answers, manual_commit_consumer
from winback_shared.loops import LoopFailure, LoopWatch, stop_process
from winback_shared.metrics import metrics_router
from winback_shared.startup import prepare_infrastructure

log = logging.getLogger("winback.router")


def create_app(settings: RouterSettings, on_loop_failure: LoopFailure = stop_process) -> FastAPI:
    """Build the router app; the consumer starts with the app and stops with it.

    A consumer loop that dies stops the process (:mod:`winback_shared.loops`), which then exits
    non-zero (:func:`winback_shared.serve.serve_forever`).
    """
    # A bad keyword, or a model trained for other codes, stops start-up here.
    taxonomy = load_and_compile(settings.taxonomy_path, settings.reason_model)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await prepare_infrastructure(settings, pool)
        async with pool.acquire() as conn:
            await record_contact_policy(conn, settings, recorded_by="router")
        # The batch store's own connections, released without asyncpg's reset query: a batch's
        # save and its alerted_at stamp are one round trip each (docs/performance.md, 21).
        store_pool = await create_pool(
            settings.database_url, min_size=1, max_size=2, reset_session=False
        )
        producer = alert_producer(settings.kafka_bootstrap_servers)
        consumer = manual_commit_consumer(
            settings.kafka_bootstrap_servers,
            group_id=settings.router_group,
            group_instance_id=settings.router_instance_id,
            session_timeout_seconds=settings.router_session_timeout_seconds,
        )
        vendor_api = VendorApiClient()
        coding_process = None
        if settings.router_coding_process:
            coding_process = CodingProcess(settings.taxonomy_path, settings.reason_model)
            await asyncio.to_thread(coding_process.start)  # loads the model before any batch
        router = RecoveryRouter(
            records=KafkaRecordSource(consumer),
            publisher=KafkaPublisher(producer),
            store=PostgresBatchStore(store_pool, settings.contact_policy()),
            taxonomy=taxonomy,
            sources=settings.sources,
            adapter_context=AdapterContext(api=vendor_api),
            topics=RouterTopics(
                responses=settings.topics.survey_responses,
                alerts=settings.topics.recovery_alerts,
                dead_letters=settings.topics.dead_letters,
            ),
            queue_rules=settings.queue_rules,
            flood_guard=FloodGuard(
                window=settings.flood_window,
                max_ratio=settings.flood_max_ratio,
                min_records=settings.flood_min_records,
            ),
            max_batch=settings.router_max_batch,
            overlap=settings.router_overlap,
            batches_ahead=settings.router_batches_ahead,
            normalise_ahead=settings.router_normalise_ahead,
            coding_process=coding_process,
            recovery_window=settings.recovery_window,
        )
        router.subscribe()
        await producer.start()
        await consumer.start()
        state = app.state
        state.pool, state.consumer, state.producer = pool, consumer, producer
        state.responses_topic = settings.topics.survey_responses
        state.loops = LoopWatch(log, on_loop_failure)
        stop = asyncio.Event()
        loop_task = state.loops.start(router.run(stop), name="router loop")
        try:
            yield
        finally:
            stop.set()
            await asyncio.wait({loop_task}, timeout=15)
            await consumer.stop()
            await producer.stop()
            await vendor_api.aclose()
            if coding_process is not None:
                await asyncio.to_thread(coding_process.close)
            await store_pool.close()
            await pool.close()

    app = FastAPI(title="winback router", version="0.2.0", lifespan=lifespan)
    install_error_handlers(app)

    async def readiness() -> dict[str, bool]:
        return {
            "loop_running": app.state.loops.all_running,
            "database": await database_answers(app.state.pool),
            "kafka": await broker_answers(app.state.consumer._client),
            "partitions_assigned": bool(app.state.consumer.assignment()),
        }

    app.include_router(health_router(readiness))
    app.include_router(metrics_router())
    app.include_router(ops_router())
    return app
