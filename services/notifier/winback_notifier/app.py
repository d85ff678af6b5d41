"""The agents' gateway: the console page, the live websocket, the case API and the admin API.

PostgreSQL is the source of truth; Kafka carries what changes. Case changes made here are
committed, then published to ``case-events``; every notifier instance (this one included) reads
that topic and ``recovery-alerts`` and pushes each message to the consoles of the case's queue.
Agent changes (queues, role, token, disabled) are recorded by PostgreSQL triggers in an outbox
that notifiers send to ``case-events`` too, so every instance updates the consoles signed in as
that agent. SLA timers (warning, breach, claim lapse) fire on every instance's scheduler, each
exactly once, as case changes like any other.

Those background loops (feed, both outbox sweeps, SLA timers) retry transient failures
themselves; one that dies of anything else stops the notifier (:mod:`winback_shared.loops`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from winback_notifier.agents import views as agent_views
from winback_notifier.agents.announcer import AgentChangeAnnouncer
from winback_notifier.agents.profile import Profile, build_profile
from winback_notifier.calls import views as call_views
from winback_notifier.calls.guidance import load_guidance, missing_codes
from winback_notifier.cases import assignees as case_assignees
from winback_notifier.cases import offer_views
from winback_notifier.cases import views as case_views
from winback_notifier.cases.publisher import CaseEventPublisher
from winback_notifier.deps import Services, ServicesDep
from winback_notifier.heap import start_up_frozen
from winback_notifier.live.coalesce import QuietChanges
from winback_notifier.live.direct import KeepServerSend
from winback_notifier.live.feed import AlertsFeed
from winback_notifier.live.hub import AlertHub
from winback_notifier.live.presence import ConsolePresence
from winback_notifier.live.shortcut import NotifierApp
from winback_notifier.live.socket import console_router, console_socket
from winback_notifier.outbound import service as outbound_service
from winback_notifier.outbound import views as outbound_views
from winback_notifier.outbound import zendesk_views
from winback_notifier.reports import export_views
from winback_notifier.reports import views as report_views
from winback_notifier.settings import NotifierSettings
from winback_notifier.sla.gauges import FloorGauges
from winback_notifier.sla.offer_timer import OfferApprovalTimer
from winback_notifier.sla.scheduler import SlaScheduler, policy_from
from winback_notifier.sla.startup import prepare_sla
from winback_notifier.story import views as story_views
from winback_notifier.sweeps import sweep_forever
from winback_notifier.vendor import find_chart_js
from winback_shared.auth import CurrentAgent
from winback_shared.customer_match import CustomerMatchSettings
from winback_shared.db import create_pool
from winback_shared.errors import install_error_handlers
from winback_shared.health import database_answers, health_router
from winback_shared.kafka import broker_answers, reliable_producer
from winback_shared.loops import LoopFailure, LoopWatch, stop_process
from winback_shared.metrics import metrics_router
from winback_shared.startup import prepare_infrastructure
from winback_shared.taxonomy import load_taxonomy

log = logging.getLogger("winback.notifier")

STATIC_DIR = resources.files("winback_notifier") / "static"
SECURITY_HEADERS = {
    # The console shows customer-written text; even if some slipped into markup, no inline or
    # foreign script may run, and no other site may frame the page (a meta tag cannot say that).
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(
    settings: NotifierSettings, on_loop_failure: LoopFailure = stop_process
) -> NotifierApp:
    """Build the notifier app; it reads alerts and case changes from Kafka while it runs.

    ``on_loop_failure`` is called once a background loop died (after it was logged); by default
    it stops the process, which then exits non-zero (:func:`winback_shared.serve.serve_forever`).
    """
    hub = AlertHub(settings.client_queue_size)
    taxonomy = load_taxonomy(settings.taxonomy_path)
    guidance = load_guidance(settings.call_guidance_path, taxonomy)
    if unguided := missing_codes(guidance, taxonomy):
        log.warning(
            "call guidance has no words for some reason codes; their cases get the steps alone",
            extra={"fields": {"codes": unguided}},
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await prepare_infrastructure(settings, pool)
        try:
            await outbound_service.check_at_start(pool, settings.secret_box(), log)
        except BaseException:
            await pool.close()
            raise
        producer = reliable_producer(settings.kafka_bootstrap_servers)
        await producer.start()
        publisher = CaseEventPublisher(
            producer, pool, settings.topics.case_events, settings.publish_timeout_seconds
        )
        announcer = AgentChangeAnnouncer(
            producer, pool, settings.topics.case_events, settings.publish_timeout_seconds
        )
        await prepare_sla(pool, settings)
        scheduler = SlaScheduler(
            pool, publisher, policy_from(settings), max_sleep=settings.sla_max_sleep_seconds
        )
        feed = AlertsFeed(
            settings.kafka_bootstrap_servers,
            settings.topics.recovery_alerts,
            settings.topics.case_events,
            hub,
            on_batch=scheduler.nudge_for,
            quiet=QuietChanges(
                settings.quiet_changes_wait_seconds, settings.quiet_changes_max_seconds
            ),
        )
        await feed.start()
        app.state.services = Services(settings, pool, publisher, taxonomy, guidance)
        app.state.pool = pool
        app.state.announcer = announcer
        app.state.feed = feed
        app.state.sla_scheduler = scheduler
        loops = app.state.loops = LoopWatch(log, on_loop_failure)
        interval = settings.outbox_interval_seconds
        loops.start(feed.run(), name="alerts-feed")
        loops.start(
            sweep_forever(publisher.sweep, interval, what="case change"), name="case-outbox"
        )
        loops.start(
            sweep_forever(announcer.announce, interval, what="agent change"), name="agent-outbox"
        )
        loops.start(scheduler.run(), name="sla-timers")
        if settings.offer_approval_minutes:
            approvals = OfferApprovalTimer(pool, publisher, settings.offer_approval_minutes)
            loops.start(
                sweep_forever(
                    approvals.flag,
                    settings.offer_check_seconds,
                    what="offer request",
                    done="flagged overdue",
                ),
                name="offer-approvals",
            )
        gauges = FloorGauges(pool, hub.watching)
        await gauges.refresh()
        loops.start(
            sweep_forever(gauges.refresh, settings.floor_gauges_interval_seconds, what="gauge"),
            name="floor-gauges",
        )
        presence = ConsolePresence(pool, hub.watching)
        await presence.report()
        loops.start(
            sweep_forever(presence.report, settings.floor_gauges_interval_seconds, what="presence"),
            name="console-presence",
        )
        try:
            with start_up_frozen():
                yield
        finally:
            await loops.cancel()
            with contextlib.suppress(Exception):  # best effort: stale rows expire anyway
                await presence.withdraw()
            await feed.stop()
            await producer.stop()
            await pool.close()

    app = NotifierApp(
        title="winback notifier",
        version="0.2.0",
        description=(
            "The agent console and the recovery case API. Authenticate with "
            "`Authorization: Bearer <agent token>`. Every error is "
            '`{"error": {"code": ..., "message": ...}}`.'
        ),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.state.hub = hub  # the ops page's "consoles connected" tile reads its size
    app.state.customer_match = CustomerMatchSettings().rule()  # the outcome report's matcher
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.middleware("http")
    async def add_security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if not request.url.path.startswith(("/docs", "/redoc")):  # Swagger UI needs its CDN
            response.headers.update(SECURITY_HEADERS)
        return response

    app.add_middleware(KeepServerSend)  # the consoles' sockets, for frames written directly

    async def readiness() -> dict[str, bool]:
        feed: AlertsFeed = app.state.feed
        services: Services = app.state.services
        return {
            "database": await database_answers(services.pool),
            "kafka": await broker_answers(feed.consumer._client),
            "alerts_feed": feed.ready.is_set(),
            "loops_running": app.state.loops.all_running,
        }

    app.include_router(health_router(readiness))
    app.include_router(metrics_router())
    app.include_router(case_views.router)
    app.include_router(case_assignees.router)
    app.include_router(story_views.router)
    app.include_router(offer_views.router)
    app.include_router(call_views.router)
    app.include_router(agent_views.router)
    app.include_router(outbound_views.router)
    app.include_router(zendesk_views.router)
    app.include_router(report_views.router)
    app.include_router(export_views.router)
    app.console_socket = console_socket(hub)
    app.include_router(console_router(app.console_socket))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def read_console() -> str:
        """The agent console page."""
        return (STATIC_DIR / "console.html").read_text()

    @app.get("/ops", response_class=HTMLResponse, include_in_schema=False)
    async def read_ops_page() -> str:
        """The ops page; its data comes from ``/api/ops/*``, which refuse agents."""
        return (STATIC_DIR / "ops.html").read_text()

    chart_js = find_chart_js(settings.chart_js_path)
    if chart_js is None:
        log.warning(
            "Chart.js not found (run scripts/bootstrap.sh, or set WINBACK_CHART_JS_PATH): "
            "the ops page shows its tables without charts"
        )

    @app.get("/vendor/chart.js", include_in_schema=False)
    async def read_chart_js() -> Response:
        """Chart.js for the ops page, from this origin (see :mod:`winback_notifier.vendor`)."""
        if chart_js is None:
            return Response(status_code=404)
        return FileResponse(chart_js, media_type="text/javascript")

    @app.get("/api/me", response_model=Profile, tags=["agents"])
    async def read_me(services: ServicesDep, agent: CurrentAgent) -> Profile:
        """Who you are, your queues, and the workflow policy (root causes, channels, targets)."""
        return build_profile(agent, services.settings, services.taxonomy)

    return app
