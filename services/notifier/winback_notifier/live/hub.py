"""Fan-out of live messages to connected consoles, each seeing only its queues.

Each console has its own bounded mailbox and its own sender task, so one slow console never
holds up the others. A console that falls a whole mailbox behind is disconnected: it reconnects
and catches up from PostgreSQL on what changed since its cursor, which is cheaper and more
honest than buffering without bound.

A fan-out is a thousand consoles' work per frame, so everything that can be done once per frame
is (docs/performance.md, section 14): the frame is wrapped once (:class:`Frame`: its text, its
audience, its publish moment and the ASGI message every sender hands to its socket), the
audience is decided once per *view* (the set of queues a console sees, or all of them), not
once per console, and what is left per console is putting that one object in its mailbox
(:mod:`winback_notifier.live.mailbox`), or, for a console whose sender is waiting on an empty
mailbox and whose socket has nothing left to send, writing the frame's websocket bytes (built
once) to its socket in the same pass (:mod:`winback_notifier.live.direct`, section 24).

Every message names its audience: the queues whose members should see it. A supervisor's or
admin's console sees every queue; an agent's console only its agent's queues. When the agent
changes (``agent.changed``), its consoles get a :data:`RESYNC` marker in their queue: the
console's own sender reloads the agent, swaps the filter and sends a fresh hello and snapshot,
in the order a new connection would (see ``console_socket``).

Several messages can be published as one (:meth:`AlertHub.publish_batch`, the feed's held
re-codings: ``live.coalesce``): each view then gets one frame of the messages it may see, built
once per distinct selection, so the audience is still decided per view and a console sees no
message it would not have seen alone.

The hub numbers what it publishes and keeps the last :data:`HISTORY` frames, so a console can
be handed a board read a moment before it subscribed (``live.board``) plus the frames it missed
in between (:meth:`AlertHub.missed`). Each frame carries its publish moment, so each console's
sender can report how long the frame took to reach its socket
(``winback_notifier_frame_written_seconds``): a sample of the consoles do (the first and every
:data:`TIMED_EVERY` th to subscribe), as observing a histogram costs a good part of a send.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from winback_notifier.live.direct import wire
from winback_notifier.live.mailbox import Mailbox
from winback_notifier.metrics import CONSOLES, FRAME_WRITTEN_SECONDS, FRAMES_DIRECT
from winback_shared.agents import Agent

HISTORY = 512
"""Frames kept for consoles that take a board read just before they subscribed: two seconds of
a 250 alerts/s burst, more than a reused board's age (``live.board.REUSE_SECONDS``)."""
HISTORY_CHARACTERS = 4 * 2**20
"""The most text the history keeps, whatever its count: 512 alerts are about 1.4 MB, but an
entry that batches re-codings (the refiner's ``cases.changed``) can be 100 KB and more, and 512
of those held ~24 MB of a notifier for nothing (memray, docs/performance.md, section 44). A
console whose board is older than the history kept reads a fresh board, as past 512 entries;
the newest entry is kept whatever its size."""
TIMED_EVERY = 8
"""One console in this many reports its publish-to-written times."""

View = frozenset[str] | None
"""The queues a console sees; ``None``: every queue (a supervisor, an admin, or no agent)."""


def view_of(agent: Agent | None) -> View:
    """What ``agent``'s console sees: consoles with the same view get the same frames."""
    if agent is None or agent.sees_all_queues:
        return None
    return agent.queues


def sees(view: View, audience: frozenset[str] | None) -> bool:
    """Whether a message for ``audience`` (``None``: everybody) belongs on a ``view``'s console."""
    return audience is None or view is None or not audience.isdisjoint(view)


class Writer(Protocol):
    """A console's socket written to without its sender (``live.direct.DirectWriter``)."""

    def write(self, data: bytes) -> bool:
        """Write a frame's websocket bytes unless the socket is closing or still has bytes of
        its own to send; whether it did."""
        ...


class Frame(str):
    """A published frame: its text (it *is* that text), wrapped once for every console.

    ``message`` is the ASGI message each console's sender hands to its socket, the same dict
    for all of them (the server only reads it). Its text is the string the frame was made of,
    not the frame: a frame referring to itself would be a reference cycle, freed only by a full
    garbage collection once the hub's history and the mailboxes let go of it, instead of at
    once. ``published`` is the ``time.perf_counter()`` of its publish (``None`` for what the hub
    did not publish: a pong). The websocket bytes for direct writes are built in the publish
    pass and not kept (:meth:`AlertHub.publish`), and there is no ``__dict__``: the hub's
    history and a slow console's mailbox keep the text twice per frame and nothing more.
    """

    __slots__ = ("audience", "message", "published")

    audience: frozenset[str] | None
    published: float | None
    message: dict[str, Any]

    def __new__(
        cls, text: str, audience: frozenset[str] | None = None, published: float | None = None
    ) -> Frame:
        frame = super().__new__(cls, text)
        frame.audience = audience
        frame.published = published
        frame.message = {"type": "websocket.send", "text": str(text)}
        return frame

    def for_view(self, view: View) -> Frame | None:
        """The frame as ``view``'s consoles get it: itself, or nothing if it is not theirs."""
        return self if sees(view, self.audience) else None

    @property
    def characters(self) -> int:
        """Its text's length, what the hub's history budgets."""
        return len(self)


