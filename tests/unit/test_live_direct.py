"""Frames written straight to an idle console's socket by the hub (``live.direct``).

What must hold: the bytes are exactly what uvicorn's websocket protocol would have written; a
frame goes direct only while the console's sender waits on an empty mailbox and the socket has
nothing else to send, so each console's frames still reach it in publish order whichever way
each went; a console whose socket refuses (it stopped reading) falls back to its bounded
mailbox and is closed with 1013 when that fills, while the others keep getting every frame.
"""

from __future__ import annotations

import asyncio
import gc
import random
from typing import Any, cast

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect
from websockets.frames import Frame as WireFrame
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.streams import StreamReader

from winback_notifier.app import create_app
from winback_notifier.live.direct import KeepServerSend, direct_writer, wire
from winback_notifier.live.hub import HISTORY, AlertHub, Frame
from winback_notifier.live.mailbox import Mailbox
from winback_notifier.live.socket import CLOSE_TRY_AGAIN, _pump
from winback_notifier.metrics import FRAMES_DIRECT
from winback_notifier.settings import NotifierSettings
from winback_shared.agents import Agent, Role

ANA = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"alpha"}))
ALPHA = frozenset({"alpha"})


class FakeWriter:
    """A console's transport: records the frames written to ``log`` (and the very bytes objects
    in ``written``); ``refuse`` says when its buffer still holds bytes (the write is refused)."""

    def __init__(self, log: list[str], refuse: Any = lambda: False) -> None:
        self.log = log
        self.refuse = refuse
        self.writes = 0
        self.written: list[bytes] = []

    def write(self, data: bytes) -> bool:
        if self.refuse():
            return False
        self.writes += 1
        self.written.append(data)
        self.log.append(parse_text(data))
        return True


class FakeSocket:
    """The ASGI side of the same console: what its sender sends goes to the same ``log``."""

    def __init__(self, log: list[str], *, stalled: bool = False) -> None:
        self.log = log
        self.stalled = stalled
        self.closed: int | None = None
        self.leave = asyncio.Event()

    async def send(self, message: dict[str, Any]) -> None:
        if self.stalled:
            await asyncio.Event().wait()
        self.log.append(message["text"])

    async def receive_text(self) -> str:
        await self.leave.wait()
        raise WebSocketDisconnect(1000)

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = code


