"""Keeping the start-up heap out of the collector's full passes while the notifier runs.

Why: a full (generation 2) collection walks every container object the process holds, and the
notifier holds about 100,000 of them before its first console signs in (modules, functions,
pydantic schemas, FastAPI's routes and dependants, aiokafka's protocol schemas), none of which
ever becomes garbage. Each console then adds about 120 more (its tasks, coroutines, websocket
and queue), so while 1,000 consoles sign in CPython runs several full collections (3 to 12 in the
bench's runs), each walking the start-up heap again, the longest at the end
(docs/performance.md, section 32).
Frozen, the start-up objects are skipped by every collection, so a full one walks only what
came after start-up.

Not done: raising the generation thresholds (``gc.set_threshold``), not measured. CPython runs
a full collection only once the objects that survived the younger ones since the last full
collection exceed a quarter of those it kept; that rule, which no threshold changes, is what
paces them while the heap grows.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_collected_in_this_process = False
"""Whether a start-up of this process has collected its garbage already (see below)."""


@contextmanager
def start_up_frozen(*, collect: bool | None = None) -> Iterator[None]:
    """Freeze what start-up built while the body runs; unfreeze it when the body ends.

    The first start-up of a process collects its garbage before freezing, so none of it is
    frozen for the process's serving life. ``collect`` (default: only on that first start-up)
    can force it either way. A later start-up in the same process (the tests, which build the
    app hundreds of times) skips the collection: a full pass of a test process's heap costs
    a third of a second each time, and what garbage such a start-up freezes is unfrozen, then
    collected as usual, when its body ends. Unfreezing on the way out lets a process that builds
    the app more than once collect what the previous app left behind.
    """
    global _collected_in_this_process
    if collect is None:
        collect = not _collected_in_this_process
    if collect:
        gc.collect()
        _collected_in_this_process = True
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
