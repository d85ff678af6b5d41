"""The console's live websocket: authenticate, snapshot, then the live stream for its queues.

The console subscribes before the snapshot is read, so a case is either in the snapshot or
arrives live (possibly both: consoles dedupe by case and seq). Nothing is changed over this
socket: actions go through the case API, where every rule is checked once.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from typing import Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from winback_notifier import cases
from winback_notifier.deps import Services
from winback_notifier.hub import AlertHub, Subscription
from winback_notifier.profile import Profile, build_profile
from winback_shared.agents import Agent, authenticate
from winback_shared.events.case_events import CaseCard

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN = 1013


class Hello(BaseModel):
    """First message after authentication: who you are and the rules you work under."""

    type: Literal["hello"] = "hello"
    agent: Profile


class Snapshot(BaseModel):
    """Second message: the cases on your board (every status but closed), most urgent first.

    At most the notifier's ``board_limit`` of them; ``total`` counts them all, so a console
    can tell its agent that the least urgent ones were left out.
    """

    type: Literal["snapshot"] = "snapshot"
    cases: list[CaseCard]
    total: int


def console_router(hub: AlertHub) -> APIRouter:
    """The ``/ws`` route, fed by ``hub``."""
    router = APIRouter()

    @router.websocket("/ws")
    async def console_socket(websocket: WebSocket) -> None:
        """Live cases. The first client message must be ``{"type": "auth", "token": ...}``."""
        services: Services = websocket.app.state.services
        await websocket.accept()
        agent = await _authenticate(websocket, services)
        if agent is None:
            return
        subscription = hub.subscribe(agent)
        try:
            limit = services.settings.board_limit
            board = await cases.list_cards(services.pool, agent, limit=limit)
            total = len(board)
            if total == limit:
                total = max(total, await cases.count_cards(services.pool, agent))
            profile = build_profile(agent, services.settings, services.taxonomy)
            await websocket.send_text(Hello(agent=profile).model_dump_json())
            await websocket.send_text(Snapshot(cases=board, total=total).model_dump_json())
            await _pump(websocket, subscription)
        finally:
            hub.unsubscribe(subscription)

    return router


async def _authenticate(websocket: WebSocket, services: Services) -> Agent | None:
    """Read the auth message; close with 4401 and return ``None`` if it is missing or wrong.

    The token travels in a message rather than the URL so it never lands in access logs.
    """
    message: Any = None
    with suppress(TimeoutError, ValueError, WebSocketDisconnect):
        async with asyncio.timeout(services.settings.auth_timeout_seconds):
            message = await websocket.receive_json()
    token = message.get("token") if isinstance(message, dict) else None
    agent = await authenticate(services.pool, token) if isinstance(token, str) else None
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
                text = await websocket.receive_text()
                if _is_ping(text):
                    # Through the queue: only one task may write to the socket.
                    with suppress(asyncio.QueueFull):
                        subscription.queue.put_nowait('{"type":"pong"}')

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


def _is_ping(text: str) -> bool:
    """Consoles ping now and then to notice a dead connection (a laptop waking from sleep)."""
    with suppress(ValueError):
        message = json.loads(text)
        return isinstance(message, dict) and message.get("type") == "ping"
    return False
