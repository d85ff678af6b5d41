"""Quiet changes sent together: what the feed holds, when it lets go, and what each view gets.

A burst of re-codings leaves the hub as one ``cases.changed`` frame per view, carrying the
``case.changed`` frames that view would have got alone, in reading order; alerts and every other
change go out at once, and a newer message about a held case waits until the held changes are
out, so per case the latest still arrives last.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.browser.test_console_browser import summary
from winback_notifier.live.coalesce import (
    BATCH_TYPE,
    HELD_KINDS,
    QuietChanges,
    batch_frame,
)
from winback_notifier.live.feed import READ_MAX_RECORDS, AlertsFeed
from winback_notifier.live.hub import AlertHub, Frame, Resync, Subscription
from winback_shared.agents import Agent, Role
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.events.case_events import AgentChanged, CaseCard, CaseChanged, HistoryEntry
from winback_shared.events.recovery_alerts import (
    CaseSummary,
    RecoveryCaseOpened,
    RecoveryCaseUpdated,
)

ANA = Agent(1, "ana", Role.AGENT, frozenset({"alpha"}))
BEN = Agent(2, "ben", Role.AGENT, frozenset({"beta"}))
CY = Agent(5, "cy", Role.AGENT, frozenset({"alpha", "gamma"}))
SUE = Agent(3, "sue", Role.SUPERVISOR, frozenset())
ALERTS, EVENTS = "alerts", "events"
BOARD_STATE_JS = (
    Path(__file__).resolve().parents[2] / "services/notifier/winback_notifier/static/board-state.js"
)


def _summary(case_id: int, queue: str, seq: int) -> CaseSummary:
    return CaseSummary.model_validate(
        summary(case_id, priority=2, opened_at="2026-01-01T09:00:00Z", seq=seq, queue=queue)
    )


def change(case_id: int, queue: str, seq: int, kind: HistoryKind = HistoryKind.RECODED) -> bytes:
    """A ``case.changed`` record as the outbox sends it."""
    return CaseChanged(
        case=CaseCard.model_validate(_summary(case_id, queue, seq).model_dump()),
        change=HistoryEntry(seq=seq, kind=kind, actor="refiner", occurred_at=datetime.now(UTC)),
    ).to_bytes()


def drain(subscription: Subscription) -> list[dict[str, Any]]:
    """Every frame queued for a console, parsed."""
    frames: list[dict[str, Any]] = []
    while not subscription.queue.empty():
        item = subscription.queue.get_nowait()
        assert not isinstance(item, Resync)
        frames.append(json.loads(item))
    return frames


def summarised(frames: list[dict[str, Any]]) -> list[Any]:
    """Each frame as its type and (case, seq, kind); a batch as the list of its changes'."""

    def one(frame: dict[str, Any]) -> tuple[int, int, str | None]:
        kind = frame["change"]["kind"] if "change" in frame else None
        return frame["case"]["case_id"], frame["case"]["seq"], kind

    return [
        (BATCH_TYPE, [one(item) for item in frame["changes"]])
        if frame["type"] == BATCH_TYPE
        else (frame["type"], one(frame))
        for frame in frames
    ]


@asynccontextmanager
async def feed_of(hub: AlertHub, quiet: QuietChanges | None = None) -> AsyncIterator[AlertsFeed]:
    """The notifier's feed into ``hub``, its Kafka consumer never started (records are handed to
    it, or read from a scripted consumer put in its place)."""
    feed = AlertsFeed("localhost:1", ALERTS, EVENTS, hub, quiet=quiet)
    consumer = feed.consumer
    try:
        yield feed
    finally:
        await consumer.stop()


# ---- what is held, and when it leaves ---------------------------------------------------------


def test_only_re_codings_are_held() -> None:
    assert HELD_KINDS == {HistoryKind.RECODED}


def console_quiet_kinds(source: str) -> set[str]:
    """The kinds in the console's ``QUIET_KINDS = new Set([...])``, read from its source."""
    found = re.search(r"\bQUIET_KINDS\s*=\s*new Set\(\[([^\]]*)\]\)", source)
    assert found, "board-state.js no longer declares QUIET_KINDS as new Set([...string literals])"
    items = [item.strip() for item in found.group(1).split(",") if item.strip()]
    assert all(re.fullmatch(r'"[a-z_]+"', item) for item in items), items
    return {item.strip('"') for item in items}


