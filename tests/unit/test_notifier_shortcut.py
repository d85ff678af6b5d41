"""The console's websocket goes past FastAPI's middleware and routing, and nothing else does.

A pure ASGI middleware on the app records every connection FastAPI's stack sees; the
console's handler here records what it was handed. The real notifier app is checked to be
built this way (its handler set, its route still declared).
"""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import pytest
from fastapi import WebSocket, WebSocketDisconnect
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.asyncio.client import connect

from tests.support import serve
from winback_notifier.app import create_app
from winback_notifier.live.direct import SERVER_SEND
from winback_notifier.live.shortcut import NotifierApp, is_console_socket
from winback_notifier.live.socket import console_router
from winback_notifier.settings import NotifierSettings


class Recorder:
    """Pure ASGI middleware: remembers the type and path of each connection it passes on."""

    seen: list[tuple[str, str]]

    def __init__(self, app: ASGIApp, seen: list[tuple[str, str]]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            self.seen.append((scope["type"], scope["path"]))
        await self.app(scope, receive, send)


def app_with(*, shortcut: bool) -> tuple[NotifierApp, list[tuple[str, str]], list[Scope]]:
    """An app whose console handler echoes what it was handed; with or without the shortcut."""
    seen: list[tuple[str, str]] = []
    handled: list[Scope] = []

    async def console(websocket: WebSocket) -> None:
        handled.append(websocket.scope)
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.receive_text()  # until the client closes

    app = NotifierApp()
    app.add_middleware(Recorder, seen=seen)
    app.include_router(console_router(console))

    @app.websocket("/other")
    async def other(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    if shortcut:
        app.console_socket = console
    return app, seen, handled


async def echoes(url: str) -> bool:
    """Whether the websocket at ``url`` sends back what it was sent."""
    async with connect(url.replace("http://", "ws://")) as socket:
        await socket.send("ping")
        return await socket.recv() == "ping"


async def test_the_console_socket_skips_fastapi_and_keeps_the_server_send() -> None:
    app, seen, handled = app_with(shortcut=True)
    async with serve(app) as url:
        assert await echoes(f"{url}/ws")
        async with connect(f"{url.replace('http://', 'ws://')}/other"):
            pass
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{url}/openapi.json")).status_code == 200

    assert len(handled) == 1
    assert handled[0]["app"] is app  # what the handler reads its services from
    assert callable(handled[0][SERVER_SEND])  # what direct writes find the socket through
    assert seen == [("websocket", "/other"), ("http", "/openapi.json")]


async def test_without_the_shortcut_fastapi_s_route_serves_the_same_handler() -> None:
    app, seen, handled = app_with(shortcut=False)
    async with serve(app) as url:
        assert await echoes(f"{url}/ws")

    assert len(handled) == 1
    assert seen == [("websocket", "/ws")]


@pytest.mark.parametrize(
    ("scope", "console"),
    [
        ({"type": "websocket", "path": "/ws"}, True),
        ({"type": "websocket", "path": "/n/ws", "root_path": "/n"}, True),
        ({"type": "http", "path": "/ws"}, False),
        ({"type": "websocket", "path": "/ws/"}, False),
        ({"type": "websocket", "path": "/wss"}, False),
        ({"type": "websocket", "path": "/other/ws"}, False),
        ({"type": "websocket", "path": "/n/ws", "root_path": "/m"}, False),
    ],
)
def test_only_a_websocket_to_exactly_the_console_path_is_the_console(
    scope: dict[str, Any], console: bool
) -> None:
    assert is_console_socket(scope) is console


def test_the_notifier_is_built_with_the_shortcut_and_its_route_still_declared() -> None:
    app = create_app(NotifierSettings())

    assert isinstance(app, NotifierApp)
    assert app.console_socket is not None
    routes = [
        route.original_route
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIWebSocketRoute) and route.path == "/ws"
    ]
    assert [route.endpoint for route in routes] == [app.console_socket]
