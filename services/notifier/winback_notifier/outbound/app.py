"""The outbound process: records case events as deliveries and sends them (see ``intake`` and
``sender``). It serves only ``/healthz``, ``/readyz`` and ``/metrics``; subscriptions are managed
through the notifier's admin API or this package's CLI, both of which write PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from winback_notifier.outbound.floor_watch import FloorWatch
from winback_notifier.outbound.guarded_http import guarded_client
from winback_notifier.outbound.intake import Intake
from winback_notifier.outbound.sender import Dispatcher
from winback_notifier.outbound.service import check_at_start
from winback_notifier.outbound.settings import OutboundSettings
from winback_notifier.sweeps import sweep_forever
from winback_shared.db import create_pool
from winback_shared.health import database_answers, health_router
from winback_shared.kafka import broker_answers, manual_commit_consumer
from winback_shared.loops import LoopFailure, LoopWatch, stop_process
from winback_shared.metrics import metrics_router
from winback_shared.startup import prepare_infrastructure

log = logging.getLogger("winback.outbound")


def create_app(settings: OutboundSettings, on_loop_failure: LoopFailure = stop_process) -> FastAPI:
    """Build the outbound process's app; its lifespan runs the intake and the senders."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await prepare_infrastructure(settings, pool)
        try:
            await check_at_start(pool, settings.secret_box(), log)
        except BaseException:
            await pool.close()
            raise
        client = guarded_client(settings.target_policy(), settings.outbound_request_timeout_seconds)
        dispatcher = Dispatcher(pool, client, settings.sender_config())
        consumer = manual_commit_consumer(
            settings.kafka_bootstrap_servers,
            settings.topics.recovery_alerts,
            settings.topics.case_events,
            group_id=settings.outbound_group,
        )
        await consumer.start()
        intake = Intake(consumer, pool, settings.topics.case_events, dispatcher.nudge)
        app.state.pool = pool
        app.state.consumer = consumer
        app.state.dispatcher = dispatcher
        loops = app.state.loops = LoopWatch(log, on_loop_failure)
        loops.start(intake.run(), name="outbound-intake")
        loops.start(dispatcher.run(), name="outbound-senders")
        watch = FloorWatch(
            pool,
            stale_seconds=settings.outbound_presence_stale_seconds,
            waiting_after_seconds=settings.outbound_unwatched_after_seconds,
        )

        async def watch_floor() -> int:
            if await watch.check():
                dispatcher.nudge()
            return 0

        loops.start(
            sweep_forever(watch_floor, settings.outbound_watch_seconds, what="unwatched queue"),
            name="outbound-floor-watch",
        )
        try:
            yield
        finally:
            await loops.cancel()
            await consumer.stop()
            await client.aclose()
            await pool.close()

    app = FastAPI(title="winback outbound", version="0.1.0", lifespan=lifespan)

    async def readiness() -> dict[str, bool]:
        return {
            "database": await database_answers(app.state.pool),
            "kafka": await broker_answers(app.state.consumer._client),
            "loops_running": app.state.loops.all_running,
        }

    app.include_router(health_router(readiness))
    app.include_router(metrics_router())
    return app