def test_the_console_treats_as_quiet_exactly_the_kinds_the_feed_holds() -> None:
    """The feed may delay only what a console never announces, and a console must not announce
    what arrives late: both lists name one set of kinds (the console's, in board-state.js)."""
    assert console_quiet_kinds(BOARD_STATE_JS.read_text(encoding="utf-8")) == {
        kind.value for kind in HELD_KINDS
    }


def test_the_quiet_kinds_reader_sees_a_difference() -> None:
    assert console_quiet_kinds('const QUIET_KINDS = new Set(["recoded", "noted"]);') == {
        "recoded",
        "noted",
    }
    with pytest.raises(AssertionError):
        console_quiet_kinds("const QUIET_KINDS = new Set(KINDS);")


def test_held_changes_come_back_in_reading_order_and_nothing_is_held_after() -> None:
    quiet = QuietChanges(quiet_seconds=0.1, max_seconds=1.0, max_bytes=1000)
    assert not quiet and quiet.wait_seconds(5.0, idle=0.5) == 0.5
    quiet.hold("one", frozenset({"a"}), 1, now=5.0)
    quiet.hold("two", frozenset({"b"}), 2, now=5.2)
    quiet.hold("three", frozenset({"a"}), 1, now=5.3)
    assert quiet.holds(1) and quiet.holds(2) and not quiet.holds(3)
    assert quiet.take() == [
        ("one", frozenset({"a"})),
        ("two", frozenset({"b"})),
        ("three", frozenset({"a"})),
    ]
    assert len(quiet) == 0 and not quiet.holds(1) and not quiet.due(99.0)


def test_held_changes_are_due_after_the_longest_hold_or_past_the_size_bound() -> None:
    quiet = QuietChanges(quiet_seconds=0.1, max_seconds=1.0, max_bytes=10)
    quiet.hold("12345", frozenset({"a"}), 1, now=5.0)
    assert not quiet.due(5.99)
    assert quiet.wait_seconds(5.0, idle=0.5) == pytest.approx(0.1)  # a quiet moment's wait
    assert quiet.wait_seconds(5.95, idle=0.5) == pytest.approx(0.05)  # never past the bound
    assert quiet.wait_seconds(7.0, idle=0.5) == 0.0
    assert quiet.due(6.0)
    quiet.take()
    quiet.hold("12345", frozenset({"a"}), 1, now=9.0)  # the clock starts with the first again
    assert not quiet.due(9.5)
    quiet.hold("67890", frozenset({"a"}), 2, now=9.5)
    assert quiet.due(9.5)  # ten characters held


def test_the_batch_frame_is_the_list_of_the_frames_it_carries() -> None:
    frames = [change(1, "alpha", 2).decode(), change(2, "beta", 3).decode()]
    assert json.loads(batch_frame(frames)) == {
        "type": "cases.changed",
        "changes": [json.loads(frame) for frame in frames],
    }


# ---- the hub: one frame per view, of what that view may see ----------------------------------


def test_each_view_gets_one_frame_of_the_changes_it_may_see_in_order() -> None:
    hub = AlertHub(10)
    ana, ana_again, ben, cy, sue = (hub.subscribe(a) for a in (ANA, ANA, BEN, CY, SUE))
    nobody = hub.subscribe(Agent(4, "olga", Role.AGENT, frozenset({"delta"})))
    items = [
        ("a1", frozenset({"alpha"})),
        ("b2", frozenset({"beta"})),
        ("a3", frozenset({"alpha"})),
        ("g4", frozenset({"gamma"})),
    ]
    before = hub.published

    hub.publish_batch(items, lambda texts: "+".join(texts))

    assert hub.published == before + 1  # one entry of the hub's count and history
    assert ana.queue.get_nowait() == "a1+a3" and ana.queue.empty()
    assert ben.queue.get_nowait() == "b2" and ben.queue.empty()  # one change: the frame alone
    assert cy.queue.get_nowait() == "a1+a3+g4"
    assert sue.queue.get_nowait() == "a1+b2+a3+g4"
    assert nobody.queue.empty()
    # One frame object for all consoles of a view, as for any published frame.
    shared = ana_again.queue.get_nowait()
    hub.publish_batch(items, lambda texts: "+".join(texts))
    assert isinstance(shared, Frame) and shared.published is not None
    assert ana.queue.get_nowait() is ana_again.queue.get_nowait()


