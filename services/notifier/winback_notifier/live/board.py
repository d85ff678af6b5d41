"""The board a console gets on sign-in, read and encoded once for every console that shares it.

A thousand consoles signing in at once each used to read their own board (up to
``board_limit`` cards from PostgreSQL, validated and encoded card by card): the notifier spent
its sign-ins decoding the same rows a thousand times. Consoles that see the same cases (every
queue, or the same set of queues) now share reads: at most one read per view is under way,
and the consoles asking meanwhile share the next one (a console alone waits for nobody). The
cards are encoded to JSON once per read, and each console's ``snapshot`` frame is that text with
its own ``total`` and ``cursor``.

Why sharing never loses a case: a console subscribes to the live stream *before* it asks for
its board, and a read takes joiners only until its transaction's first statement (the moment
its snapshot of the database is taken). So every console of a read was subscribed before the
read saw the database: a case committed after that arrives live, one committed before is in
the board. A read already under way is never joined; the console waits for the next one.

A read belongs to no console: one that leaves while waiting does not cancel the others'.

A read just done is also handed to consoles that subscribed *after* it began, for
:data:`REUSE_SECONDS`, when the notifier's hub still keeps every frame published since it began
(``AlertHub.missed``): such a console gets that board and then those frames, so what it misses
in the board arrives right after it, as it would live. A case committed after the read's
snapshot is published after the read began (the hub's count is taken before its first
statement), so it is among them or in the console's own queue. Nothing is reused across an
``agent.changed`` (cards name their owners). A sign-in crowd thus pays one read per view and
per :data:`REUSE_SECONDS`, not one per read's duration: a thousand consoles signing in took one
read each ~230 ms (13 consoles a read, each waiting for the next read to begin and end).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import TypeAdapter

from winback_notifier.cases import service as cases
from winback_notifier.metrics import BOARD_READS, BOARD_REUSES, BOARD_SNAPSHOTS
from winback_shared.agents import Agent
from winback_shared.db import Connection
from winback_shared.events.case_events import CaseCard

_CARDS = TypeAdapter(list[CaseCard])
REUSE_SECONDS = 1.0
"""How long a board read may be handed to consoles that subscribed after it began. Short: a
change that never reaches the hub (a hand edit in SQL) shows on new consoles this much later."""


def visibility(agent: Agent) -> frozenset[str] | None:
    """Which cases a board shows: those of every queue (``None``), or of exactly these queues.

    Cards do not depend on who reads them (only on the case), so two agents with the same
    visibility get the same board, whoever they are.
    """
    return None if agent.sees_all_queues else agent.queues


@dataclass(frozen=True)
class SharedBoard:
    """One read of a board: the cards already encoded, how many there are, and when."""

    cases_json: str
    """The JSON array of the cards, most urgent first (at most ``board_limit``)."""
    total: int
    read_at: datetime
    """The database's clock at the read: the consoles' cursors are computed from it."""
    published: int = 0
    """How many frames the hub had published when the read began: a console that subscribed
    later is sent the ones after it (``AlertHub.missed``) right after this board."""

    def snapshot_frame(self, cursor: str) -> str:
        """The ``snapshot`` frame for one console: the same text as ``Snapshot(...)`` encodes
        (``socket.Snapshot``), with the cards spliced in rather than encoded again."""
        return (
            f'{{"type":"snapshot","cases":{self.cases_json},'
            f'"total":{self.total},"cursor":{json.dumps(cursor)}}}'
        )


async def read_board(conn: Connection, agent: Agent, limit: int) -> SharedBoard:
    """The most urgent ``limit`` cases ``agent`` sees, how many there are, and the read's
    moment, in one repeatable-read transaction (its first statement fixes what it sees)."""
    async with conn.transaction(isolation="repeatable_read"):
        read_at = await cases.board_read_at(conn)
        board = await cases.list_cards(conn, agent, limit=limit)
        total = len(board)
        if total == limit:
            total = max(total, await cases.count_cards(conn, agent))
    return encode_board(board, total, read_at)


def encode_board(cards: list[CaseCard], total: int, read_at: datetime) -> SharedBoard:
    """The cards encoded once, as ``Snapshot.cases`` would encode them."""
    return SharedBoard(_CARDS.dump_json(cards).decode(), total, read_at)


Acquire = Callable[[], AbstractAsyncContextManager[Any]]
"""How a read gets its database connection (``pool.acquire``)."""


class Live(Protocol):
    """What reuse needs of the hub (``live.hub.AlertHub``)."""

    @property
    def published(self) -> int: ...

    @property
    def agent_changes(self) -> int: ...

    def replayable(self, after: int) -> bool: ...


@dataclass(eq=False)
class _Read:
    """One read, waiting or under way; ``open`` while it still takes consoles."""

    task: asyncio.Task[SharedBoard] | None = None
    open: bool = True


@dataclass(frozen=True)
class _Done:
    """A read that ended, with what reusing it depends on."""

    board: SharedBoard
    began: float
    agent_changes: int


class BoardReads:
    """Coalesces concurrent sign-ins' board reads per :func:`visibility`.

    At most one read per view is under way; the consoles that ask meanwhile share the next one,
    which starts when it ends. A console alone waits for no one; a crowd pays one read per
    read's duration instead of one per console. ``reads`` and ``served`` count the reads made
    and the boards handed out (``/metrics`` has them summed over the process as
    ``winback_notifier_board_reads_total`` and ``winback_notifier_board_snapshots_total``).

    With ``live`` (the hub), a read that ended less than ``reuse_seconds`` ago is handed out
    again (``reused`` counts those) while ``live`` can still replay what was published since
    it began; without, every board is read after its console asked.
    """

    def __init__(
        self,
        acquire: Acquire,
        limit: int,
        read: Callable[[Connection, Agent, int], Awaitable[SharedBoard]] = read_board,
        live: Live | None = None,
        reuse_seconds: float = REUSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._acquire = acquire
        self._limit = limit
        self._read = read
        self._live = live
        self._reuse_seconds = reuse_seconds
        self._clock = clock
        self._latest: dict[frozenset[str] | None, _Read] = {}
        self._done: dict[frozenset[str] | None, _Done] = {}
        self.reads = 0
        self.served = 0
        self.reused = 0

    async def board(self, agent: Agent, *, reuse: bool = True) -> SharedBoard:
        """The board for ``agent``: a read begun after this call (so after the console's
        subscription), the view's read not yet started or a new one; or, when ``reuse`` allows,
        a read just done, whose ``published`` says which frames the console must be sent after
        it (``AlertHub.missed``)."""
        key = visibility(agent)
        if reuse and (done := self._reusable(key)) is not None:
            self.reused += 1
            self.served += 1
            BOARD_REUSES.inc()
            BOARD_SNAPSHOTS.inc()
            return done.board
        pending = self._latest.get(key)
        if pending is None or not pending.open:
            under_way = None if pending is None else pending.task
            pending = self._latest[key] = _Read()
            pending.task = asyncio.create_task(self._run(key, pending, agent, under_way))
            # Every console of a read may have left before it failed: nobody else looks.
            pending.task.add_done_callback(_retrieve)
        assert pending.task is not None
        board = await asyncio.shield(pending.task)
        self.served += 1
        BOARD_SNAPSHOTS.inc()
        return board

    def _reusable(self, key: frozenset[str] | None) -> _Done | None:
        """The view's last read, if it may still be handed out (else forgotten)."""
        done = self._done.get(key)
        if done is None or self._live is None:
            return None
        if (
            self._reuse_seconds > 0
            and self._clock() - done.began <= self._reuse_seconds
            and done.agent_changes == self._live.agent_changes
            and self._live.replayable(done.board.published)
        ):
            return done
        del self._done[key]
        return None

    async def _run(
        self,
        key: frozenset[str] | None,
        pending: _Read,
        agent: Agent,
        under_way: asyncio.Task[SharedBoard] | None,
    ) -> SharedBoard:
        try:
            if under_way is not None:
                await asyncio.wait({under_way})  # its outcome is its consoles' business
            async with self._acquire() as conn:
                # The snapshot of the database is taken from here on: later consoles start
                # (or wait for) the next read.
                pending.open = False
                self.reads += 1
                BOARD_READS.inc()
                began = self._clock()
                live = self._live
                published = 0 if live is None else live.published
                changes = 0 if live is None else live.agent_changes
                board = await self._read(conn, agent, self._limit)
            board = dataclasses.replace(board, published=published)
            if live is not None:
                for view in [
                    v
                    for v, d in self._done.items()
                    if self._clock() - d.began > self._reuse_seconds
                ]:
                    del self._done[view]  # no stale board kept for a view nobody asks for
                self._done[key] = _Done(board, began, changes)
            return board
        finally:
            pending.open = False
            if self._latest.get(key) is pending:
                del self._latest[key]


def _retrieve(task: asyncio.Task[SharedBoard]) -> None:
    if not task.cancelled():
        task.exception()


HelloKey = tuple[str, str, frozenset[str], bool, bool]


def hello_key(agent: Agent) -> HelloKey:
    """Everything of the agent a ``hello`` shows (``agents.profile.build_profile``)."""
    return (agent.name, agent.role.value, agent.queues, agent.sees_all_queues, agent.may_reassign)


class HelloFrames:
    """The ``hello`` frame encoded once per distinct profile, not once per console.

    ``encode`` builds the frame for an agent (from the notifier's settings and taxonomy, fixed
    for this cache's life). At most ``size`` profiles are kept; past that the cache starts
    over, which costs one encoding each.
    """

    def __init__(self, encode: Callable[[Agent], str], size: int = 1024) -> None:
        self._encode = encode
        self._size = size
        self._frames: dict[HelloKey, str] = {}

    def frame(self, agent: Agent) -> str:
        """The ``hello`` text for ``agent``."""
        key = hello_key(agent)
        text = self._frames.get(key)
        if text is None:
            if len(self._frames) >= self._size:
                self._frames.clear()
            text = self._frames[key] = self._encode(agent)
        return text