def parse_text(data: bytes) -> str:
    """One server-to-client websocket frame's text, parsed as a client would."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = WireFrame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        frame: WireFrame = done.value
        assert frame.fin and reader.at_eof()
        return bytes(frame.data).decode()
    raise AssertionError("an incomplete frame")


async def _resync() -> bool:  # pragma: no cover - no resync in these tests
    raise AssertionError


def pump(socket: FakeSocket, hub: AlertHub, writer: FakeWriter | None) -> tuple[Any, Any]:
    subscription = hub.subscribe(ANA, writer)
    task = asyncio.create_task(
        _pump(cast(WebSocket, socket), subscription, _resync, lambda frame: None)
    )
    return subscription, task


def test_the_wire_bytes_are_what_uvicorns_protocol_writes_for_the_text() -> None:
    for text in ("{}", '{"type":"case.opened","case":{"case_id":1}}', "x" * 70_000, "é ✓"):
        server = ServerProtocol(state=State.OPEN)
        server.send_text(text.encode())
        assert wire(text) == b"".join(server.data_to_send())
        assert parse_text(wire(text)) == text


async def test_a_publish_builds_the_wire_bytes_once_for_all_consoles_and_keeps_none() -> None:
    hub = AlertHub(5)
    writers = [FakeWriter([]), FakeWriter([])]
    tasks = [pump(FakeSocket([]), hub, writer)[1] for writer in writers]
    await asyncio.sleep(0.01)  # both senders wait on their empty mailboxes

    hub.publish("hello", ALPHA)

    (first,), (second,) = (writer.written for writer in writers)
    assert first is second and parse_text(first) == "hello"
    kept = hub._recent[-1]
    # The history keeps no bytes and no __dict__ per frame.
    assert isinstance(kept, Frame) and not hasattr(kept, "__dict__")
    assert kept.message["text"] == kept
    for task in tasks:
        task.cancel()


def test_a_frame_the_history_let_go_of_is_freed_without_a_garbage_collection() -> None:
    """A frame in a reference cycle (its ASGI message holding the frame itself, say) would
    outlive the history until a full collection: under a burst, thousands of them."""
    hub = AlertHub(5)
    gc.disable()
    try:
        for number in range(HISTORY + 50):
            hub.publish(f"freed-or-not {number}", ALPHA)
        alive = [
            item
            for item in gc.get_objects()
            if type(item) is Frame and item.startswith("freed-or-not ")
        ]
    finally:
        gc.enable()
    assert len(alive) == HISTORY


async def test_an_idle_console_gets_the_frame_written_in_the_publish_pass() -> None:
    hub = AlertHub(5)
    log: list[str] = []
    writer = FakeWriter(log)
    subscription, task = pump(FakeSocket(log), hub, writer)
    await asyncio.sleep(0.01)  # its sender now waits on the empty mailbox
    assert subscription.queue.idle()
    before = FRAMES_DIRECT._value.get()

    hub.publish("one", ALPHA)

    assert log == ["one"] and writer.writes == 1  # written before publish returned
    assert subscription.queue.empty() and subscription.queue.idle()
    assert FRAMES_DIRECT._value.get() == before + 1
    task.cancel()


async def test_a_console_whose_sender_is_not_waiting_gets_it_through_its_mailbox() -> None:
    hub = AlertHub(5)
    log: list[str] = []
    writer = FakeWriter(log)
    subscription = hub.subscribe(ANA, writer)  # signing in: no sender yet (hello, snapshot)

    hub.publish("during sign-in", ALPHA)

    assert writer.writes == 0 and subscription.queue.qsize() == 1


async def test_frames_stay_in_publish_order_whichever_way_each_goes() -> None:
    hub = AlertHub(1000)
    rng = random.Random(12)
    logs: list[list[str]] = [[] for _ in range(6)]
    writers = [FakeWriter(log, refuse=lambda: rng.random() < 0.3) for log in logs]
    pumps = [pump(FakeSocket(log), hub, writer) for log, writer in zip(logs, writers, strict=True)]
    await asyncio.sleep(0)

    sent = [f"frame {n}" for n in range(300)]
    for text in sent:
        hub.publish(text, ALPHA)
        for _ in range(rng.choice((0, 0, 1, 2))):  # senders sometimes run, sometimes not
            await asyncio.sleep(0)
    await asyncio.sleep(0.01)

    assert all(log == sent for log in logs)
    direct = sum(writer.writes for writer in writers)
    assert 0 < direct < 6 * 300  # both ways were taken
    for _, task in pumps:
        task.cancel()


async def test_a_stalled_console_falls_back_to_its_mailbox_and_is_closed_1013() -> None:
    hub = AlertHub(5)
    reading_log: list[str] = []
    stalled_log: list[str] = []
    reading = FakeWriter(reading_log)
    stalled_writer = FakeWriter(stalled_log)
    _, reading_task = pump(FakeSocket(reading_log), hub, reading)
    stalled_socket = FakeSocket(stalled_log, stalled=True)
    _, stalled_task = pump(stalled_socket, hub, stalled_writer)
    await asyncio.sleep(0.01)

    hub.publish("frame 0", ALPHA)  # its socket still takes one
    stalled_writer.refuse = lambda: True  # then its buffer holds bytes it does not read
    for number in range(1, 20):
        hub.publish(f"frame {number}", ALPHA)
        await asyncio.sleep(0)

    await asyncio.wait_for(stalled_task, 2)
    assert stalled_socket.closed == CLOSE_TRY_AGAIN and hub.size == 1
    assert reading_log == [f"frame {n}" for n in range(20)] and reading.writes == 20
    reading_task.cancel()


async def test_a_timed_console_reports_its_direct_writes(monkeypatch: Any) -> None:
    hub = AlertHub(5)
    seen: list[Frame] = []
    monkeypatch.setattr(hub, "written", seen.append)
    log: list[str] = []
    pump(FakeSocket(log), hub, FakeWriter(log))  # the first console is timed
    await asyncio.sleep(0.01)

    hub.publish("one", ALPHA)

    assert seen == ["one"] and seen[0].published is not None


async def test_a_cancelled_sender_is_not_idle() -> None:
    mailbox: Mailbox[str] = Mailbox(2)
    reader = asyncio.create_task(mailbox.get())
    await asyncio.sleep(0)
    assert mailbox.idle()
    reader.cancel()  # its future is cancelled before the task runs again
    assert not mailbox.idle()
    mailbox.offer("queued")
    assert not mailbox.idle()


def test_no_writer_outside_uvicorns_sansio_protocol() -> None:
    class Socket:
        def __init__(self) -> None:
            self.scope = {"type": "websocket", "winback.server_send": print}

    assert direct_writer(cast(WebSocket, Socket())) is None


def test_the_notifier_keeps_each_websockets_server_send() -> None:
    app = create_app(NotifierSettings())
    outermost = app.user_middleware[0].cls  # before anything that wraps a websocket's send
    assert cast(object, outermost) is KeepServerSend