def test_a_console_that_subscribed_after_a_board_read_is_handed_its_view_of_a_batch() -> None:
    hub = AlertHub(10)
    read_at = hub.published  # a board read, before the batch
    hub.publish("opened", frozenset({"beta"}))
    hub.publish_batch([("a1", frozenset({"alpha"})), ("b2", frozenset({"beta"}))], "+".join)
    hub.publish_batch([("b3", frozenset({"beta"}))], "+".join)
    ana, sue = hub.subscribe(ANA), hub.subscribe(SUE)

    assert hub.missed(ana, read_at) == ["a1"]
    assert hub.missed(sue, read_at) == ["opened", "a1+b2", "b3"]
    hub.publish_batch([], "+".join)  # nothing to send: nothing published
    assert hub.published == read_at + 3


# ---- the feed: what it holds, and what goes first ---------------------------------------------


async def test_re_codings_leave_together_and_alerts_and_other_changes_do_not_wait() -> None:
    hub = AlertHub(10)
    ana, ben, sue = hub.subscribe(ANA), hub.subscribe(BEN), hub.subscribe(SUE)
    async with feed_of(hub) as feed:
        feed._deliver(EVENTS, change(1, "alpha", 2))
        feed._deliver(EVENTS, change(2, "beta", 5))
        opened = RecoveryCaseOpened(case=_summary(9, "alpha", 1))
        feed._deliver(ALERTS, opened.to_bytes())  # a pop-up: out at once, ahead of the re-codings
        feed._deliver(EVENTS, change(3, "alpha", 4, HistoryKind.CLAIMED))  # news of another case
        feed._deliver(EVENTS, change(1, "alpha", 3))  # a second re-coding of case 1
        assert summarised(drain(sue)) == [
            ("case.opened", (9, 1, None)),
            ("case.changed", (3, 4, "claimed")),
        ]

        feed.flush()
        feed.flush()  # nothing held: nothing sent

        assert summarised(drain(sue)) == [
            (BATCH_TYPE, [(1, 2, "recoded"), (2, 5, "recoded"), (1, 3, "recoded")])
        ]
        assert summarised(drain(ana)) == [
            ("case.opened", (9, 1, None)),
            ("case.changed", (3, 4, "claimed")),
            (BATCH_TYPE, [(1, 2, "recoded"), (1, 3, "recoded")]),
        ]
        assert summarised(drain(ben)) == [("case.changed", (2, 5, "recoded"))]  # one: alone


async def test_anything_newer_about_a_held_case_goes_out_after_the_held_changes() -> None:
    hub = AlertHub(10)
    sue = hub.subscribe(SUE)
    async with feed_of(hub) as feed:
        feed._deliver(EVENTS, change(1, "alpha", 2))
        feed._deliver(EVENTS, change(2, "alpha", 2))
        feed._deliver(EVENTS, change(1, "alpha", 3, HistoryKind.RESOLVED))
        feed._deliver(EVENTS, change(2, "alpha", 3))
        updated = RecoveryCaseUpdated(case=_summary(2, "alpha", 4))
        feed._deliver(ALERTS, updated.to_bytes())

        assert summarised(drain(sue)) == [
            (BATCH_TYPE, [(1, 2, "recoded"), (2, 2, "recoded")]),
            ("case.changed", (1, 3, "resolved")),
            ("case.changed", (2, 3, "recoded")),  # held alone, out before the revision
            ("case.updated", (2, 4, None)),
        ]


async def test_an_agent_change_lets_the_held_changes_out_before_its_resync() -> None:
    hub = AlertHub(10)
    ana = hub.subscribe(ANA)
    async with feed_of(hub) as feed:
        feed._deliver(EVENTS, change(1, "alpha", 2))
        feed._deliver(EVENTS, change(2, "alpha", 2))

        feed._deliver(EVENTS, AgentChanged(agent_id=ANA.id).to_bytes())

        first = ana.queue.get_nowait()
        assert not isinstance(first, Resync) and json.loads(first)["type"] == BATCH_TYPE
        assert isinstance(ana.queue.get_nowait(), Resync)


