"""The consoles' websocket past FastAPI: ``/ws`` straight to its handler.

A console holds its websocket for a whole shift, and everything on the way from the server to
the handler stays suspended with it: each middleware's and each router's coroutine frame,
Starlette's exception wrappers, FastAPI's three ``AsyncExitStack``s and its copy of the scope.
With 1,000 consoles signed in that chain was a good part of the notifier's memory per console
(docs/performance.md, section 38). :class:`NotifierApp` is the FastAPI app with one change: a
websocket to exactly ``/ws`` goes to the console's handler (``live.socket.console_socket``)
before any of that, with the server's own ``send`` kept in its scope for the frames the hub
writes directly (``live.direct``), as :class:`~winback_notifier.live.direct.KeepServerSend`
keeps it on FastAPI's path.

Nothing the console sees changes: the handler checks the origin, authenticates and answers
exactly as through FastAPI's route, which stays declared (the route table lists it, and it
serves the socket while :attr:`NotifierApp.console_socket` is ``None``). The notifier's
middleware are for HTTP (security headers on responses) and its exception handlers answer
HTTP errors, so none of them ever acted on this socket. An exception the handler lets out
reaches the server as it did through Starlette's error middleware, which re-raises it for a
websocket: uvicorn logs it and closes the connection.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from winback_notifier.live.direct import SERVER_SEND
from winback_notifier.live.socket import SocketHandler
from winback_shared.urls import path_under_root

CONSOLE_PATH = "/ws"


def is_console_socket(scope: Scope) -> bool:
    """Whether ``scope`` is a websocket to the console's path (under the app's root path)."""
    if scope["type"] != "websocket":
        return False
    return path_under_root(scope) == CONSOLE_PATH


class NotifierApp(FastAPI):
    """FastAPI, with the console's websocket handed to ``console_socket`` first."""

    console_socket: SocketHandler | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one connection (or the lifespan)."""
        handler = self.console_socket
        if handler is None or not is_console_socket(scope):
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # what ``WebSocket.app`` reads, as Starlette sets it
        scope[SERVER_SEND] = send
        await handler(WebSocket(scope, receive, send))
