"""Direct writes through a real uvicorn server (in this process, on loopback): the hub finds
each console's socket behind FastAPI's websocket route (and past it, as the notifier serves
it), writes what the sender would have, and a console that stops reading is still closed with
1013 while the others read every frame.

The notifier's own route (``live.socket``) subscribes exactly as the endpoint here does: the
console's ``direct_writer`` handed to ``hub.subscribe``, its sender ``_pump``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response, WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from winback_notifier.live.direct import KeepServerSend, direct_writer
from winback_notifier.live.hub import AlertHub, Subscription
from winback_notifier.live.shortcut import NotifierApp
from winback_notifier.live.socket import _pump
from winback_notifier.metrics import FRAMES_DIRECT
from winback_shared.agents import Agent, Role

ANA = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"alpha"}))
ALPHA = frozenset({"alpha"})


def console_app(
    hub: AlertHub, subscriptions: list[Subscription], *, shortcut: bool = False
) -> FastAPI:
    """A console route shaped like the notifier's: sign-in frame, then the sender; with
    ``shortcut``, served past FastAPI as the notifier serves it (``live.shortcut``)."""
    app = NotifierApp() if shortcut else FastAPI()

    @app.middleware("http")  # the notifier has one too: it must not hide the socket
    async def passthrough(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        return await call_next(request)

    app.add_middleware(KeepServerSend)

    async def console(websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            await websocket.receive_text()
            subscription = hub.subscribe(ANA, direct_writer(websocket))
            subscriptions.append(subscription)
            try:
                await websocket.send_text("hello")
                await _pump(websocket, subscription, _never, hub.written)
            finally:
                hub.unsubscribe(subscription)

    if isinstance(app, NotifierApp):
        app.console_socket = console
    else:
        app.add_api_websocket_route("/ws", console)
    return app


async def _never() -> bool:  # pragma: no cover - no resync here
    raise AssertionError


@contextlib.asynccontextmanager
async def serving(app: FastAPI, *, deflate: bool = False) -> AsyncIterator[str]:
    """``app`` on uvicorn with the notifier's websocket settings; yields its ``ws://`` URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, ws_per_message_deflate=deflate
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(500):
            if server.started:
                break
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def sign_in(url: str, **options: object) -> ClientConnection:
    client = await connect(url, **options)  # type: ignore[arg-type]
    await client.send('{"type":"auth","token":"any"}')
    assert await client.recv() == "hello"
    return client


async def read(client: ClientConnection, count: int) -> list[str]:
    return [str(await client.recv()) for _ in range(count)]


@pytest.mark.parametrize("shortcut", [False, True], ids=["fastapi-route", "shortcut"])
async def test_frames_are_written_directly_in_order_behind_fastapi_and_uvicorn(
    shortcut: bool,
) -> None:
    hub = AlertHub(100)
    subscriptions: list[Subscription] = []
    async with serving(console_app(hub, subscriptions, shortcut=shortcut)) as url:
        clients = [await sign_in(url, compression=None) for _ in range(3)]
        await asyncio.sleep(0.05)  # their senders now wait on empty mailboxes
        before = FRAMES_DIRECT._value.get()
        readers = [asyncio.create_task(read(client, 60)) for client in clients]

        sent = [f"frame {n} " + "x" * (n * 500) for n in range(60)]
        for number, text in enumerate(sent):
            hub.publish(text, ALPHA)
            if number % 3:
                await asyncio.sleep(0.001)

        assert await asyncio.wait_for(asyncio.gather(*readers), 10) == [sent] * 3
        assert all(s.writer is not None for s in subscriptions)
        assert FRAMES_DIRECT._value.get() > before  # the direct path was taken
        for client in clients:
            await client.close()


async def test_a_console_that_stops_reading_is_closed_1013_and_delays_nobody() -> None:
    hub = AlertHub(2)
    subscriptions: list[Subscription] = []
    async with serving(console_app(hub, subscriptions)) as url:
        reading = [await sign_in(url, compression=None) for _ in range(2)]
        stalled = await sign_in(url, compression=None, max_queue=1)  # then reads nothing
        await asyncio.sleep(0.05)
        big = "y" * 1_000_000
        readers = [asyncio.create_task(read(client, 40)) for client in reading]

        for number in range(40):  # 40 MB: past any loopback socket's buffers
            hub.publish(f"{number}:{big}", ALPHA)
            await asyncio.sleep(0.005)

        got = await asyncio.wait_for(asyncio.gather(*readers), 20)
        assert all(
            [f.split(":")[0] for f in frames] == [str(n) for n in range(40)] for frames in got
        )
        assert hub.size == 2  # the stalled one was dropped by its mailbox bound
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(stalled.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        for client in reading:
            await client.close()


async def test_a_compressed_connection_keeps_the_asgi_path() -> None:
    hub = AlertHub(10)
    subscriptions: list[Subscription] = []
    async with serving(console_app(hub, subscriptions), deflate=True) as url:
        client = await sign_in(url)  # offers permessage-deflate, and the server accepts it
        await asyncio.sleep(0.05)
        hub.publish("compressed", ALPHA)
        assert await asyncio.wait_for(client.recv(), 5) == "compressed"
        assert subscriptions[0].writer is None
        await client.close()
