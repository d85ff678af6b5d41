"""The agents' gateway: the console page, the live websocket and the case API.

PostgreSQL is the source of truth; Kafka carries what changes. A console that (re)connects gets
a snapshot of open cases, then the live stream; it subscribes before the snapshot is read, so a
case is either in the snapshot or arrives live (possibly both: consoles dedupe by case and seq).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from winback_notifier.alerts_feed import AlertsFeed
from winback_notifier.cases import list_open_cases
from winback_notifier.hub import AlertHub, Subscription
from winback_notifier.settings import NotifierSettings
from winback_shared.agents import Agent, authenticate
from winback_shared.db import create_pool
from winback_shared.errors import ApiError, install_error_handlers
from winback_shared.events.recovery_alerts import CaseSummary
from winback_shared.health import database_answers, health_router
from winback_shared.kafka import broker_answers
from winback_shared.startup import prepare_infrastructure

log = logging.getLogger("winback.notifier")

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN = 1013
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


class Snapshot(BaseModel):
    """First live message after authentication: every open case."""

    type: Literal["snapshot"] = "snapshot"
    cases: list[CaseSummary]


async def current_agent(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Agent:
    """The agent behind ``Authorization: Bearer <token>``; 401 otherwise."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    agent = await authenticate(request.app.state.pool, token)
    if agent is None:
        raise ApiError(
            401,
            "unauthenticated",
            "a valid agent token is required",
            {"WWW-Authenticate": "Bearer"},
        )
    return agent


CurrentAgent = Annotated[Agent, Depends(current_agent)]


def create_app(settings: NotifierSettings) -> FastAPI:
    """Build the notifier app; it reads alerts from Kafka for as long as it runs."""
    hub = AlertHub(settings.client_queue_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url)
        await prepare_infrastructure(settings, pool)
        feed = AlertsFeed(settings.kafka_bootstrap_servers, settings.topics.recovery_alerts, hub)
        await feed.start()
        app.state.pool, app.state.feed = pool, feed
        feed_task = asyncio.create_task(feed.run(), name="alerts-feed")
        try:
            yield
        finally:
            feed_task.cancel()
            with suppress(asyncio.CancelledError):
                await feed_task
            await feed.stop()
            await pool.close()

    app = FastAPI(title="winback notifier", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.middleware("http")
    async def add_security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if not request.url.path.startswith(("/docs", "/redoc")):  # Swagger UI needs its CDN
            response.headers.update(SECURITY_HEADERS)
        return response

    async def readiness() -> dict[str, bool]:
        feed: AlertsFeed = app.state.feed
        return {
            "database": await database_answers(app.state.pool),
            "kafka": await broker_answers(feed.consumer._client),
            "alerts_feed": feed.ready.is_set(),
        }

    app.include_router(health_router(readiness))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def read_console() -> str:
        """The agent console page."""
        return (STATIC_DIR / "console.html").read_text()

    @app.get("/api/cases", response_model=list[CaseSummary], tags=["cases"])
    async def read_open_cases(request: Request, agent: CurrentAgent) -> list[CaseSummary]:
        """Open cases, most urgent first."""
        return await list_open_cases(request.app.state.pool)

    @app.websocket("/ws")
    async def console_socket(websocket: WebSocket) -> None:
        """Live alerts. The first client message must be ``{"type": "auth", "token": ...}``."""
        await websocket.accept()
        agent = await _authenticate_socket(websocket, settings.auth_timeout_seconds)
        if agent is None:
            return
        subscription = hub.subscribe()
        try:
            cases = await list_open_cases(websocket.app.state.pool)
            await websocket.send_text(
                json.dumps({"type": "hello", "agent": {"name": agent.name, "role": agent.role}})
            )
            await websocket.send_text(Snapshot(cases=cases).model_dump_json())
            await _pump(websocket, subscription)
        finally:
            hub.unsubscribe(subscription)

    return app


async def _authenticate_socket(websocket: WebSocket, timeout: float) -> Agent | None:
    """Read the auth message; close with 4401 and return ``None`` if it is missing or wrong.

    The token travels in a message rather than the URL so it never lands in access logs.
    """
    message: Any = None
    with suppress(TimeoutError, ValueError, WebSocketDisconnect):
        async with asyncio.timeout(timeout):
            message = await websocket.receive_json()
    token = message.get("token") if isinstance(message, dict) else None
    agent = await authenticate(websocket.app.state.pool, token) if isinstance(token, str) else None
    if agent is None:
        with suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(CLOSE_UNAUTHORIZED, "authentication required")
    return agent


async def _pump(websocket: WebSocket, subscription: Subscription) -> None:
    """Send queued messages until the console leaves or falls too far behind."""

    async def send_forever() -> None:
        while True:
            await websocket.send_text(await subscription.queue.get())

    async def until_client_leaves() -> None:
        with suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    tasks = {
        asyncio.create_task(send_forever()),
        asyncio.create_task(until_client_leaves()),
        asyncio.create_task(subscription.overflowed.wait()),
    }
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if subscription.overflowed.is_set():
        with suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(CLOSE_TRY_AGAIN, "fell behind; reconnect to resynchronise")
    for task in done:
        if not task.cancelled() and (error := task.exception()) is not None:
            if not isinstance(error, WebSocketDisconnect | RuntimeError):
                raise error