class ScriptedConsumer:
    """``getmany`` answers from a script of record batches; each call's wait is recorded."""

    def __init__(self, script: list[list[tuple[str, bytes]]]) -> None:
        self.script = script
        self.waits: list[int] = []

    async def getmany(
        self, timeout_ms: int, max_records: int | None = None
    ) -> dict[str, list[Any]]:
        self.waits.append(timeout_ms)
        if not self.script:
            raise LookupError("script over")
        batch = self.script.pop(0)
        if not batch:
            return {}  # as aiokafka answers a read that found nothing
        return {"p": [Record(topic, value, offset) for offset, (topic, value) in enumerate(batch)]}


class Record:
    def __init__(self, topic: str, value: bytes, offset: int) -> None:
        self.topic, self.value, self.offset = topic, value, offset


async def test_the_feed_waits_briefly_while_it_holds_changes_and_sends_them_when_reads_dry_up() -> (
    None
):
    hub = AlertHub(10)
    sue = hub.subscribe(SUE)
    consumer = ScriptedConsumer(
        [
            [(EVENTS, change(1, "alpha", 2)), (EVENTS, change(2, "alpha", 2))],
            [(EVENTS, change(3, "alpha", 2))],  # the burst goes on: still held
            [],  # a read with nothing: the burst is over
            [(ALERTS, RecoveryCaseOpened(case=_summary(9, "alpha", 1)).to_bytes())],
        ]
    )
    async with feed_of(hub, QuietChanges(quiet_seconds=0.2, max_seconds=60.0)) as feed:
        feed._consumer = consumer
        nudges: list[list[int] | None] = []
        feed._on_batch = lambda cases: nudges.append(
            None if cases is None else [case.case_id for case in cases]
        )

        with pytest.raises(LookupError):
            await feed.run()

        assert consumer.waits[0] == 500  # nothing held: the usual wait
        assert consumer.waits[1:3] == [200, 200]  # holding: only a quiet moment's
        assert consumer.waits[3:] == [500, 500]
        assert summarised(drain(sue)) == [
            (BATCH_TYPE, [(1, 2, "recoded"), (2, 2, "recoded"), (3, 2, "recoded")]),
            ("case.opened", (9, 1, None)),
        ]
        # After each read that brought records, with the cases it carried (the SLA timers'
        # wake-up decides from them whether to look again).
        assert nudges == [[1, 2], [3], [9]]


async def test_a_read_with_a_record_nobody_can_read_wakes_the_timers_unconditionally() -> None:
    hub = AlertHub(10)
    consumer = ScriptedConsumer([[(EVENTS, change(1, "alpha", 2)), (EVENTS, b"{not json")]])
    async with feed_of(hub, QuietChanges(quiet_seconds=0.2, max_seconds=60.0)) as feed:
        feed._consumer = consumer
        nudges: list[object] = []
        feed._on_batch = nudges.append
        with pytest.raises(LookupError):
            await feed.run()
        assert nudges == [None]  # what the unreadable record changed is unknown


async def test_a_burst_that_never_pauses_still_leaves_at_the_longest_hold() -> None:
    hub = AlertHub(10)
    sue = hub.subscribe(SUE)
    consumer = ScriptedConsumer(
        [[(EVENTS, change(case_id, "alpha", 2))] for case_id in range(1, 4)]
    )
    async with feed_of(hub, QuietChanges(quiet_seconds=0.2, max_seconds=0.0)) as feed:
        feed._consumer = consumer

        with pytest.raises(LookupError):
            await feed.run()

        assert summarised(drain(sue)) == [
            ("case.changed", (case_id, 2, "recoded")) for case_id in range(1, 4)
        ]


async def test_the_size_bound_lets_held_changes_go_after_the_read_never_within_it() -> None:
    """A pop-up later in the same read still goes first; the next read starts a new batch."""
    hub = AlertHub(10)
    sue = hub.subscribe(SUE)
    size = len(change(1, "alpha", 2))
    pop_up = RecoveryCaseOpened(case=_summary(9, "alpha", 1)).to_bytes()
    consumer = ScriptedConsumer(
        [
            [(EVENTS, change(n, "alpha", 2)) for n in (1, 2, 3)] + [(ALERTS, pop_up)],
            [(EVENTS, change(4, "alpha", 2))],
        ]
    )
    quiet = QuietChanges(quiet_seconds=60.0, max_seconds=60.0, max_bytes=2 * size)
    async with feed_of(hub, quiet) as feed:
        feed._consumer = consumer
        with pytest.raises(LookupError):
            await feed.run()
        assert consumer.waits == [500, 500, 60_000]
        feed.flush()

    assert summarised(drain(sue)) == [
        ("case.opened", (9, 1, None)),
        (BATCH_TYPE, [(1, 2, "recoded"), (2, 2, "recoded"), (3, 2, "recoded")]),
        ("case.changed", (4, 2, "recoded")),
    ]


