"""``scripts/perf/spy_threads.py`` counts a router's two threads tick by tick correctly."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support import perf_script


def spy_threads() -> ModuleType:
    """The script as a module."""
    return perf_script("spy_threads")


FRAMES = [
    {"name": "Runner.run", "file": "asyncio/runners.py"},  # 0: uvloop idle
    {"name": "RecoveryRouter.run", "file": "consumer.py"},  # 1
    {"name": "case_summaries", "file": "bulk_store.py"},  # 2
    {"name": "_worker", "file": "concurrent/futures/thread.py"},  # 3: worker idle
    {"name": "RecoveryRouter._code_batch", "file": "consumer.py"},  # 4
    {"name": "find_hits", "file": "rules.py"},  # 5
]
IDLE, STORE = [0], [1, 2]
WAIT, CODE = [3], [3, 4, 5]


def recording(main: list[list[int]], worker: list[list[int]]) -> dict[str, Any]:
    """A speedscope document as py-spy writes it (weights in seconds at 100 Hz)."""
    return {
        "shared": {"frames": FRAMES},
        "profiles": [
            {"name": 'Thread 1 "MainThread"', "samples": main, "weights": [0.01] * len(main)},
            {"name": 'Thread 2 "uvloop_0"', "samples": worker, "weights": [0.01] * len(worker)},
        ],
    }


def test_ticks_are_lined_up_from_the_end_and_counted_by_who_waits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The worker starts two ticks late; its timeline is lined up with the loop's last ticks.
    main = [IDLE, IDLE, STORE, IDLE, STORE, IDLE]
    worker = [CODE, CODE, WAIT, WAIT]
    path = tmp_path / "router.json"
    path.write_text(json.dumps(recording(main, worker)))

    spy_threads().report(path, top=5, whole=True)

    out = capsys.readouterr().out
    assert "4 ticks" in out
    assert "25.0 %  both waiting (process idle)" in out  # the last tick: both idle
    assert "25.0 %  loop working, coding thread idle" in out  # the third
    assert "25.0 %  coding, loop waiting" in out  # the second
    assert "25.0 %  both working" in out  # the first
    assert "50.0 %  store: case summaries" in out


def test_only_ticks_near_coding_count_unless_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main = [IDLE] * 10 + [STORE] * 2
    worker = [WAIT] * 10 + [CODE, WAIT]
    path = tmp_path / "router.json"
    path.write_text(json.dumps(recording(main, worker)))
    module = spy_threads()

    module.report(path, top=5, gap=1)
    assert "3 ticks" in capsys.readouterr().out  # the tick coding and one either side

    module.report(path, top=5, whole=True)
    assert "12 ticks" in capsys.readouterr().out
