"""An agent console held open through every fault: it reconnects as the browser page does.

It authenticates the way the console page does (the token in the first message, then ``hello``
and ``snapshot``), and on reconnecting sends back the cursor of its last snapshot or catch-up,
as the page does, to get ``catchup`` pages of everything changed meanwhile. It notes every case
it is shown, in a snapshot, a catch-up page or live, with the wall-clock time it first saw it.
"Never shown" in the tally means: not in any frame this console received over the whole run,
reconnects included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

RECONNECT_DELAY_SECONDS = 0.5


@dataclass
class Console:
    """What one console saw: case id -> response id, first sight, and live openings."""

    ws_url: str
    token: str
    seen: dict[int, float] = field(default_factory=dict)
    responses: dict[int, str] = field(default_factory=dict)
    cases_of_response: dict[str, set[int]] = field(default_factory=dict)
    live_openings: list[tuple[float, int]] = field(default_factory=list)
    """(wall-clock arrival, case id) of each live ``case.opened``, for recovery times."""
    connections: int = 0
    cursor: str | None = None
    """The latest cursor the notifier gave (snapshot or last catch-up page), sent on reconnect."""
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the first connection is up (the load starts after that)."""

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until ``stop``, reconnecting after any close or refusal."""
        while not stop.is_set():
            with contextlib.suppress(OSError, WebSocketException, TimeoutError, ValueError):
                await self._session(stop)
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RECONNECT_DELAY_SECONDS)

    async def _session(self, stop: asyncio.Event) -> None:
        async with connect(self.ws_url, max_size=None, open_timeout=5, proxy=None) as socket:
            auth = {"type": "auth", "token": self.token, "cursor": self.cursor}
            await socket.send(json.dumps(auth))
            self.connections += 1
            self.connected.set()
            stopping = asyncio.create_task(stop.wait())
            try:
                while True:
                    receiving = asyncio.create_task(socket.recv())
                    done, _ = await asyncio.wait(
                        {receiving, stopping}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if receiving not in done:
                        receiving.cancel()
                        return
                    self.note(json.loads(receiving.result()), time.time())
            finally:
                stopping.cancel()

    def note(self, message: dict[str, Any], at: float) -> None:
        """Record the cases a frame shows."""
        kind = message.get("type")
        if kind in ("snapshot", "catchup"):
            cards = message.get("cases", [])
            if message.get("cursor"):
                self.cursor = str(message["cursor"])
        elif isinstance(message.get("case"), dict):
            cards = [message["case"]]
            if kind == "case.opened":
                self.live_openings.append((at, int(message["case"]["case_id"])))
        elif kind == "cases.changed":  # several case.changed in one frame (re-codings)
            changes = message.get("changes", [])
            cards = [c["case"] for c in changes if isinstance(c, dict) and "case" in c]
        else:
            return
        for card in cards:
            case_id = int(card["case_id"])
            response_id = str(card["response_id"])
            self.seen.setdefault(case_id, at)
            self.responses[case_id] = response_id
            self.cases_of_response.setdefault(response_id, set()).add(case_id)
