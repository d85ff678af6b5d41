"""One console's bounded mailbox: what the hub queues for it, read by its own sender alone.

``asyncio.Queue`` would do, but a fan-out puts into a thousand of them per frame and wakes a
thousand senders, and the queue's general machinery (a waiting future per getter *and* per
putter, its loop checks, the ``_wakeup_next`` scan) is a good part of that per-console cost
(docs/performance.md, section 14). A console has exactly one reader and puts never wait (a full
mailbox means the console is dropped), so a deque and at most one waiting future are enough.
The methods the hub, the sender and the tests use keep ``asyncio.Queue``'s names and meaning.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """A bounded FIFO with one reader; ``put_nowait`` never waits (it raises when full)."""

    __slots__ = ("_items", "_maxsize", "_waiter")

    def __init__(self, maxsize: int) -> None:
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, item: T) -> bool:
        """Append ``item`` unless the mailbox is full; ``False`` if it was (nothing added)."""
        if len(self._items) >= self._maxsize:
            return False
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        return True

    def idle(self) -> bool:
        """Whether the reader is waiting on an empty mailbox: nothing of this console's is
        queued or being sent, so a frame may go straight to its socket (``live.direct``)."""
        waiter = self._waiter
        return waiter is not None and not waiter.done() and not self._items

    def put_nowait(self, item: T) -> None:
        """Append ``item``; raises ``asyncio.QueueFull`` if the mailbox is full."""
        if not self.offer(item):
            raise asyncio.QueueFull

    def get_nowait(self) -> T:
        """The oldest item; raises ``asyncio.QueueEmpty`` if there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    async def get(self) -> T:
        """The oldest item, waiting for one if need be (returns at once if one is ready).

        Only one task may wait at a time: the console's sender.
        """
        while not self._items:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
        return self._items.popleft()

    def qsize(self) -> int:
        """Items waiting."""
        return len(self._items)

    def empty(self) -> bool:
        """Whether nothing is waiting."""
        return not self._items
