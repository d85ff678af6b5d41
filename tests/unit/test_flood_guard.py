"""The flood guard as a pure rule."""

from __future__ import annotations

import pytest

from winback_router.dead_letters.flood_guard import DeadLetterFlood, FloodGuard


def test_guard_counts_a_window_and_forgives_a_refused_batch() -> None:
    guard = FloodGuard(window=4, max_ratio=0.5, min_records=4)
    guard.check([False, False, True])
    with pytest.raises(DeadLetterFlood):
        guard.check([True, True])  # window: F T T T -> 3/4
    guard.check([False])  # the refused batch was not counted: F F T F
    with pytest.raises(ValueError, match="min_records"):
        FloodGuard(window=2, min_records=3)
