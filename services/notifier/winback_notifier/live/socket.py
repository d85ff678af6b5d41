"""The console's live websocket: authenticate, snapshot, then the live stream for its queues.

The console subscribes before the snapshot is read, so a case is either in the snapshot or
arrives live (possibly both: consoles dedupe by case and seq). Nothing is changed over this
socket: actions go through the case API, where every rule is checked once.

A console that was connected before sends back the cursor of its last snapshot or catch-up
(:mod:`winback_notifier.live.cursor`) and gets ``catchup`` messages instead of a snapshot: every
case changed since, read from PostgreSQL, however many (pages of ``board_limit`` cards, the
cursor on the last). So what happened while it was away reaches it even when the notifier was
down meanwhile, or the board holds more cases than a snapshot carries.

When the agent changes (``agent.changed``: queues, role, token, disabled), the console's sender
meets a resync marker in its queue and does what a new connection would, without one: it
authenticates the console's token again (closing with 4401 if the agent was disabled or the
token replaced), swaps the subscription's filter, reads the board, and sends ``hello`` and
``snapshot`` before anything queued after them. Frames queued earlier under the old filter may
follow the new snapshot; the console drops those by seq, or because their queue is no longer
in its ``hello``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection
from contextlib import suppress
from typing import Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

from winback_notifier.agents.profile import Profile, build_profile
from winback_notifier.cases import service as cases
from winback_notifier.deps import Services
from winback_notifier.live.board import BoardReads, HelloFrames
from winback_notifier.live.cursor import Cursor
from winback_notifier.live.direct import direct_writer
from winback_notifier.live.hub import PONG, AlertHub, Frame, Resync, Subscription
from winback_shared.agents import Agent, TokenExpired, authenticate, sign_in
from winback_shared.events.case_events import CaseCard

log = logging.getLogger("winback.notifier.live")

CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403
CLOSE_TRY_AGAIN = 1013
REVOKED = "access revoked: agent disabled or token replaced"
"""The close reason when a connected console's credentials stop working."""


class Hello(BaseModel):
    """First message after authentication: who you are and the rules you work under.

    It carries everything the console would otherwise keep a copy of: which actions each case
    allows this agent (the workflow's transition table), the statuses a board shows, and the
    words for statuses and history kinds. Sent again whenever the agent changes.
    """

    type: Literal["hello"] = "hello"
    agent: Profile


class Snapshot(BaseModel):
    """Second message: the cases on your board (every status but closed), most urgent first.

    At most the notifier's ``board_limit`` of them; ``total`` counts them all, so a console
    can tell its agent that the least urgent ones were left out. Sent as
    ``live.board.SharedBoard.snapshot_frame`` writes it (the cards encoded once for every console
    sharing the read): exactly the text this model encodes with ``ensure_ascii=True`` (the
    JSON it encodes by default, with characters past ASCII escaped).
    """

    type: Literal["snapshot"] = "snapshot"
    cases: list[CaseCard]
    total: int
    cursor: str
    """What the console sends back when it reconnects, to catch up instead."""


class CatchUp(BaseModel):
    """Instead of a snapshot, for a console that resumes: cases changed since its cursor.

    Sent in pages; only the last carries the next ``cursor`` (``None`` on the others), so a
    console that drops mid-way asks again from where it stood. Every status comes, closed
    included, and cases moved to queues the agent does not see: the console drops those.
    """

    type: Literal["catchup"] = "catchup"
    cases: list[CaseCard]
    cursor: str | None


class SignInFrames:
    """What sign-ins share for one app's life: board reads and hello frames (``live.board``)."""

    def __init__(self, services: Services, hub: AlertHub) -> None:
        self.services = services
        self.hub = hub
        self.boards = BoardReads(
            services.pool.acquire,
            services.settings.board_limit,
            live=hub,
            reuse_seconds=services.settings.board_reuse_seconds,
        )
        self.hellos = HelloFrames(
            lambda agent: Hello(
                agent=build_profile(agent, services.settings, services.taxonomy)
            ).model_dump_json()
        )


SocketHandler = Callable[[WebSocket], Awaitable[None]]
"""Serves one console's websocket from its first message to its close."""


