"""``scripts/perf/coding_memory.py`` streams varied comments, the same for a seed, and never
reads the blind set."""

from __future__ import annotations

import random
from types import ModuleType

from tests.support import perf_script


def coding_memory() -> ModuleType:
    """The script as a module."""
    return perf_script("coding_memory")


def test_the_blind_set_is_not_among_the_files_read() -> None:
    tool = coding_memory()
    assert "blind.jsonl" in tool.NOT_READ
    assert len(tool.labelled_texts()) > 1_000


def test_the_stream_gives_the_labelled_comments_then_varied_ones_the_same_for_a_seed() -> None:
    tool = coding_memory()
    texts = ["my order never came and nobody answered", "the agent was rude to me"]
    first = list(tool.stream(texts, 400, seed=3))
    assert first[:2] == texts
    assert first == list(tool.stream(texts, 400, seed=3))
    assert first != list(tool.stream(texts, 400, seed=4))
    words = {word for text in first for word in text.split()}
    assert len(words) > 100  # numbers, misspellings: new words keep coming


def test_a_varied_comment_keeps_most_of_its_words() -> None:
    tool = coding_memory()
    text = "I waited forty minutes on hold and nobody called me back"
    for seed in range(50):
        changed = tool.varied(text, random.Random(seed)).split()
        assert len(set(changed) & set(text.split())) >= len(text.split()) - 1
