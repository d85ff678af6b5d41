"""Fan-out of live messages to connected consoles.

Each console has its own bounded queue and its own sender task, so one slow console never holds
up the others. Serialisation happens once per message, not once per console. A console that
falls a whole queue behind is disconnected: it reconnects and resynchronises from a fresh
snapshot, which is cheaper and more honest than buffering without bound.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass(eq=False)
class Subscription:
    """One console's queue; ``overflowed`` is set when it fell too far behind."""

    queue: asyncio.Queue[str]
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)


class AlertHub:
    """Broadcasts text frames to every subscription."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()

    def subscribe(self) -> Subscription:
        """Start receiving messages published from now on."""
        subscription = Subscription(asyncio.Queue(self._queue_size))
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop receiving; idempotent."""
        self._subscriptions.discard(subscription)

    def publish(self, message: str) -> None:
        """Queue ``message`` for every console without waiting for any of them."""
        for subscription in list(self._subscriptions):
            try:
                subscription.queue.put_nowait(message)
            except asyncio.QueueFull:
                subscription.overflowed.set()
                self.unsubscribe(subscription)

    @property
    def size(self) -> int:
        """Connected consoles."""
        return len(self._subscriptions)
