"""``scripts/perf/coding_stages.py`` times every stage it names and never reads the blind set."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.support import perf_script
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.learned import FAST_MODEL
from winback_router.coding.rules import FoldedText


def coding_stages() -> ModuleType:
    """The script as a module."""
    return perf_script("coding_stages")


def test_the_blind_set_is_not_among_the_files_read() -> None:
    assert all("blind" not in split for split in coding_stages().SPLITS)


def test_each_stage_is_timed_and_the_rest_is_what_the_whole_leaves() -> None:
    tool = coding_stages()
    texts = ["I was on hold for an hour. Nobody called back, please call me", "Fine"]
    figures = tool.stages(texts, load_and_compile(model=FAST_MODEL), repeats=1)
    assert set(figures) == {
        "fold",
        "rules",
        "model",
        "follow-up",
        "whole",
        "rest",
        "patterns run",
        "words",
    }
    assert all(figures[name] >= 0 for name in ("fold", "rules", "model", "follow-up", "whole"))
    four = sum(figures[name] for name in ("fold", "rules", "model", "follow-up"))
    assert figures["rest"] == pytest.approx(figures["whole"] - four)
    words = sum(len(FoldedText.of(text).words) for text in texts)
    assert figures["words"] == words / len(texts)
    assert figures["patterns run"] > 0  # "hold" and "call" let some patterns run
