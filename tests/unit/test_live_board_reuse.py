"""A board read just done, handed to consoles that subscribed after it began (``live.board``).

Such a console gets that board and then every frame published since the read began that its
agent may see (``AlertHub.missed``), so a case committed after the read's snapshot still reaches
it; nothing is reused once the hub has forgotten some of those frames, after an
``agent.changed``, past ``REUSE_SECONDS``, or for a resync (whose filter changed since).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from prometheus_client import REGISTRY

from winback_notifier.live.board import BoardReads, SharedBoard
from winback_notifier.live.hub import HISTORY, PONG, TIMED_EVERY, AlertHub, Frame
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
    """Counts reads; each board names the read that made it."""

    def __init__(self) -> None:
        self.count = 0

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        yield object()

    async def read(self, _conn: Any, _agent: Agent, _limit: int) -> SharedBoard:
        self.count += 1
        return SharedBoard(json.dumps([self.count]), 1, NOW)


def reads_with(hub: AlertHub) -> tuple[BoardReads, Reads, Clock]:
    clock, database = Clock(), Reads()
    return BoardReads(database.acquire, 500, database.read, live=hub, clock=clock), database, clock


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


async def test_no_reuse_at_all_when_its_age_is_zero_the_notifier_s_default() -> None:
    hub = AlertHub(10)
    clock, database = Clock(), Reads()
    boards = BoardReads(
        database.acquire, 500, database.read, live=hub, clock=clock, reuse_seconds=0
    )
    await boards.board(ANA)
    await boards.board(ANA)  # the same instant: still read again

    assert database.count == 2 and boards.reused == 0
    assert NotifierSettings.model_fields["board_reuse_seconds"].default == 0
