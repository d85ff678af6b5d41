"""The case outbox's sweep hands its whole batch to the producer before awaiting any
acknowledgement, and marks the batch sent only once every one of them is acknowledged; a change
it cannot build an event from is left unsent without stopping it."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from tests.case_support import open_case
from winback_notifier.cases.publisher import CaseEventPublisher
from winback_notifier.metrics import OUTBOX_UNSENDABLE
from winback_shared.case_changes import append_change_unless_finished
from winback_shared.case_vocabulary import HistoryKind

UNSENT = "SELECT count(*) FROM case_history WHERE published_at IS NULL"


class HeldProducer:
    """Records what is sent; every acknowledgement waits until the test settles it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.acks: list[asyncio.Future[object]] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[object]:
        self.sent.append((key.decode(), value))
        ack: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack

    async def holding(self, count: int) -> None:
        """Wait (up to 5 s) until ``count`` events are held, unacknowledged or settled."""
        for _ in range(500):
            if len(self.acks) >= count:
                return
            await asyncio.sleep(0.01)


async def recoded_cases(pool: asyncpg.Pool, count: int) -> list[int]:
    """``count`` alerted cases, each with one re-coding left for the sweep."""
    ids = [await open_case(pool) for _ in range(count)]
    async with pool.acquire() as conn, conn.transaction():
        for case_id in ids:
            await append_change_unless_finished(
                conn, case_id, kind=HistoryKind.RECODED, actor="refine", data={}
            )
    return ids


async def test_the_whole_batch_is_sent_before_any_ack_and_marked_after_all(
    pool: asyncpg.Pool,
) -> None:
    ids = await recoded_cases(pool, 5)
    producer = HeldProducer()
    publisher = CaseEventPublisher(producer, pool, "events", timeout=10)

    sweep = asyncio.create_task(publisher.sweep())
    await producer.holding(5)
    assert [key for key, _ in producer.sent] == [str(case_id) for case_id in ids]  # oldest first
    assert [json.loads(value)["change"]["kind"] for _, value in producer.sent] == ["recoded"] * 5
    for ack in producer.acks[:4]:
        ack.set_result(None)
    await asyncio.sleep(0.1)
    assert not sweep.done() and await pool.fetchval(UNSENT) == 5  # one ack still missing

    producer.acks[4].set_result(None)
    assert await sweep == 5
    assert await pool.fetchval(UNSENT) == 0


async def test_a_failed_ack_leaves_the_whole_batch_for_the_next_sweep(pool: asyncpg.Pool) -> None:
    await recoded_cases(pool, 3)
    producer = HeldProducer()
    publisher = CaseEventPublisher(producer, pool, "events", timeout=10)

    sweep = asyncio.create_task(publisher.sweep())
    await producer.holding(3)
    producer.acks[0].set_result(None)
    producer.acks[1].set_exception(ConnectionError("broker away"))
    producer.acks[2].set_result(None)
    with pytest.raises(ConnectionError):
        await sweep
    assert await pool.fetchval(UNSENT) == 3  # sent again next time: repeats, never losses

    again = HeldProducer()
    retry = asyncio.create_task(CaseEventPublisher(again, pool, "events", timeout=10).sweep())
    await again.holding(3)
    for ack in again.acks:
        ack.set_result(None)
    assert await retry == 3
    assert await pool.fetchval(UNSENT) == 0


async def test_a_change_this_version_cannot_build_is_left_unsent_and_the_rest_go_out(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    """A history kind this notifier does not know (a newer one's, in a rolling upgrade) must
    not stop the sweep, which would stop every notifier of this version at every restart."""
    first, newer, last = await recoded_cases(pool, 3)
    seq = await pool.fetchval("SELECT max(seq) + 1 FROM case_history WHERE case_id = $1", newer)
    await pool.execute(
        "INSERT INTO case_history (case_id, seq, kind, actor, occurred_at)"
        " VALUES ($1, $2, 'escalated', 'a newer notifier', now() - interval '1 minute')",
        newer,
        seq,
    )
    unsendable_before = OUTBOX_UNSENDABLE._value.get()
    producer = HeldProducer()
    publisher = CaseEventPublisher(producer, pool, "events", timeout=10)

    sweep = asyncio.create_task(publisher.sweep())
    await producer.holding(3)
    for ack in producer.acks:
        ack.set_result(None)
    assert await sweep == 3
    assert [key for key, _ in producer.sent] == [str(first), str(newer), str(last)]
    assert {json.loads(value)["change"]["kind"] for _, value in producer.sent} == {"recoded"}
    assert await pool.fetchval(UNSENT) == 1  # left for a notifier that knows the kind
    assert OUTBOX_UNSENDABLE._value.get() == unsendable_before + 1
    [logged] = [r for r in caplog.records if "cannot build its event" in r.getMessage()]
    assert vars(logged)["fields"]["case_id"] == newer and vars(logged)["fields"]["seq"] == seq

    # Later sweeps pass it by without counting it again, and still send what comes next.
    assert await publisher.sweep() == 0
    await recoded_cases(pool, 1)
    later = asyncio.create_task(publisher.sweep())
    await producer.holding(4)
    producer.acks[3].set_result(None)
    assert await later == 1
    assert OUTBOX_UNSENDABLE._value.get() == unsendable_before + 1
