"""A published frame written straight to a console's socket, when nothing is ahead of it there.

Each console has a sender task that writes what its mailbox holds through the ASGI ``send``
(``live.socket._pump``). For one frame to a thousand consoles that is a thousand task wake-ups,
each going through Starlette's and uvicorn's send (the message dict, the text's UTF-8 encoding,
the websocket framing) before the one write to the socket that matters; skipping all that
halved the fan-out's CPU (docs/performance.md, section 24). A server-to-client text frame is the
same bytes for every console (no mask, no compression on the notifier), so the hub builds them
once (:func:`wire`) and, for a console whose sender is waiting on an empty mailbox and whose
socket has nothing of its own left to send, writes them to that socket's transport in the same
pass as the other consoles' (:meth:`DirectWriter.write`).

Nothing else changes: a console whose transport still holds bytes (it reads slowly), whose
sender is busy (a resync, the sign-in's snapshot, a frame in flight) or that has frames queued
gets the frame through its mailbox as before, so its frames stay in order, its mailbox stays
bounded and a console that stops reading is still closed with 1013 when the mailbox fills,
while the direct writes never wait for anything.

Only uvicorn's default websocket protocol (websockets-sansio) is written to directly; any other
server (Starlette's test client, wsproto, the legacy websockets protocol) or a connection that
negotiated an extension keeps the ASGI path (:func:`direct_writer` returns ``None``). The ASGI
``send`` the server handed to the app is what leads to its protocol object, so the app keeps it
in the scope: ``live.shortcut.NotifierApp`` for the console's socket it serves past FastAPI,
:class:`KeepServerSend` (registered in ``winback_notifier.app``) on FastAPI's own path.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

SERVER_SEND = "winback.server_send"
"""The scope key under which :class:`KeepServerSend` keeps the server's own ``send``."""


class KeepServerSend:
    """ASGI middleware: keep a websocket's server ``send`` in its scope (:data:`SERVER_SEND`).

    It must sit outside everything that wraps ``send`` for websockets (Starlette's exception
    handling does); Starlette's ``ServerErrorMiddleware``, outermost, passes a websocket's
    ``send`` through untouched, so adding this as the app's last middleware is enough.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SERVER_SEND] = send
        await self.app(scope, receive, send)


def wire(text: str) -> bytes:
    """``text`` as one unmasked, uncompressed websocket text frame: what uvicorn would write."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class DirectWriter:
    """One console's socket, for frames written past the ASGI ``send`` (see the module)."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: WebSocketsSansIOProtocol) -> None:
        self._protocol = protocol

    def write(self, data: bytes) -> bool:
        """Write a frame's ``data`` if the socket is open and has nothing else to send; whether
        it did. Never waits: a socket with bytes still buffered is left to the sender."""
        protocol = self._protocol
        transport = protocol.transport
        if (
            protocol.close_sent
            or protocol.disconnected
            or transport.is_closing()
            or transport.get_write_buffer_size()
            or protocol.conn.state is not State.OPEN
        ):
            return False
        transport.write(data)
        return True


def direct_writer(websocket: WebSocket) -> DirectWriter | None:
    """A writer for ``websocket``'s socket, or ``None`` where frames must go through ASGI."""
    send: Any = websocket.scope.get(SERVER_SEND)
    protocol = getattr(send, "__self__", None)
    if not isinstance(protocol, WebSocketsSansIOProtocol) or protocol.conn.extensions:
        return None
    return DirectWriter(protocol)
