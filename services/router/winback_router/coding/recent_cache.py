"""A cache of the entries used most recently, bounded in two generations.

The coder keeps per distinct word what it would otherwise recompute for every comment (a word's
features, the keyword rules it starts). Kept for ever, such caches fill with words seen once
(order numbers, names, misspellings) and stop helping, while each entry costs a few hundred
bytes: at 100,000 words a cache the router grew by about 50 MB under a stream of varied
comments (docs/performance.md, section 36). Here the newest generation takes every entry used;
when it is full it becomes the older one and the oldest is dropped, and an entry found only in
the older generation is copied back into the newest. Words in use stay cached, words seen once
leave within two generations, and at most ``2 x generation`` entries are ever held.

Not locked: the coder's threads may share one cache. A lookup reads one generation's
dictionary at a time and every stored value is complete, so a race can at worst drop an entry
that is then recomputed, never hand out a wrong one.
"""

from __future__ import annotations

from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class RecentCache(Generic[K, V]):
    """Values by key: those stored or reused most recently, at most two generations of
    ``generation`` entries each.

    ``None`` is not a storable value: :meth:`get` returns it for a miss.
    """

    __slots__ = ("_generation", "_older", "_recent")

    def __init__(self, generation: int) -> None:
        if generation < 1:
            raise ValueError("a generation holds at least one entry")
        self._generation = generation
        self._recent: dict[K, V] = {}
        self._older: dict[K, V] = {}

    @property
    def recent(self) -> dict[K, V]:
        """The newest generation, for a caller's fast path: if it holds every key wanted,
        plain dictionary reads are enough (read-only; store through :meth:`put`)."""
        return self._recent

    def get(self, key: K) -> V | None:
        """The value kept for ``key``, or ``None``; a value found in the older generation is
        kept again in the newest."""
        value = self._recent.get(key)
        if value is None:
            value = self._older.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` for ``key`` in the newest generation, starting a new one if full."""
        recent = self._recent
        recent[key] = value
        if len(recent) >= self._generation:
            self._older = recent
            self._recent = {}

    def __len__(self) -> int:
        """Entries held (a key reused from the older generation counts in both)."""
        return len(self._recent) + len(self._older)
