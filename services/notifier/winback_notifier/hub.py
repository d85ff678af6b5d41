"""Fan-out of live messages to connected consoles, each seeing only its queues.

Each console has its own bounded queue and its own sender task, so one slow console never holds
up the others. Serialisation happens once per message, not once per console. A console that
falls a whole queue behind is disconnected: it reconnects and resynchronises from a fresh
snapshot, which is cheaper and more honest than buffering without bound.

Every message names its audience: the queues whose members should see it. A supervisor's or
admin's console sees every queue; an agent's console only the queues it belonged to when it
connected (a membership change takes effect on its next connection).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from winback_notifier.metrics import CONSOLES
from winback_shared.agents import Agent


@dataclass(eq=False)
class Subscription:
    """One console's queue; ``overflowed`` is set when it fell too far behind."""

    queue: asyncio.Queue[str]
    agent: Agent | None = None
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, audience: frozenset[str] | None) -> bool:
        """Whether a message for ``audience`` (``None``: everybody) belongs on this console."""
        if audience is None or self.agent is None:
            return True
        return self.agent.sees_all_queues or not audience.isdisjoint(self.agent.queues)


class AlertHub:
    """Broadcasts text frames to the subscriptions whose agent may see them."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()

    def subscribe(self, agent: Agent | None = None) -> Subscription:
        """Start receiving messages published from now on (all of them without an agent)."""
        subscription = Subscription(asyncio.Queue(self._queue_size), agent)
        self._subscriptions.add(subscription)
        CONSOLES.set(len(self._subscriptions))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop receiving; idempotent."""
        self._subscriptions.discard(subscription)
        CONSOLES.set(len(self._subscriptions))

    def publish(self, message: str, audience: frozenset[str] | None = None) -> None:
        """Queue ``message`` for every console that may see it, without waiting for any."""
        for subscription in list(self._subscriptions):
            if not subscription.wants(audience):
                continue
            try:
                subscription.queue.put_nowait(message)
            except asyncio.QueueFull:
                subscription.overflowed.set()
                self.unsubscribe(subscription)

    @property
    def size(self) -> int:
        """Connected consoles."""
        return len(self._subscriptions)
