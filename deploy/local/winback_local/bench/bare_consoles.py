"""A bare console fan-out, for calibrating the harness's consoles: the notifier without its work.

The same framework and server settings as the notifier (FastAPI's websocket route on uvicorn,
no compression), the same per-console design (one bounded queue and one sender task each, one
encoded frame queued for all), none of the notifier's work: no token lookup, an empty snapshot,
no Kafka, no PostgreSQL. Each webhook POSTed to it is answered 202 and becomes one
``case.opened`` frame for every console at once, its ``case`` the webhook's body (its
``response_id`` included): about the size of the notifier's frames, so the generator reads as
much per frame as it does there.

Run by the consoles experiment beside the notifier's (``experiments.consoles_step``) with the
same generator and the same number of consoles: what the generator measures here is its own
limit (and the machine's), the floor under the notifier's figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

HELLO = '{"type":"hello","agent":{}}'
SNAPSHOT = '{"type":"snapshot","cases":[],"total":0,"cursor":"bare"}'
QUEUE_SIZE = 1000


def frame_for(body: bytes) -> str | None:
    """The console frame a webhook body becomes (``None``: no ``response_id`` in it)."""
    with contextlib.suppress(ValueError):
        payload = json.loads(body)
        if isinstance(payload, dict) and isinstance(payload.get("response_id"), str):
            return json.dumps({"type": "case.opened", "case": payload}, separators=(",", ":"))
    return None


def create_app() -> FastAPI:
    """``POST /webhooks/{source}`` fans a frame out to every ``/ws`` console."""
    app = FastAPI()
    consoles: set[asyncio.Queue[str]] = set()

    @app.post("/webhooks/{source}")
    async def receive(source: str, request: Request) -> JSONResponse:
        frame = frame_for(await request.body())
        if frame is not None:
            for queue in list(consoles):
                with contextlib.suppress(asyncio.QueueFull):  # a slow console just loses it
                    queue.put_nowait(frame)
        return JSONResponse({"consoles": len(consoles)}, status_code=202)

    @app.websocket("/ws")
    async def console(websocket: WebSocket) -> None:
        await websocket.accept()
        queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_SIZE)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.receive_text()  # the auth message: any token will do
            consoles.add(queue)
            await websocket.send_text(HELLO)
            await websocket.send_text(SNAPSHOT)
            sender = asyncio.create_task(_send_forever(websocket, queue))
            try:
                while True:
                    await websocket.receive_text()
            finally:
                consoles.discard(queue)
                sender.cancel()

    return app


async def _send_forever(websocket: WebSocket, queue: asyncio.Queue[str]) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while True:
            await websocket.send_text(await queue.get())
