"""``scripts/perf/board_frames.py`` reports what a board keeps for many agents' consoles."""

from __future__ import annotations

import re

from tests.support import perf_script
from winback_notifier.live.board import FRAME_CHARACTERS_PER_BOARD


def frames_and_memory(line: str) -> tuple[int, float]:
    """The frames kept and the MB they hold, from the script's line."""
    found = re.fullmatch(
        r"board [\d.]+ MB, \d+ agents: (\d+) frames kept, ([\d.]+) MB held \(peak [\d.]+ MB\)",
        line,
    )
    assert found is not None, line
    return int(found[1]), float(found[2])


def test_a_large_board_keeps_what_fits_its_budget_a_small_one_every_agent_s() -> None:
    tool = perf_script("board_frames")

    kept, held = frames_and_memory(tool.measure(agents=50, cards=500))  # ~2 MB frames
    assert 1 <= kept < 50
    assert held <= FRAME_CHARACTERS_PER_BOARD / 2**20 + 1

    kept, _ = frames_and_memory(tool.measure(agents=50, cards=1))
    assert kept == 50
