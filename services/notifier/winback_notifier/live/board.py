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
:data:`REUSE_SECONDS`, but only when the database says nothing a board shows changed since
the read's snapshot (``cases.board_changed_since``: a transaction-id log that triggers keep,
migration 0037), checked after those consoles subscribed. So a reused board is exactly what
a read at their sign-in would have returned: a change committed before it is in the board even
when it is not yet back through Kafka to the hub. The check is coalesced like a read (the
consoles asking while one is under way share the next one, which begins after all of them
subscribed) and costs one probe of an index instead of the board's read, validation and
encoding. The hub's frames published since the read began (``AlertHub.missed``) still follow
the board, as they would follow a read (they carry nothing the board lacks, and the console
drops them by seq). Nothing is reused across an ``agent.changed`` (cards name their owners),
nor once the hub forgot some of those frames. A sign-in crowd thus pays one read per view per
change of its cases, and one check per batch of consoles in between.
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
from winback_notifier.metrics import BOARD_CHECKS, BOARD_READS, BOARD_REUSES, BOARD_SNAPSHOTS
from winback_shared.agents import Agent
from winback_shared.db import Connection
from winback_shared.events.case_events import CaseCard

_CARDS = TypeAdapter(list[CaseCard])
FRAMES_PER_BOARD = 64
"""Distinct cursors (agents, in effect) whose snapshot frame a board keeps: enough for the
agents of one view signing in together, and a bound on the memory a board holds."""
FRAME_CHARACTERS_PER_BOARD = 8 * 2**20
"""What the frames a board keeps may hold in all (characters, bytes: frames are ASCII). A
board of 500 cards is a frame of about 2 MB, and a crowd of different agents of one view
(a shift signing in) would otherwise leave 64 of them kept, 130 MB, for as long as the board
is the view's last read; with ``board_limit`` at its 5,000, ten times that. One frame is always
kept, whatever its size: the consoles of one agent share it."""
CARDS_PER_PAGE = 50
"""Cards read, validated and encoded at a time in a board read: the rows, decoded JSON and
models of a whole board at once came to about ten times its JSON's size (docs/performance.md,
section 34), and a few boards read together lifted the notifier's memory for good."""
REUSE_SECONDS = 1.0
"""How long a board read may be handed to consoles that subscribed after it began, each time
after checking that nothing on boards changed since. Short, so a change the triggers do not see
(a hand edit with the triggers disabled) shows on new consoles at most this much later."""


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
    snapshot: str = ""
    """The read's snapshot of the database (``pg_current_snapshot()``), against which a later
    console's check asks whether anything on boards changed since; empty: never reused."""

    _frames: dict[str, str] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """The frames made so far, by cursor: consoles of one agent share a cursor, so a crowd of
    them shares one frame (at most :data:`FRAMES_PER_BOARD` kept)."""

    def snapshot_frame(self, cursor: str) -> str:
        """The ``snapshot`` frame for one console: the JSON ``Snapshot(...)`` encodes
        (``socket.Snapshot``; non-ASCII escaped), with the cards spliced in rather than encoded
        again, and spliced once per cursor (the cards are most of a frame's size: a megabyte
        copied per console otherwise). At most :data:`FRAMES_PER_BOARD` frames are kept, and no
        more than fit in :data:`FRAME_CHARACTERS_PER_BOARD` (at least one)."""
        frame = self._frames.get(cursor)
        if frame is None:
            frame = (
                f'{{"type":"snapshot","cases":{self.cases_json},'
                f'"total":{self.total},"cursor":{json.dumps(cursor)}}}'
            )
            room = max(1, FRAME_CHARACTERS_PER_BOARD // len(frame))
            if len(self._frames) < min(FRAMES_PER_BOARD, room):
                self._frames[cursor] = frame
        return frame


async def read_board(conn: Connection, agent: Agent, limit: int) -> SharedBoard:
    """The most urgent ``limit`` cases ``agent`` sees, how many there are, and the read's
    moment, in one repeatable-read transaction (its first statement fixes what it sees)."""
    pages: list[str] = []
    total = 0
    async with conn.transaction(isolation="repeatable_read"):
        read_at, snapshot = await cases.board_snapshot(conn)
        async for page in cases.card_pages(conn, agent, limit=limit, page_size=CARDS_PER_PAGE):
            pages.append(encode_cards(page))
            total += len(page)
        if total == limit:
            total = max(total, await cases.count_cards(conn, agent))
    return SharedBoard(join_cards(pages), total, read_at, snapshot=snapshot)


def encode_board(
    cards: list[CaseCard], total: int, read_at: datetime, snapshot: str = ""
) -> SharedBoard:
    """The cards encoded once, as ``Snapshot.cases`` would encode them but with every character
    past ASCII escaped (``\\u00e9``): the same JSON to any reader, and a text whose UTF-8
    encoding, which the server makes again for every console it sends the frame to, is a
    copy. A single ``é`` in a comment otherwise makes Python encode the whole frame character
    by character: 1.6 ms instead of 0.07 ms a megabyte, per console."""
    return SharedBoard(join_cards([encode_cards(cards)]), total, read_at, snapshot=snapshot)


def encode_cards(cards: list[CaseCard]) -> str:
    """Some cards as :func:`encode_board` encodes them, without the array's brackets: the
    pieces :func:`join_cards` makes one board of, each encoded while only its own cards are
    held in memory (:data:`CARDS_PER_PAGE`)."""
    return _CARDS.dump_json(cards, ensure_ascii=True)[1:-1].decode()


def join_cards(pieces: list[str]) -> str:
    """The JSON array of the cards of every piece, in order (an empty piece adds nothing)."""
    return "[" + ",".join(piece for piece in pieces if piece) + "]"


Acquire = Callable[[], AbstractAsyncContextManager[Any]]
"""How a read gets its database connection (``pool.acquire``)."""
Changed = Callable[[Connection, str], Awaitable[bool]]
"""Whether anything on boards changed since a read's snapshot (``cases.board_changed_since``)."""


class Live(Protocol):
    """What reuse needs of the hub (``live.hub.AlertHub``)."""

    @property
    def published(self) -> int: ...

    @property
    def agent_changes(self) -> int: ...

    def replayable(self, after: int) -> bool: ...


@dataclass(eq=False)
class _Read:
    """One read (or check of a read just done), waiting or under way; ``open`` while it still
    takes consoles, ``reuse`` while all of them accept a board read before they asked."""

    task: asyncio.Task[tuple[SharedBoard, bool]] | None = None
    open: bool = True
    reuse: bool = True


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

    With ``live`` (the hub), a read that began less than ``reuse_seconds`` ago is handed out
    again (``reused`` counts those) when ``changed`` says nothing on boards changed since its
    snapshot (``checks`` counts those questions, one per batch of consoles) and ``live`` can
    still replay what was published since it began; without, every board is read after its
    console asked.
    """

    def __init__(
        self,
        acquire: Acquire,
        limit: int,
        read: Callable[[Connection, Agent, int], Awaitable[SharedBoard]] = read_board,
        live: Live | None = None,
        reuse_seconds: float = REUSE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        changed: Changed = cases.board_changed_since,
    ) -> None:
        self._acquire = acquire
        self._limit = limit
        self._read = read
        self._changed = changed
        self._live = live
        self._reuse_seconds = reuse_seconds
        self._clock = clock
        self._latest: dict[frozenset[str] | None, _Read] = {}
        self._done: dict[frozenset[str] | None, _Done] = {}
        self.reads = 0
        self.served = 0
        self.reused = 0
        self.checks = 0

    async def board(self, agent: Agent, *, reuse: bool = True) -> SharedBoard:
        """The board for ``agent`` as of a moment after this call (so after the console's
        subscription): a read begun after it, or, when ``reuse`` allows, a read just done that
        a check begun after it found unchanged. Its ``published`` says which frames the console
        must be sent after it (``AlertHub.missed``)."""
        key = visibility(agent)
        pending = self._latest.get(key)
        if pending is None or not pending.open:
            under_way = None if pending is None else pending.task
            pending = self._latest[key] = _Read()
            pending.task = asyncio.create_task(self._run(key, pending, agent, under_way))
            # Every console of a read may have left before it failed: nobody else looks.
            pending.task.add_done_callback(_retrieve)
        pending.reuse = pending.reuse and reuse
        assert pending.task is not None
        board, reused = await asyncio.shield(pending.task)
        self.served += 1
        BOARD_SNAPSHOTS.inc()
        if reused:
            self.reused += 1
            BOARD_REUSES.inc()
        return board

    def _reusable(self, key: frozenset[str] | None) -> _Done | None:
        """The view's last read, if it may still be handed out once checked (else forgotten)."""
        done = self._done.get(key)
        if done is None or self._live is None:
            return None
        if (
            self._reuse_seconds > 0
            and done.board.snapshot
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
        under_way: asyncio.Task[tuple[SharedBoard, bool]] | None,
    ) -> tuple[SharedBoard, bool]:
        try:
            if under_way is not None:
                await asyncio.wait({under_way})  # its outcome is its consoles' business
            async with self._acquire() as conn:
                # The check's or the read's snapshot of the database is taken from here on:
                # later consoles start (or wait for) the next one.
                pending.open = False
                done = self._reusable(key) if pending.reuse else None
                if done is not None:
                    self.checks += 1
                    BOARD_CHECKS.inc()
                    if not await self._changed(conn, done.board.snapshot):
                        return done.board, True
                    if self._done.get(key) is done:
                        del self._done[key]
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
            return board, False
        finally:
            pending.open = False
            if self._latest.get(key) is pending:
                del self._latest[key]


def _retrieve(task: asyncio.Task[tuple[SharedBoard, bool]]) -> None:
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