class Batch:
    """Several messages published as one: each view gets one frame of those it may see.

    ``items`` are the messages' texts and audiences, in order; ``join`` makes one frame's text
    of several texts (a view that sees only one gets that text alone, as if published alone).
    Views that see the same messages share one :class:`Frame`, built on first use.
    """

    def __init__(
        self,
        items: Sequence[tuple[str, frozenset[str] | None]],
        join: Callable[[list[str]], str],
        published: float,
    ) -> None:
        self.items = items
        self._join = join
        self.published = published
        self._frames: dict[tuple[int, ...], Frame] = {}
        self.characters = 2 * sum(len(text) for text, _ in items)
        """The messages' text and, about as long again, the frames the views share of them
        (what the hub's history budgets)."""

    def for_view(self, view: View) -> Frame | None:
        """The frame for ``view``'s consoles, or ``None`` if it may see none of the messages."""
        chosen = tuple(
            index for index, (_, audience) in enumerate(self.items) if sees(view, audience)
        )
        if not chosen:
            return None
        frame = self._frames.get(chosen)
        if frame is None:
            texts = [self.items[index][0] for index in chosen]
            text = texts[0] if len(texts) == 1 else self._join(texts)
            audience: frozenset[str] | None = frozenset()
            for index in chosen:
                one = self.items[index][1]
                audience = None if audience is None or one is None else audience | one
            frame = self._frames[chosen] = Frame(text, audience, self.published)
        return frame


PONG = Frame('{"type":"pong"}')
"""The answer to a console's ping, queued like a frame (written by the console's sender, which
is parked on its mailbox only when nothing of the console's is queued or in flight)."""


class Resync:
    """Queued instead of a frame: the console's agent changed; reload it before going on."""


RESYNC = Resync()


class Subscription:
    """One console's mailbox; ``overflowed`` is set when it fell too far behind.

    ``agent`` is replaced by the console's sender when it handles :data:`RESYNC`; the hub files
    the console under the new agent's view at once, so the new filter applies from that moment.
    """

    def __init__(
        self,
        queue: Mailbox[Frame | Resync],
        agent: Agent | None = None,
        *,
        since: int = 0,
        timed: bool = True,
        writer: Writer | None = None,
    ) -> None:
        self.queue = queue
        self.writer = writer
        """Its socket, for frames written in the hub's pass while its mailbox is idle
        (``None``: everything goes through the mailbox and its sender)."""
        self.overflowed = asyncio.Event()
        self.since = since
        """How many frames the hub had published when this console subscribed: it gets the
        ones after that through its mailbox."""
        self.timed = timed
        """Whether its sender reports each publish-to-written time (:meth:`AlertHub.written`)."""
        self._agent = agent
        self.view = view_of(agent)
        self._hub: AlertHub | None = None
        """The hub that files it by view, while subscribed."""

    @property
    def agent(self) -> Agent | None:
        """Whose console this is (``None``: nobody's, it sees everything)."""
        return self._agent

    @agent.setter
    def agent(self, agent: Agent | None) -> None:
        old = self.view
        self._agent = agent
        self.view = view_of(agent)
        if self._hub is not None:
            self._hub.refile(self, old)

    def wants(self, audience: frozenset[str] | None) -> bool:
        """Whether a message for ``audience`` (``None``: everybody) belongs on this console."""
        return sees(self.view, audience)


