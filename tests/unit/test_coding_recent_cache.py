"""The coder's per-word caches keep the words in use and hold at most two generations."""

from __future__ import annotations

import pytest

from winback_router.coding.recent_cache import RecentCache


def test_a_miss_is_none_and_a_stored_value_comes_back() -> None:
    cache: RecentCache[str, tuple[int, ...]] = RecentCache(4)
    assert cache.get("late") is None
    cache.put("late", ())
    assert cache.get("late") == ()  # an empty value is a hit, not a miss
    assert cache.recent == {"late": ()}


def test_it_never_holds_more_than_two_generations() -> None:
    cache: RecentCache[int, int] = RecentCache(5)
    for key in range(1_000):
        cache.put(key, key)
        assert len(cache) <= 10
    assert [cache.get(key) for key in range(995, 1_000)] == list(range(995, 1_000))
    assert cache.get(989) is None  # more than two generations back: gone


def test_a_key_in_use_stays_while_keys_seen_once_pass_through() -> None:
    cache: RecentCache[str, int] = RecentCache(3)
    cache.put("wait", 1)
    for n in range(100):
        cache.put(f"order {n}", n)
        assert cache.get("wait") == 1  # reused from the older generation: kept again
    assert cache.get("order 0") is None
    assert len(cache) <= 6


def test_a_value_found_in_the_older_generation_moves_to_the_newest() -> None:
    cache: RecentCache[str, int] = RecentCache(2)
    cache.put("a", 1)
    cache.put("b", 2)  # the generation is full: {a, b} is now the older one
    assert cache.recent == {}
    assert cache.get("a") == 1
    assert cache.recent == {"a": 1}


def test_a_generation_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RecentCache(0)