def console_router(handler: SocketHandler) -> APIRouter:
    """The ``/ws`` route, served by ``handler`` (:func:`console_socket`).

    The notifier's app also hands ``/ws`` to the same handler before FastAPI's own work
    (:mod:`winback_notifier.live.shortcut`); the route keeps the socket in FastAPI's route table
    and serves it should the shortcut be off.
    """
    router = APIRouter()
    router.add_api_websocket_route("/ws", handler)
    return router


def console_socket(hub: AlertHub) -> SocketHandler:
    """The handler of the consoles' websocket, fed by ``hub``."""
    shared: list[SignInFrames] = []

    def frames_for(services: Services) -> SignInFrames:
        """The app's shared sign-in state, made on first use (and anew for another app run)."""
        if not shared or shared[0].services is not services:
            shared[:] = [SignInFrames(services, hub)]
        return shared[0]

    async def serve_console(websocket: WebSocket) -> None:
        """Live cases. The first client message must be ``{"type": "auth", "token": ...}``."""
        services: Services = websocket.app.state.services
        frames = frames_for(services)
        if not origin_allowed(websocket, services.settings.allowed_origins):
            log.warning(
                "websocket refused: foreign origin",
                extra={"fields": {"origin": websocket.headers.get("origin", "")[:200]}},
            )
            await websocket.close(CLOSE_FORBIDDEN_ORIGIN)  # before accepting: the client sees 403
            return
        await websocket.accept()
        changes_before = hub.agent_changes
        signed_in = await _authenticate(websocket, services)
        if signed_in is None:
            return
        agent, token, resume = signed_in
        subscription = hub.subscribe(agent, direct_writer(websocket))
        if hub.agent_changes != changes_before:
            hub.resync(subscription)  # an agent changed while we read this one: maybe this one

        async def resync() -> bool:
            """Reload the agent; ``False`` if its token no longer signs it in."""
            current = await authenticate(services.pool, token)
            if current is None:
                return False
            subscription.agent = current
            # Read after the new filter applies: a board read earlier would miss what the old
            # filter kept out of the queue.
            await _send_board(websocket, services, frames, current)
            return True

        try:
            await _send_board(websocket, services, frames, agent, resume, joined=subscription)
            await _pump(websocket, subscription, resync, hub.written)
        finally:
            hub.unsubscribe(subscription)

    return serve_console


def origin_allowed(websocket: WebSocket, allowed: Collection[str]) -> bool:
    """Whether the page that opened this socket may read it: the console's own origin, or one
    of the configured ``allowed`` (``WINBACK_ALLOWED_ORIGINS``, for a console served elsewhere).

    Browsers send ``Origin`` on every websocket and let any page open one to any site, so
    without this check a page elsewhere could stream the board of an agent it tricked into
    pasting a token. A request without ``Origin`` is no browser's (a CRM, a script): the token
    decides for it, as for the HTTP API.
    """
    origin = websocket.headers.get("origin")
    if origin is None or origin in allowed:
        return True
    host = websocket.headers.get("host")
    return host is not None and origin in (f"http://{host}", f"https://{host}")


async def _send_board(
    websocket: WebSocket,
    services: Services,
    frames: SignInFrames,
    agent: Agent,
    resume: Cursor | None = None,
    *,
    joined: Subscription | None = None,
) -> None:
    """``hello``, then a ``snapshot`` or, resuming the same view, the ``catchup`` pages.

    A snapshot comes from the board read shared with the consoles signing in alongside that
    see the same cases (``live.board``); its cards are encoded once for all of them. For a
    console that ``joined`` the hub (a new connection, not a resync: the filter of a resync
    changed after any earlier read) that read may have begun a moment before it subscribed;
    the frames published in between follow the snapshot, ahead of its queue.
    """
    if resume is not None and resume.fits(agent):
        board = [page.model_dump_json() for page in await _catch_up(services, agent, resume)]
    else:
        shared = await frames.boards.board(agent, reuse=joined is not None)
        board = [shared.snapshot_frame(Cursor.after_read(shared.read_at, agent).encode())]
        if joined is not None:
            # No await since the board came back: the hub still keeps what it reused it for.
            missed = frames.hub.missed(joined, shared.published)
            if missed is None:  # a read that outlived the hub's history: read again
                frames.hub.resync(joined)
            else:
                board += missed
    await websocket.send_text(frames.hellos.frame(agent))
    for message in board:
        await websocket.send_text(message)


