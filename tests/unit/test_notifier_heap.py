"""The notifier's start-up heap is frozen while it serves and unfrozen when it stops."""

from __future__ import annotations

import gc
import weakref

import pytest

from winback_notifier.heap import start_up_frozen


class Node:
    """A container that can sit in a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def test_what_exists_at_start_up_is_frozen_until_the_body_ends() -> None:
    kept = Node()
    assert gc.get_freeze_count() == 0
    with start_up_frozen():
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # frozen: out of every generation
    assert gc.get_freeze_count() == 0
    assert any(o is kept for o in gc.get_objects())


def test_start_up_garbage_is_collected_not_frozen() -> None:
    first, second = Node(), Node()
    first.other, second.other = second, first
    gone = weakref.ref(first)
    del first, second  # a cycle: only the collector frees it
    with start_up_frozen(collect=True):
        assert gone() is None


def test_a_later_start_up_freezes_without_collecting_and_its_garbage_goes_after() -> None:
    with start_up_frozen():  # the process's first start-up collects, if none has yet
        pass
    gc.disable()  # no automatic pass between making the garbage and freezing it
    try:
        first, second = Node(), Node()
        first.other, second.other = second, first
        gone = weakref.ref(first)
        del first, second
        with start_up_frozen():
            assert gone() is not None  # frozen with the rest, not collected
    finally:
        gc.enable()
    gc.collect()
    assert gone() is None


def test_an_error_in_the_body_still_unfreezes() -> None:
    with pytest.raises(RuntimeError), start_up_frozen():
        raise RuntimeError("stopped")
    assert gc.get_freeze_count() == 0