class BufferedConsumer:
    """What aiokafka does after a stall: many records already fetched, handed over at once
    unless ``max_records`` bounds a read (``getmany`` then returns at once, without waiting)."""

    def __init__(self, records: list[tuple[str, bytes]]) -> None:
        self.records = records
        self.reads: list[int] = []

    async def getmany(
        self, timeout_ms: int, max_records: int | None = None
    ) -> dict[str, list[Any]]:
        if not self.records:
            raise LookupError("all read")
        count = len(self.records) if max_records is None else max_records
        taken, self.records = self.records[:count], self.records[count:]
        self.reads.append(len(taken))
        return {"p": [Record(topic, value, offset) for offset, (topic, value) in enumerate(taken)]}


async def test_a_buffered_backlog_is_published_in_reads_a_reading_console_keeps_up_with() -> None:
    """Each read's frames go out without a pause, so a console's sender only runs between
    reads: a backlog handed over in one read would fill the mailbox of a console that reads
    everything, and drop it. Reads are bounded, and the senders get their turn after each."""
    hub = AlertHub(READ_MAX_RECORDS)  # a mailbox holds exactly one read
    ana = hub.subscribe(ANA)  # no socket to write directly: every frame goes through its mailbox
    received: list[str] = []

    async def sender() -> None:
        while True:
            item = await ana.queue.get()
            assert not isinstance(item, Resync)
            received.append(item)

    alerts = [
        (ALERTS, RecoveryCaseOpened(case=_summary(case_id, "alpha", 1)).to_bytes())
        for case_id in range(1, 3 * READ_MAX_RECORDS + 2)
    ]
    consumer = BufferedConsumer(alerts)
    reading = asyncio.create_task(sender())
    await asyncio.sleep(0)  # the sender waits on its empty mailbox
    async with feed_of(hub) as feed:
        feed._consumer = consumer
        with pytest.raises(LookupError):
            await feed.run()
    await asyncio.sleep(0)
    reading.cancel()

    assert consumer.reads == [READ_MAX_RECORDS] * 3 + [1]
    assert not ana.overflowed.is_set()
    assert [json.loads(frame)["case"]["case_id"] for frame in received] == list(
        range(1, 3 * READ_MAX_RECORDS + 2)
    )


# ---- frames_total: what the consoles were sent, not what was read ------------------------------


def frames_counted(kind: str) -> float:
    """``winback_notifier_frames_total{type=kind}`` in this process so far."""
    return REGISTRY.get_sample_value("winback_notifier_frames_total", {"type": kind}) or 0.0


async def test_frames_total_counts_a_batch_of_re_codings_once_and_each_other_message_once() -> None:
    kinds = ("case.opened", "case.changed", BATCH_TYPE)
    hub = AlertHub(10)
    hub.subscribe(SUE)
    before = {kind: frames_counted(kind) for kind in kinds}
    async with feed_of(hub) as feed:
        for case_id in (1, 2, 3):
            feed._deliver(EVENTS, change(case_id, "alpha", 2))
        feed._deliver(ALERTS, RecoveryCaseOpened(case=_summary(9, "alpha", 1)).to_bytes())
        feed._deliver(EVENTS, change(4, "alpha", 3, HistoryKind.CLAIMED))
        feed.flush()  # the three re-codings: one cases.changed
        feed._deliver(EVENTS, change(5, "alpha", 2))
        feed.flush()  # a re-coding alone leaves as the case.changed it is
        feed.flush()  # nothing held: nothing sent, nothing counted

    counted = {kind: frames_counted(kind) - before[kind] for kind in kinds}
    assert counted == {"case.opened": 1, "case.changed": 2, BATCH_TYPE: 1}
    assert hub.published == 4  # the hub's own count of what it published agrees