class AlertHub:
    """Broadcasts text frames to the subscriptions whose agent may see them."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()
        self._views: dict[View, set[Subscription]] = {}
        """The same subscriptions filed by view: a frame's audience is decided once per view."""
        self.published = 0
        """Frames published so far; a frame's number is this count just after it."""
        self._subscribed = 0
        self._recent: deque[Frame | Batch] = deque()
        self._recent_characters = 0
        self.agent_changes = 0
        """How many ``agent.changed`` events arrived; a console that signed in while one
        arrived cannot know it was not about itself, and resynchronises to be sure."""

    def subscribe(self, agent: Agent | None = None, writer: Writer | None = None) -> Subscription:
        """Start receiving messages published from now on (all of them without an agent);
        ``writer``: the console's socket, for frames written directly while its sender idles."""
        timed = self._subscribed % TIMED_EVERY == 0
        self._subscribed += 1
        subscription = Subscription(
            Mailbox(self._queue_size), agent, since=self.published, timed=timed, writer=writer
        )
        self._subscriptions.add(subscription)
        self._views.setdefault(subscription.view, set()).add(subscription)
        subscription._hub = self
        CONSOLES.set(len(self._subscriptions))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop receiving; idempotent."""
        if subscription not in self._subscriptions:
            return
        self._subscriptions.discard(subscription)
        self._unfile(subscription, subscription.view)
        subscription._hub = None
        CONSOLES.set(len(self._subscriptions))

    def refile(self, subscription: Subscription, old: View) -> None:
        """A subscription's agent changed: file it under its new view."""
        if subscription in self._subscriptions:
            self._unfile(subscription, old)
            self._views.setdefault(subscription.view, set()).add(subscription)

    def _unfile(self, subscription: Subscription, view: View) -> None:
        group = self._views.get(view)
        if group is not None:
            group.discard(subscription)
            if not group:
                del self._views[view]

    def publish(self, message: str, audience: frozenset[str] | None = None) -> None:
        """Queue ``message`` for every console that may see it, without waiting for any.

        Per frame: one :class:`Frame`, one audience check per view. Per console: its
        websocket bytes written to its socket if its sender idles on an empty mailbox and the
        socket has nothing else to send (``live.direct``), else one put in its mailbox. Either
        way the console's frames reach its socket in publish order: a direct write happens only
        when nothing of that console's is queued, in flight or buffered.
        """
        self._fan_out(Frame(message, audience, time.perf_counter()))

    def publish_batch(
        self,
        items: Sequence[tuple[str, frozenset[str] | None]],
        join: Callable[[list[str]], str],
    ) -> None:
        """Publish several messages as one frame per view (:class:`Batch`): each console gets
        the ones it may see, in order, in one frame, or nothing if it may see none.

        One number in the hub's count, and one entry of its history, like one message.
        """
        if items:
            self._fan_out(Batch(items, join, time.perf_counter()))

    def _fan_out(self, entry: Frame | Batch) -> None:
        self.published += 1
        self._remember(entry)
        behind: list[Subscription] = []
        direct = 0
        built: dict[int, bytes] = {}  # each frame's websocket bytes, made once in this pass
        for view, group in self._views.items():
            frame = entry.for_view(view)
            if frame is None:
                continue
            data: bytes | None = None
            for subscription in group:
                writer = subscription.writer
                if writer is not None and subscription.queue.idle():
                    if data is None:
                        data = built.get(id(frame))
                        if data is None:
                            data = built[id(frame)] = wire(frame)
                    if writer.write(data):
                        direct += 1
                        if subscription.timed:
                            self.written(frame)
                        continue
                if not subscription.queue.offer(frame):
                    behind.append(subscription)
        if direct:
            FRAMES_DIRECT.inc(direct)
        for subscription in behind:
            self._fell_behind(subscription)

    def _remember(self, entry: Frame | Batch) -> None:
        """Keep ``entry`` in the history, forgetting the oldest past :data:`HISTORY` entries or
        :data:`HISTORY_CHARACTERS` of text; forgetting only from the old end keeps the entries'
        numbers consecutive, which :meth:`missed` counts on."""
        recent = self._recent
        recent.append(entry)
        self._recent_characters += entry.characters
        while len(recent) > 1 and (
            len(recent) > HISTORY or self._recent_characters > HISTORY_CHARACTERS
        ):
            self._recent_characters -= recent.popleft().characters

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
        view = subscription.view
        return [frame for entry in window if (frame := entry.for_view(view)) is not None]

    def written(self, frame: Frame) -> None:
        """A console's sender wrote ``frame`` to its socket: observe how long it took since it
        was published (a pong, which was never published, is not observed)."""
        if frame.published is not None:
            FRAME_WRITTEN_SECONDS.observe(time.perf_counter() - frame.published)

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

    def _put(self, subscription: Subscription, item: Frame | Resync) -> None:
        if not subscription.queue.offer(item):
            self._fell_behind(subscription)

    def _fell_behind(self, subscription: Subscription) -> None:
        # Reconnecting resynchronises too, and is what a console this far behind needs.
        subscription.overflowed.set()
        self.unsubscribe(subscription)

    def watching(self, queues: Iterable[str]) -> dict[str, int]:
        """How many connected consoles show each queue's cases."""
        return {
            queue: sum(
                len(group) for view, group in self._views.items() if sees(view, frozenset({queue}))
            )
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