async def _catch_up(services: Services, agent: Agent, resume: Cursor) -> list[CatchUp]:
    """Every case changed since ``resume``, in pages, read in one snapshot of the database.

    All pages are read before any is sent, so no transaction stays open on a slow console.
    """
    limit = services.settings.board_limit
    pages: list[list[CaseCard]] = []
    async with services.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        read_at = await cases.board_read_at(conn)
        after = 0
        while not pages or len(pages[-1]) == limit:
            if pages:
                after = pages[-1][-1].case_id
            pages.append(
                await cases.list_changed_cards(
                    conn, agent, since=resume.since, limit=limit, after_case_id=after
                )
            )
    cursor = Cursor.after_read(read_at, agent).encode()
    last = len(pages) - 1
    return [
        CatchUp(cases=page, cursor=cursor if index == last else None)
        for index, page in enumerate(pages)
    ]


async def _authenticate(
    websocket: WebSocket, services: Services
) -> tuple[Agent, str, Cursor | None] | None:
    """Read the auth message; close with 4401 and return ``None`` if it is missing or wrong
    (the close reason says so when the token has expired).

    The token travels in a message rather than the URL so it never lands in access logs. It is
    kept (in memory, for this connection only) to check it again when the agent changes. The
    message's ``cursor``, if the console had one, says where to resume; one that does not read
    is ignored (the console gets a snapshot).
    """
    message: Any = None
    with suppress(TimeoutError, ValueError, WebSocketDisconnect):
        async with asyncio.timeout(services.settings.auth_timeout_seconds):
            message = await websocket.receive_json()
    token = message.get("token") if isinstance(message, dict) else None
    agent = await sign_in(services.pool, token) if isinstance(token, str) else None
    if not isinstance(agent, Agent) or not isinstance(token, str):
        reason = agent.message if isinstance(agent, TokenExpired) else "authentication required"
        with suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(CLOSE_UNAUTHORIZED, reason)
        return None
    return agent, token, Cursor.decode(message.get("cursor"))


async def _pump(
    websocket: WebSocket,
    subscription: Subscription,
    resync: Callable[[], Awaitable[bool]],
    written: Callable[[Frame], None],
) -> None:
    """Send queued messages until the console leaves, falls too far behind or is revoked.

    This is the only task that writes to the socket through ASGI, so a resync's hello and
    snapshot go out exactly between what was queued before and after it; the hub writes a frame
    itself only while this task waits on an empty mailbox and the socket has nothing left to
    send (``live.direct``), so that frame's place in the stream is the one the mailbox would
    have given it. Each frame queued goes out as the ASGI message the hub built once for every
    console (``Frame.message``). ``written`` is told of each frame on its socket if the console
    is one of those timed (the hub's publish-to-written figure).
    """
    revoked = False

    async def send_forever() -> None:
        nonlocal revoked
        timed = subscription.timed
        while True:
            item = await subscription.queue.get()
            if not isinstance(item, Resync):
                await websocket.send(item.message)
                if timed:
                    written(item)
            elif not await resync():
                revoked = True
                return

    async def until_client_leaves() -> None:
        with suppress(WebSocketDisconnect):
            while True:
                text = await websocket.receive_text()
                if _is_ping(text):
                    # Through the queue: only one task may write to the socket.
                    # (A full mailbox refuses it: the next frame drops a console that far behind.)
                    subscription.queue.offer(PONG)

    tasks = {
        asyncio.create_task(send_forever()),
        asyncio.create_task(until_client_leaves()),
        asyncio.create_task(subscription.overflowed.wait()),
    }
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if revoked:
        with suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(CLOSE_UNAUTHORIZED, REVOKED)
    elif subscription.overflowed.is_set():
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
