"""Sign-in frames shared by the consoles signing in together (``live.board``).

A crowd of consoles with the same view shares one board read and one encoding of its cards;
consoles with another view never get that board; and a read already under way is never joined
(a console joining it might have subscribed after the read saw the database, and would miss a
case committed in between).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from winback_notifier.agents.profile import build_profile
from winback_notifier.live import board as board_module
from winback_notifier.live.board import (
    FRAMES_PER_BOARD,
    BoardReads,
    HelloFrames,
    SharedBoard,
    encode_board,
    visibility,
)
from winback_notifier.live.cursor import Cursor
from winback_notifier.live.socket import Hello, Snapshot
from winback_notifier.settings import NotifierSettings
from winback_shared.agents import Agent, Role
from winback_shared.case_vocabulary import CaseStatus
from winback_shared.events.case_events import CaseCard
from winback_shared.taxonomy import load_taxonomy

NOW = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
ANA = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"alpha"}))
AL = Agent(id=2, name="al", role=Role.AGENT, queues=frozenset({"alpha"}))
BEN = Agent(id=3, name="ben", role=Role.AGENT, queues=frozenset({"beta"}))
SUE = Agent(id=4, name="sue", role=Role.SUPERVISOR, queues=frozenset({"alpha"}))


def card(case_id: int, queue: str) -> CaseCard:
    return CaseCard.model_validate(
        {
            "case_id": case_id,
            "seq": 1,
            "status": CaseStatus.OPEN,
            "priority": 1,
            "queue": queue,
            "source": "survey",
            "response_id": f"r-{case_id}",
            "customer": {"id": "c-1", "name": "Dana \u00e9 \u201cquoted\u201d"},
            "interaction": {},
            "scores": [],
            "reasons": [],
            "comment": 'He said "no" \\ twice\n',
            "follow_up_requested": False,
            "submitted_at": None,
            "received_at": NOW,
            "opened_at": NOW,
        }
    )


CASES = [card(1, "alpha"), card(2, "beta")]


class FakeDatabase:
    """Connections handed out only when the test opens the gate; reads are recorded."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.acquired = 0
        self.connected = asyncio.Event()
        self.read_for: list[str] = []

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        await self.gate.wait()
        self.acquired += 1
        self.connected.set()
        yield object()

    async def read(self, _conn: Any, agent: Agent, _limit: int) -> SharedBoard:
        self.read_for.append(agent.name)
        await asyncio.sleep(0)
        seen = [c for c in CASES if agent.sees_all_queues or c.queue in agent.queues]
        return SharedBoard(json.dumps([c.model_dump(mode="json") for c in seen]), len(seen), NOW)


def ids(board: SharedBoard) -> list[int]:
    return [c["case_id"] for c in json.loads(board.cases_json)]


async def test_the_spliced_snapshot_is_the_text_the_snapshot_model_encodes() -> None:
    async def read_all(_conn: Any, _agent: Agent, _limit: int) -> SharedBoard:
        return encode_board(CASES, 7, NOW)

    db = FakeDatabase()
    db.gate.set()
    board = await BoardReads(db.acquire, 500, read_all).board(ANA)
    cursor = Cursor.after_read(NOW, ANA).encode()

    spliced = board.snapshot_frame(cursor)

    model = Snapshot(cases=CASES, total=7, cursor=cursor)
    assert spliced == model.model_dump_json(ensure_ascii=True)
    assert json.loads(spliced) == json.loads(model.model_dump_json())  # the same to a reader


def test_the_snapshot_is_ascii_so_each_console_s_utf8_encoding_is_a_copy() -> None:
    frame = encode_board(CASES, 2, NOW).snapshot_frame("cursor")

    assert frame.isascii() and "Dana \\u00e9 \\u201cquoted\\u201d" in frame
    assert json.loads(frame)["cases"][0]["customer"]["name"] == "Dana \u00e9 \u201cquoted\u201d"


def test_consoles_of_one_agent_share_one_snapshot_frame_others_get_their_own() -> None:
    board = encode_board(CASES, 7, NOW)
    ana, ben = Cursor.after_read(NOW, ANA).encode(), Cursor.after_read(NOW, BEN).encode()

    first, again, other = (
        board.snapshot_frame(ana),
        board.snapshot_frame(ana),
        board.snapshot_frame(ben),
    )

    assert again is first and other is not first
    assert json.loads(other)["cursor"] == ben and json.loads(first)["cursor"] == ana
    assert other == Snapshot(cases=CASES, total=7, cursor=ben).model_dump_json(ensure_ascii=True)


def test_a_board_keeps_a_bounded_number_of_frames() -> None:
    board = encode_board(CASES, 7, NOW)
    for number in range(FRAMES_PER_BOARD * 2):
        assert json.loads(board.snapshot_frame(f"cursor {number}"))["cursor"] == f"cursor {number}"

    assert len(board._frames) == FRAMES_PER_BOARD


