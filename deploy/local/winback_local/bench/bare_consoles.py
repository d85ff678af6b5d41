"""A bare console fan-out, for calibrating the harness's consoles: the notifier without its work.

The same framework and server settings as the notifier (FastAPI's websocket route on uvicorn,
no compression), the same per-console design (one bounded queue and one sender task each, one
encoded frame queued for all), none of the notifier's work: no token lookup, an empty snapshot,
no Kafka, no PostgreSQL. Each webhook POSTed to it is answered 202 and becomes one
``case.opened`` frame for every console at once, its ``case`` the webhook's body (its
``response_id`` included): about the size of the notifier's frames, so the generator reads as
much per frame as it does there. Its snapshot is filler cards up to ``snapshot_bytes`` (the
harness passes the size of the notifier's snapshot measured just before, in the same run), so
the generator reads as much at sign-in on both rows (docs/performance.md, section 18).

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
QUEUE_SIZE = 1000
CARD_BYTES = 2048
"""Each filler card's size: about a real card's (a 1.4 MB snapshot held ~380 cards)."""


def _card(number: int, size: int) -> str:
    """A filler card of ``size`` bytes (or the smallest one, if that is less)."""
    empty = f'{{"id":"bare-{number}","summary":""}}'
    return empty[:-2] + "x" * max(0, size - len(empty)) + '"}'


def _snapshot(cards: list[str]) -> str:
    return f'{{"type":"snapshot","cases":[{",".join(cards)}],"total":{len(cards)},"cursor":"bare"}}'


def snapshot_of(size: int) -> str:
    """A ``snapshot`` frame of ``size`` bytes of filler cards (the empty snapshot if ``size`` is
    smaller than that): built once, sent to every console as the notifier sends its own."""
    empty = _snapshot([])
    if size <= len(empty):
        return empty
    count = max(1, (size - len(empty)) // CARD_BYTES)
    cards = [_card(n, CARD_BYTES) for n in range(count)]
    short = size - len(_snapshot(cards))
    cards[-1] = _card(count - 1, CARD_BYTES + short)
    return _snapshot(cards)


def frame_for(body: bytes) -> str | None:
    """The console frame a webhook body becomes (``None``: no ``response_id`` in it)."""
    with contextlib.suppress(ValueError):
        payload = json.loads(body)
        if isinstance(payload, dict) and isinstance(payload.get("response_id"), str):
            return json.dumps({"type": "case.opened", "case": payload}, separators=(",", ":"))
    return None


def create_app(snapshot_bytes: int = 0) -> FastAPI:
    """``POST /webhooks/{source}`` fans a frame out to every ``/ws`` console; each console's
    sign-in gets a snapshot of ``snapshot_bytes``."""
    app = FastAPI()
    snapshot = snapshot_of(snapshot_bytes)
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
            await websocket.send_text(snapshot)
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
