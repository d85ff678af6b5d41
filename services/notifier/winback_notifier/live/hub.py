"""Fan-out of live messages to connected consoles, each seeing only its queues.

Each console has its own bounded queue and its own sender task, so one slow console never holds
up the others. Serialisation happens once per message, not once per console. A console that
falls a whole queue behind is disconnected: it reconnects and catches up from PostgreSQL on
what changed since its cursor, which is cheaper and more honest than buffering without bound.

Every message names its audience: the queues whose members should see it. A supervisor's or
admin's console sees every queue; an agent's console only its agent's queues. When the agent
changes (``agent.changed``), its consoles get a :data:`RESYNC` marker in their queue: the
console's own sender reloads the agent, swaps the filter and sends a fresh hello and snapshot,
in the order a new connection would (see ``console_socket``).

The hub numbers what it publishes and keeps the last :data:`HISTORY` frames, so a console can
be handed a board read a moment before it subscribed (``live.board``) plus the frames it missed
in between (:meth:`AlertHub.missed`). It also stamps each frame's publish moment, so each
console's sender can report how long the frame took to reach its socket
(``winback_notifier_frame_written_seconds``): a sample of the consoles do (the first and every
:data:`TIMED_EVERY` th to subscribe), as observing a histogram costs a good part of a send.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from winback_notifier.metrics import CONSOLES, FRAME_WRITTEN_SECONDS
from winback_shared.agents import Agent

HISTORY = 512
"""Frames kept for consoles that take a board read just before they subscribed: two seconds of
a 250 alerts/s burst, more than a reused board's age (``live.board.REUSE_SECONDS``)."""
TIMED_EVERY = 8
"""One console in this many reports its publish-to-written times."""


class Resync:
    """Queued instead of a frame: the console's agent changed; reload it before going on."""


RESYNC = Resync()


@dataclass(eq=False)
class Subscription:
    """One console's queue; ``overflowed`` is set when it fell too far behind.

    ``agent`` is replaced by the console's sender when it handles :data:`RESYNC`; the hub reads
    it on every publish, so the new filter applies from that moment.
    """

    queue: asyncio.Queue[str | Resync]
    agent: Agent | None = None
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)
    since: int = 0
    """How many frames the hub had published when this console subscribed: it gets the ones
    after that through its queue."""
    timed: bool = True
    """Whether its sender reports each publish-to-written time (:meth:`AlertHub.written`)."""

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
        self.published = 0
        """Frames published so far; a frame's number is this count just after it."""
        self._subscribed = 0
        self._recent: deque[tuple[str, frozenset[str] | None]] = deque(maxlen=HISTORY)
        self._stamps: dict[int, float] = {}
        """Publish moment (``time.perf_counter``) of each frame in ``_recent``, by identity."""
        self.agent_changes = 0
        """How many ``agent.changed`` events arrived; a console that signed in while one
        arrived cannot know it was not about itself, and resynchronises to be sure."""

    def subscribe(self, agent: Agent | None = None) -> Subscription:
        """Start receiving messages published from now on (all of them without an agent)."""
        timed = self._subscribed % TIMED_EVERY == 0
        self._subscribed += 1
        subscription = Subscription(
            asyncio.Queue(self._queue_size), agent, since=self.published, timed=timed
        )
        self._subscriptions.add(subscription)
        CONSOLES.set(len(self._subscriptions))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop receiving; idempotent."""
        self._subscriptions.discard(subscription)
        CONSOLES.set(len(self._subscriptions))

    def publish(self, message: str, audience: frozenset[str] | None = None) -> None:
        """Queue ``message`` for every console that may see it, without waiting for any."""
        self.published += 1
        if len(self._recent) == HISTORY:
            self._stamps.pop(id(self._recent[0][0]), None)
        self._recent.append((message, audience))
        self._stamps[id(message)] = time.perf_counter()
        for subscription in list(self._subscriptions):
            if subscription.wants(audience):
                self._put(subscription, message)

    def replayable(self, after: int) -> bool:
        """Whether every frame published after the ``after``-th is still kept."""
        return after >= self.published - len(self._recent)

    def missed(self, subscription: Subscription, after: int) -> list[str] | None:
        """The frames for ``subscription`` published after the ``after``-th and before it
        subscribed (oldest first), or ``None`` if some of them are no longer kept."""
        if subscription.since <= after:
            return []
        if not self.replayable(after):
            return None
        first = self.published - len(self._recent)  # frames before the oldest kept one
        window = itertools.islice(self._recent, after - first, subscription.since - first)
        return [message for message, audience in window if subscription.wants(audience)]

    def written(self, message: str) -> None:
        """A console's sender wrote ``message`` to its socket: observe how long it took since
        it was published (frames no longer kept, resync frames and pongs are not observed)."""
        published = self._stamps.get(id(message))
        if published is not None:
            FRAME_WRITTEN_SECONDS.observe(time.perf_counter() - published)

    def agent_changed(self, agent_id: int) -> int:
        """Tell every console signed in as this agent to resynchronise; returns how many."""
        self.agent_changes += 1
        told = 0
        for subscription in list(self._subscriptions):
            if subscription.agent is not None and subscription.agent.id == agent_id:
                self._put(subscription, RESYNC)
                told += 1
        return told

    def resync(self, subscription: Subscription) -> None:
        """Make one console resynchronise (see :attr:`agent_changes`)."""
        self._put(subscription, RESYNC)

    def _put(self, subscription: Subscription, item: str | Resync) -> None:
        try:
            subscription.queue.put_nowait(item)
        except asyncio.QueueFull:
            # Reconnecting resynchronises too, and is what a console this far behind needs.
            subscription.overflowed.set()
            self.unsubscribe(subscription)

    def watching(self, queues: Iterable[str]) -> dict[str, int]:
        """How many connected consoles show each queue's cases."""
        return {
            queue: sum(1 for s in self._subscriptions if s.wants(frozenset({queue})))
            for queue in queues
        }

    def agents_on(self, queues: Iterable[str]) -> dict[str, int]:
        """How many distinct agents (role agent, members of the queue) have a console open on
        each queue: the staff working it. Supervisors see every queue and watch the ops page
        through the same socket, so counting them would staff every queue with each of them."""
        members: dict[str, set[int]] = {queue: set() for queue in queues}
        for subscription in self._subscriptions:
            agent = subscription.agent
            if agent is None or agent.is_supervisor:
                continue
            for queue in agent.queues & members.keys():
                members[queue].add(agent.id)
        return {queue: len(ids) for queue, ids in members.items()}

    @property
    def size(self) -> int:
        """Connected consoles."""
        return len(self._subscriptions)
