"""The console's sender (``live.socket._pump``) over the hub, with sockets faked in memory.

What the fan-out promises each console: frames in the order published, written as the one ASGI
message the hub built for all, and a console that stops reading is closed with 1013 once its
mailbox is full, while the others get every frame without waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from winback_notifier.live.hub import PONG, AlertHub, Frame, Subscription
from winback_notifier.live.socket import CLOSE_TRY_AGAIN, _pump
from winback_shared.agents import Agent, Role

ANA = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"alpha"}))
ALPHA = frozenset({"alpha"})


class FakeSocket:
    """Records what is sent; ``stalled`` never finishes a send (a console that stopped
    reading, its socket buffers full); the client says nothing until told to leave."""

    def __init__(self, *, stalled: bool = False) -> None:
        self.stalled = stalled
        self.sent: list[Any] = []
        self.closed: tuple[int, str] | None = None
        self.incoming: asyncio.Queue[str | None] = asyncio.Queue()

    async def send(self, message: dict[str, Any]) -> None:
        if self.stalled:
            await asyncio.Event().wait()
        self.sent.append(message)

    async def receive_text(self) -> str:
        text = await self.incoming.get()
        if text is None:
            raise WebSocketDisconnect(1000)
        return text

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)


def pump(
    socket: FakeSocket,
    subscription: Subscription,
    resync: Callable[[], Awaitable[bool]] | None = None,
    written: Callable[[Frame], None] = lambda frame: None,
) -> asyncio.Task[None]:
    """The console's sender over ``socket``, as a task."""
    return asyncio.create_task(
        _pump(cast(WebSocket, socket), subscription, resync or _never, written)
    )


async def test_a_stalled_console_is_closed_1013_and_the_reading_one_gets_every_frame() -> None:
    hub = AlertHub(5)
    reading, stalled = FakeSocket(), FakeSocket(stalled=True)
    seen: list[Frame] = []
    pumps = [pump(socket, hub.subscribe(ANA), written=seen.append) for socket in (reading, stalled)]
    await asyncio.sleep(0)

    for number in range(20):  # four times the stalled console's mailbox
        hub.publish(f"frame {number}", ALPHA)
        await asyncio.sleep(0)  # the reading console's sender runs between frames

    await asyncio.wait_for(pumps[1], 2)  # the stalled console's pump ended by itself
    assert stalled.closed is not None and stalled.closed[0] == CLOSE_TRY_AGAIN
    assert [m["text"] for m in reading.sent] == [f"frame {n}" for n in range(20)]
    assert all(m is f.message for m, f in zip(reading.sent, seen, strict=True))
    assert reading.closed is None and hub.size == 1
    reading.incoming.put_nowait(None)  # the reading console leaves
    await asyncio.wait_for(pumps[0], 2)


async def test_a_ping_is_answered_through_the_mailbox_in_order_with_frames() -> None:
    hub = AlertHub(5)
    console = FakeSocket()
    subscription = hub.subscribe(ANA)
    sender = pump(console, subscription)
    hub.publish("before", ALPHA)
    await asyncio.sleep(0)
    console.incoming.put_nowait('{"type":"ping"}')
    await asyncio.sleep(0.01)
    hub.publish("after", ALPHA)
    await asyncio.sleep(0.01)

    assert [m["text"] for m in console.sent] == ["before", PONG, "after"]
    console.incoming.put_nowait(None)
    await asyncio.wait_for(sender, 2)


async def test_a_resync_runs_between_the_frames_queued_before_and_after_it() -> None:
    hub = AlertHub(5)
    console = FakeSocket()
    subscription = hub.subscribe(ANA)

    async def resync() -> bool:
        console.sent.append("hello and snapshot")
        return True

    hub.publish("before", ALPHA)
    hub.resync(subscription)
    hub.publish("after", ALPHA)
    sender = pump(console, subscription, resync)
    await asyncio.sleep(0.01)

    assert console.sent[1] == "hello and snapshot"
    assert [console.sent[0]["text"], console.sent[2]["text"]] == ["before", "after"]
    console.incoming.put_nowait(None)
    await asyncio.wait_for(sender, 2)
    assert subscription.queue.empty()


async def _never() -> bool:  # pragma: no cover - no resync in these tests
    raise AssertionError
