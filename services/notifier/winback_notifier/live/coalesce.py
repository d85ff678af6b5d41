"""Quiet case changes that arrive together leave as one frame per view: ``cases.changed``.

The outbox sweep sends a re-coding run's or the refiner's changes (``recoded``) in bursts of up
to 200 (``cases.publisher.SWEEP_BATCH``). One frame per change made every console read and
apply hundreds of frames per sweep, and a pop-up published meanwhile waited behind them in the
mailbox of a console that was busy (docs/performance.md, sections 25 and 28). So the feed holds
the quiet changes it reads (:class:`QuietChanges`) while more keep coming, and then the hub
sends each view one ``{"type": "cases.changed", "changes": [...]}`` frame: the ``case.changed``
frames that view would have got, unchanged and in the order they were read. A console applies
the list exactly as it would have applied each frame in turn.

Only kinds that are never news are held: a ``recoded`` change updates what a console shows and
never pops up, beeps or notifies (the console's ``QUIET_KINDS``), so sending it up to
:data:`HOLD_MAX_SECONDS` later costs nobody anything. Everything else goes out at once, alerts
first of all. Per case the order stays the one read from Kafka (each case's changes share a
partition): before any other message about a case with a held change is published, the held
changes go out, so the newer message still arrives last and wins.

Not done in the publisher (one Kafka event per sweep): ``case-events`` is also read by the
outbound integrations and by customers' own consumers (docs/outcomes.md), which expect one
``case.changed`` per change.
"""

from __future__ import annotations

from winback_shared.case_vocabulary import HistoryKind

HELD_KINDS = frozenset({HistoryKind.RECODED})
"""Change kinds held and sent together: those no console treats as news (the console's
``QUIET_KINDS`` in ``static/board-state.js``; a unit test holds the two lists equal)."""
BATCH_TYPE = "cases.changed"
"""The frame type of several ``case.changed`` frames sent as one."""
HOLD_QUIET_SECONDS = 0.1
"""Held changes leave once the feed has read nothing more for this long."""
HOLD_MAX_SECONDS = 1.0
"""...and at the latest this long after the first of them was read, however busy the topic."""
HOLD_MAX_BYTES = 512 * 1024
"""...or once their frames add up to this many characters (a console reads a frame whole).
Checked after each read, not within one: a pop-up later in the same read must not wait behind
a batch sent half-way through it (docs/performance.md, section 29, measured both). So a frame
can pass the bound by one read's re-codings (a read is bounded by the consumer's fetch sizes;
a sweep sends 200 at most)."""


def batch_frame(frames: list[str]) -> str:
    """One ``cases.changed`` frame carrying ``frames`` (each a ``case.changed`` frame's text)."""
    return '{"type":"' + BATCH_TYPE + '","changes":[' + ",".join(frames) + "]}"


class QuietChanges:
    """The quiet changes the feed holds: their frames, audiences and cases, in reading order."""

    def __init__(
        self,
        quiet_seconds: float = HOLD_QUIET_SECONDS,
        max_seconds: float = HOLD_MAX_SECONDS,
        max_bytes: int = HOLD_MAX_BYTES,
    ) -> None:
        self.quiet_seconds = quiet_seconds
        self._max_seconds = max_seconds
        self._max_bytes = max_bytes
        self._items: list[tuple[str, frozenset[str]]] = []
        self._cases: set[int] = set()
        self._size = 0
        self._since = 0.0

    def __len__(self) -> int:
        return len(self._items)

    def hold(self, frame: str, audience: frozenset[str], case_id: int, now: float) -> None:
        """Keep one change's frame (``now``: a monotonic clock, for :meth:`due`)."""
        if not self._items:
            self._since = now
        self._items.append((frame, audience))
        self._cases.add(case_id)
        self._size += len(frame)

    def holds(self, case_id: int) -> bool:
        """Whether a change of this case is held (so a newer message about it must wait)."""
        return case_id in self._cases

    def due(self, now: float) -> bool:
        """Whether what is held must leave now, without waiting for a quiet moment."""
        return bool(self._items) and (
            self._size >= self._max_bytes or now - self._since >= self._max_seconds
        )

    def wait_seconds(self, now: float, idle: float) -> float:
        """How long the feed may wait for more records: ``idle`` when nothing is held."""
        if not self._items:
            return idle
        left = self._since + self._max_seconds - now
        return max(0.0, min(self.quiet_seconds, left))

    def take(self) -> list[tuple[str, frozenset[str]]]:
        """Everything held, oldest first; nothing is held afterwards."""
        items = self._items
        self._items = []
        self._cases = set()
        self._size = 0
        return items
