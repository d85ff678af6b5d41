"""A console's mailbox: bounded, first in first out, one reader woken by a put."""

from __future__ import annotations

import asyncio

import pytest

from winback_notifier.live.mailbox import Mailbox


async def test_items_come_out_in_order_and_a_waiting_reader_wakes_on_a_put() -> None:
    mailbox: Mailbox[str] = Mailbox(3)
    reader = asyncio.create_task(mailbox.get())
    await asyncio.sleep(0)
    assert not reader.done()  # nothing yet: it waits

    mailbox.put_nowait("one")
    mailbox.put_nowait("two")

    assert await reader == "one"
    assert await mailbox.get() == "two"  # ready: no wait
    assert mailbox.empty() and mailbox.qsize() == 0


async def test_it_refuses_past_its_bound_and_never_waits_to_put() -> None:
    mailbox: Mailbox[int] = Mailbox(2)
    assert mailbox.offer(1) and mailbox.offer(2)
    assert not mailbox.offer(3)
    with pytest.raises(asyncio.QueueFull):
        mailbox.put_nowait(3)
    assert mailbox.qsize() == 2
    assert [mailbox.get_nowait(), mailbox.get_nowait()] == [1, 2]
    with pytest.raises(asyncio.QueueEmpty):
        mailbox.get_nowait()


async def test_a_reader_cancelled_while_waiting_leaves_it_usable() -> None:
    mailbox: Mailbox[str] = Mailbox(2)
    reader = asyncio.create_task(mailbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader

    mailbox.put_nowait("after")  # no waiter left to wake: kept for the next reader

    assert await asyncio.wait_for(mailbox.get(), 1) == "after"