def test_a_board_keeps_frames_only_up_to_its_budget_of_characters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    board = encode_board(CASES, 7, NOW)
    size = len(board.snapshot_frame("cursor 00"))  # cursors of one length: frames of one size
    monkeypatch.setattr(board_module, "FRAME_CHARACTERS_PER_BOARD", 4 * size + size // 2)
    board = encode_board(CASES, 7, NOW)

    frames = [board.snapshot_frame(f"cursor {number:02}") for number in range(20)]

    assert [json.loads(frame)["cursor"] for frame in frames] == [
        f"cursor {number:02}" for number in range(20)
    ]
    assert list(board._frames) == [f"cursor {number:02}" for number in range(4)]
    assert board.snapshot_frame("cursor 00") is frames[0]  # a kept one is shared


def test_a_frame_larger_than_the_budget_is_still_kept_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(board_module, "FRAME_CHARACTERS_PER_BOARD", 100)
    board = encode_board(CASES, 7, NOW)

    first = board.snapshot_frame("ana")
    board.snapshot_frame("ben")

    assert len(first) > 100
    assert list(board._frames) == ["ana"] and board.snapshot_frame("ana") is first


def test_views_are_the_same_only_for_the_same_cases_seen() -> None:
    assert visibility(ANA) == visibility(AL)
    assert visibility(ANA) != visibility(BEN)
    assert visibility(SUE) == visibility(Agent(5, "root", Role.ADMIN)) != visibility(ANA)
    both = Agent(6, "x", Role.AGENT, frozenset({"a", "b"}))
    assert visibility(both) != visibility(Agent(7, "y", Role.AGENT, frozenset({"a\x1fb"})))


async def test_a_crowd_with_one_view_shares_one_read_and_other_views_get_their_own() -> None:
    db = FakeDatabase()
    reads = BoardReads(db.acquire, 500, db.read)
    crowd = [asyncio.create_task(reads.board(agent)) for agent in (ANA, AL, ANA, BEN, SUE)]
    await asyncio.sleep(0.01)
    db.gate.set()

    boards = await asyncio.gather(*crowd)

    assert sorted(db.read_for) == ["ana", "ben", "sue"]
    assert boards[0] is boards[1] is boards[2]
    assert ids(boards[0]) == [1] and ids(boards[3]) == [2] and ids(boards[4]) == [1, 2]
    assert (reads.reads, reads.served) == (3, 5)


async def test_consoles_arriving_while_a_read_is_under_way_share_the_next_one() -> None:
    db = FakeDatabase()
    db.gate.set()
    release = asyncio.Event()

    async def slow_read(conn: Any, agent: Agent, limit: int) -> SharedBoard:
        if not db.read_for:
            await release.wait()
        return await db.read(conn, agent, limit)

    reads = BoardReads(db.acquire, 500, slow_read)
    first = asyncio.create_task(reads.board(ANA))
    await db.connected.wait()  # the read has its connection: its snapshot is being taken
    late = [asyncio.create_task(reads.board(agent)) for agent in (AL, ANA)]
    await asyncio.sleep(0.01)
    assert db.acquired == 1  # the next read waits for the one under way

    release.set()
    boards = await asyncio.gather(first, *late)

    assert boards[1] is boards[2] is not boards[0]  # never the read begun before they came
    assert db.read_for == ["ana", "al"]
    assert (reads.reads, reads.served) == (2, 3)


async def test_a_console_that_leaves_does_not_cancel_the_read_of_the_others() -> None:
    db = FakeDatabase()
    reads = BoardReads(db.acquire, 500, db.read)
    leaving = asyncio.create_task(reads.board(ANA))
    staying = asyncio.create_task(reads.board(AL))
    await asyncio.sleep(0.01)
    leaving.cancel()
    db.gate.set()

    assert ids(await staying) == [1]
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_a_failed_read_fails_its_consoles_and_the_next_read_is_fresh() -> None:
    db = FakeDatabase()
    db.gate.set()
    failures = [RuntimeError("database went away")]

    async def flaky(conn: Any, agent: Agent, limit: int) -> SharedBoard:
        if failures:
            raise failures.pop()
        return await db.read(conn, agent, limit)

    reads = BoardReads(db.acquire, 500, flaky)
    with pytest.raises(RuntimeError):
        await reads.board(ANA)
    assert ids(await reads.board(ANA)) == [1]


def test_one_hello_per_profile_and_each_agent_sees_only_its_own() -> None:
    settings = NotifierSettings()
    taxonomy = load_taxonomy()
    encoded: list[str] = []

    def encode(agent: Agent) -> str:
        encoded.append(agent.name)
        return Hello(agent=build_profile(agent, settings, taxonomy)).model_dump_json()

    hellos = HelloFrames(encode)
    first = hellos.frame(ANA)

    assert hellos.frame(ANA) is first
    assert encoded == ["ana"]
    for agent in (AL, BEN, SUE):
        profile = json.loads(hellos.frame(agent))["agent"]
        assert profile["name"] == agent.name
        assert profile["queues"] == sorted(agent.queues)
        assert profile["sees_all_queues"] is agent.sees_all_queues
    assert json.loads(first) == json.loads(encode(ANA))
    assert encoded.count("ana") == 2  # the check above, not the cache


def test_the_hello_cache_stays_bounded() -> None:
    hellos = HelloFrames(lambda agent: agent.name, size=2)
    for number in range(5):
        agent = Agent(number, f"a{number}", Role.AGENT, frozenset({"q"}))
        assert hellos.frame(agent) == f"a{number}"
    assert len(hellos._frames) <= 2
