"""A sweep's burst of re-codings reaches each console as one ``cases.changed`` frame of the
changes its agent may see (``live.coalesce``), through the real outbox, Kafka and feed."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.case_support import Console, running_desk
from winback_shared.agents import Role
from winback_shared.case_changes import append_change_unless_finished
from winback_shared.case_vocabulary import HistoryKind

RECODED = 12


async def next_live(console: Console) -> dict[str, Any]:
    """The next live message that is not a pong."""
    while (message := await console.next(timeout=30)).get("type") == "pong":
        pass
    return message


def changes_in(frame: dict[str, Any]) -> list[tuple[int, int, str]]:
    """The (case, seq, kind) of each change a ``cases.changed`` frame carries, in order."""
    assert frame["type"] == "cases.changed", frame
    assert all(item["type"] == "case.changed" for item in frame["changes"])
    return [
        (item["case"]["case_id"], item["case"]["seq"], item["change"]["kind"])
        for item in frame["changes"]
    ]


async def test_a_sweep_of_re_codings_reaches_each_console_as_one_frame_of_its_cases(
    infra_env: dict[str, object],
) -> None:
    # A generous quiet wait: the test counts frames, and a loaded machine may pause mid-burst.
    overrides = {
        "outbox_interval_seconds": 0.5,
        "quiet_changes_wait_seconds": 1.0,
        "quiet_changes_max_seconds": 10.0,
    }
    async with running_desk(infra_env, **overrides) as desk:
        ana = await desk.agent("ana")
        bill = await desk.agent("bill", queues=["billing"])
        sue = await desk.agent("sue", Role.SUPERVISOR, queues=[])
        ours = [await desk.case() for _ in range(RECODED)]
        billing = await desk.case(queue="billing")
        async with (
            desk.console(ana) as ana_console,
            desk.console(bill) as bill_console,
            desk.console(sue) as sue_console,
        ):
            # Written together, as a re-coding run or the refiner commits a batch: one sweep.
            async with desk.pool.acquire() as conn, conn.transaction():
                for case_id in [*ours[:6], billing, *ours[6:]]:
                    entry = await append_change_unless_finished(
                        conn, case_id, kind=HistoryKind.RECODED, actor="refine", data={}
                    )
                    assert entry is not None and entry.seq == 2

            ana_frame = await next_live(ana_console)
            sue_frame = await next_live(sue_console)
            bill_frame = await next_live(bill_console)

            in_ana = changes_in(ana_frame)
            assert sorted(in_ana) == [(case_id, 2, "recoded") for case_id in ours]
            assert sorted(changes_in(sue_frame)) == sorted([*in_ana, (billing, 2, "recoded")])
            # Bill's view sees one change of the burst: the usual frame, alone.
            assert bill_frame["type"] == "case.changed"
            assert (bill_frame["case"]["case_id"], bill_frame["change"]["kind"]) == (
                billing,
                "recoded",
            )
            for console in (ana_console, bill_console, sue_console):
                await console.nothing_for(1.5)
        unsent = "SELECT count(*) FROM case_history WHERE published_at IS NULL"
        assert await desk.pool.fetchval(unsent) == 0


async def test_news_about_a_case_goes_out_at_once_and_after_its_held_re_coding(
    infra_env: dict[str, object],
) -> None:
    """A claim is news: it is not held behind re-codings, and it arrives after the re-coding
    of its own case (the newer card last), whatever the quiet wait."""
    overrides = {
        "outbox_interval_seconds": 0.5,
        "quiet_changes_wait_seconds": 5.0,
        "quiet_changes_max_seconds": 20.0,
    }
    async with running_desk(infra_env, **overrides) as desk:
        ana = await desk.agent("ana")
        first, second = await desk.case(), await desk.case()
        async with desk.console(ana) as console:
            async with desk.pool.acquire() as conn, conn.transaction():
                for case_id in (first, second):
                    await append_change_unless_finished(
                        conn, case_id, kind=HistoryKind.RECODED, actor="refine", data={}
                    )
            # Both re-codings are in the feed's hands once they are marked sent.
            unsent = "SELECT count(*) FROM case_history WHERE published_at IS NULL"
            for _ in range(100):
                if await desk.pool.fetchval(unsent) == 0:
                    break
                await asyncio.sleep(0.1)
            claimed = await desk.act(ana, first, "claim")
            assert claimed.status_code == 200, claimed.text

            frames = [await next_live(console) for _ in range(2)]

    assert sorted(changes_in(frames[0])) == sorted([(first, 2, "recoded"), (second, 2, "recoded")])
    assert frames[1]["type"] == "case.changed"
    assert (frames[1]["case"]["case_id"], frames[1]["change"]["kind"]) == (first, "claimed")
    assert frames[1]["case"]["seq"] == 3
