"""A board read just done, handed to consoles that subscribed after it began (``live.board``).

Only when the database, asked after they subscribed, says nothing on boards changed since the
read's snapshot (one check per batch of consoles). Such a console gets that board and then every
frame published since the read began that its agent may see (``AlertHub.missed``); nothing is
reused once the hub has forgotten some of those frames, after an ``agent.changed``, past
``REUSE_SECONDS``, or for a resync (whose filter changed since).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY

from winback_notifier.live.board import BoardReads, SharedBoard
from winback_notifier.live.hub import (
    HISTORY,
    HISTORY_CHARACTERS,
    PONG,
    TIMED_EVERY,
    AlertHub,
    Frame,
)
from winback_notifier.settings import NotifierSettings
from winback_shared.agents import Agent, Role

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
ANA = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"alpha"}))
BEN = Agent(id=2, name="ben", role=Role.AGENT, queues=frozenset({"beta"}))
ALPHA, BETA = frozenset({"alpha"}), frozenset({"beta"})


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Reads:
    """Counts reads and checks; each board names the read that made it (its snapshot too), and
    ``changed_after`` names the snapshots a change committed after."""

    def __init__(self) -> None:
        self.count = 0
        self.checked: list[str] = []
        self.changed_after: set[str] = set()

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        yield object()

    async def read(self, _conn: Any, _agent: Agent, _limit: int) -> SharedBoard:
        self.count += 1
        return SharedBoard(json.dumps([self.count]), 1, NOW, snapshot=f"read {self.count}")

    async def changed(self, _conn: Any, snapshot: str) -> bool:
        self.checked.append(snapshot)
        return snapshot in self.changed_after


def reads_with(hub: AlertHub) -> tuple[BoardReads, Reads, Clock]:
    clock, database = Clock(), Reads()
    boards = BoardReads(
        database.acquire, 500, database.read, live=hub, clock=clock, changed=database.changed
    )
    return boards, database, clock


async def test_a_read_just_done_serves_the_next_consoles_with_the_frames_they_missed() -> None:
    hub = AlertHub(10)
    boards, database, clock = reads_with(hub)
    first = await boards.board(ANA)
    hub.publish("opened in alpha", ALPHA)  # committed after that read's snapshot
    hub.publish("opened in beta", BETA)
    clock.now += 0.5
    late = hub.subscribe(ANA)
    hub.publish("after the subscription", ALPHA)  # this one comes through the queue

    board = await boards.board(ANA)

    assert board is first and database.count == 1 and (boards.reused, boards.served) == (1, 2)
    assert hub.missed(late, board.published) == ["opened in alpha"]  # never beta's case
    assert late.queue.get_nowait() == "after the subscription"


async def test_a_console_subscribed_before_the_read_misses_nothing_to_replay() -> None:
    hub = AlertHub(10)
    boards, _, _ = reads_with(hub)
    early = hub.subscribe(ANA)
    hub.publish("in the queue, and maybe in the board too", ALPHA)

    board = await boards.board(ANA)

    assert hub.missed(early, board.published) == []


async def test_no_reuse_past_its_age_after_an_agent_change_or_for_a_resync() -> None:
    hub = AlertHub(10)
    boards, database, clock = reads_with(hub)
    await boards.board(ANA)
    clock.now += 1.01
    await boards.board(ANA)  # too old: read again
    hub.agent_changed(BEN.id)
    await boards.board(ANA)  # cards name their owners: read again
    await boards.board(ANA, reuse=False)  # a resync: its filter changed after the last read

    assert database.count == 4 and boards.reused == 0
    await boards.board(ANA)
    assert database.count == 4 and boards.reused == 1


async def test_no_reuse_once_the_hub_forgot_frames_published_since_the_read() -> None:
    hub = AlertHub(10)
    boards, database, _ = reads_with(hub)
    board = await boards.board(ANA)
    for number in range(HISTORY + 1):
        hub.publish(f"frame {number}", BETA)
    late = hub.subscribe(ANA)

    assert hub.missed(late, board.published) is None
    assert await boards.board(ANA) is not board and database.count == 2


async def test_other_views_never_share_a_board() -> None:
    hub = AlertHub(10)
    boards, database, _ = reads_with(hub)

    assert await boards.board(ANA) is not await boards.board(BEN)
    assert database.count == 2


def test_the_hub_keeps_its_history_bounded_and_numbers_every_frame() -> None:
    hub = AlertHub(10)
    late_start = hub.published
    for number in range(HISTORY * 2):
        hub.publish(f"frame {number}", ALPHA)
    console = hub.subscribe(ANA)

    assert hub.published == HISTORY * 2 and console.since == HISTORY * 2
    assert not hub.replayable(late_start) and hub.replayable(HISTORY)
    assert hub.missed(console, HISTORY * 2 - 1) == [f"frame {HISTORY * 2 - 1}"]
    assert len(hub._recent) == HISTORY  # frames (and their publish moments) kept no longer


def test_the_history_keeps_a_bounded_amount_of_text_and_still_numbers_every_frame() -> None:
    """Batches of re-codings are large: 512 of them held tens of MB. Past the text budget the
    oldest are forgotten; what is kept still replays by number, what is not says so."""
    hub = AlertHub(10)
    size = HISTORY_CHARACTERS // 8
    for number in range(20):
        hub.publish(f"{number:02d}" + "x" * (size - 2), ALPHA)
    console = hub.subscribe(ANA)

    assert len(hub._recent) == 8 and hub.published == 20
    assert hub.replayable(12) and not hub.replayable(11)
    assert [frame[:2] for frame in hub.missed(console, 17) or []] == ["17", "18", "19"]
    assert hub.missed(console, 11) is None


def test_a_batch_counts_its_messages_and_the_newest_entry_is_kept_whatever_its_size() -> None:
    hub = AlertHub(10)
    hub.publish("small", ALPHA)
    half = "y" * (HISTORY_CHARACTERS // 2)
    hub.publish_batch([(half, ALPHA), ("z", BETA)], "".join)  # twice its text: over the budget

    assert len(hub._recent) == 1 and hub._recent_characters == 2 * (len(half) + 1)
    console = hub.subscribe(ANA)
    assert hub.missed(console, 1) == [half]  # ANA sees ALPHA's message only
    assert hub.missed(console, 0) is None


def test_each_write_of_a_published_frame_is_observed_once_per_console() -> None:
    def observed() -> float:
        return REGISTRY.get_sample_value("winback_notifier_frame_written_seconds_count") or 0.0

    hub = AlertHub(10)
    first, second = hub.subscribe(ANA), hub.subscribe(ANA)
    hub.publish('{"type":"case.opened"}', ALPHA)
    before = observed()

    for console in (first, second):
        frame = console.queue.get_nowait()
        assert isinstance(frame, Frame)
        hub.written(frame)
    hub.written(PONG)  # never published: not a fan-out

    assert observed() == before + 2


def test_a_sample_of_consoles_is_timed_the_first_always() -> None:
    hub = AlertHub(10)
    consoles = [hub.subscribe(ANA) for _ in range(TIMED_EVERY * 4)]

    assert consoles[0].timed
    assert sum(console.timed for console in consoles) == 4


async def test_no_reuse_at_all_when_its_age_is_zero() -> None:
    hub = AlertHub(10)
    clock, database = Clock(), Reads()
    boards = BoardReads(
        database.acquire,
        500,
        database.read,
        live=hub,
        clock=clock,
        reuse_seconds=0,
        changed=database.changed,
    )
    await boards.board(ANA)
    await boards.board(ANA)  # the same instant: still read again

    assert database.count == 2 and boards.reused == 0 and database.checked == []


def test_reuse_is_on_by_default_now_that_it_is_checked() -> None:
    assert NotifierSettings.model_fields["board_reuse_seconds"].default == 1.0


async def test_a_change_committed_since_the_read_means_a_new_read() -> None:
    hub = AlertHub(10)
    boards, database, clock = reads_with(hub)
    first = await boards.board(ANA)
    database.changed_after.add(first.snapshot)  # committed, not yet through Kafka to the hub
    clock.now += 0.2

    second = await boards.board(ANA)

    assert second is not first and database.count == 2 and boards.reused == 0
    assert database.checked == [first.snapshot] and boards.checks == 1
    third = await boards.board(ANA)  # nothing changed since the second read: that one serves
    assert third is second and database.checked == [first.snapshot, second.snapshot]
    assert boards.reused == 1 and database.count == 2


async def test_consoles_asking_together_share_one_check() -> None:
    hub = AlertHub(10)
    boards, database, _ = reads_with(hub)
    first = await boards.board(ANA)

    together = await asyncio.gather(*(boards.board(ANA) for _ in range(20)))

    assert all(board is first for board in together)
    assert database.checked == [first.snapshot] and boards.reused == 20


async def test_a_check_under_way_takes_no_more_consoles() -> None:
    """A console that asks once a check has its connection (its snapshot may be older than the
    console's subscription) waits for the next check."""
    hub = AlertHub(10)
    boards, database, _ = reads_with(hub)
    first = await boards.board(ANA)
    release = asyncio.Event()
    checking = asyncio.Event()

    async def slow_changed(conn: Any, snapshot: str) -> bool:
        checking.set()
        await release.wait()
        return await database.changed(conn, snapshot)

    boards._changed = slow_changed
    early = asyncio.create_task(boards.board(ANA))
    await checking.wait()
    late = asyncio.create_task(boards.board(ANA))
    await asyncio.sleep(0)
    release.set()

    assert await early is first and await late is first
    assert database.checked == [first.snapshot, first.snapshot]


async def test_a_board_without_its_snapshot_is_never_reused() -> None:
    hub = AlertHub(10)
    database = Reads()

    async def read(conn: Any, agent: Agent, limit: int) -> SharedBoard:
        board = await database.read(conn, agent, limit)
        return SharedBoard(board.cases_json, board.total, board.read_at)

    boards = BoardReads(database.acquire, 500, read, live=hub, changed=database.changed)
    await boards.board(ANA)
    await boards.board(ANA)

    assert database.count == 2 and database.checked == []


async def test_a_resync_asking_with_others_makes_their_shared_turn_a_read() -> None:
    """A resync's filter changed after any earlier read: the consoles it waits with get the
    fresh read it needs, not a check of the last one."""
    hub = AlertHub(10)
    boards, database, _ = reads_with(hub)
    first = await boards.board(ANA)

    together = await asyncio.gather(boards.board(ANA), boards.board(ANA, reuse=False))

    assert all(board is not first and board is together[0] for board in together)
    assert database.count == 2 and database.checked == [] and boards.reused == 0
