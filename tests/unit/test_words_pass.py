"""The words pass of coding (folding a comment, then walking its words for keywords) gives
exactly what the word-by-word code gave, on its fast paths too (docs/performance.md, section 27).

``split_words`` takes a text with no negated auxiliary through one regex split and running
sums, and any other text word by word; ``FoldedText.of`` computes its offsets from running sums;
``find_hits`` looks each word's keyword rules up in a per-index cache. Each is held here to a
reference written the slow way (``test_coding_fast_paths.py``'s, and ``FoldedText.of`` as it
was), on tricky and generated text and on every labelled comment.
"""

from __future__ import annotations

import random
import re
from functools import cache
from pathlib import Path

import pytest

from tests.unit.test_coding_fast_paths import (
    TRICKY,
    generated,
    reference_hits,
    reference_split,
    tricky_rules,
)
from winback_router.coding import compiler
from winback_router.coding.compiler import compiled_rules
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.rules import SENTENCE_MARK, FoldedText, find_hits
from winback_shared import folding
from winback_shared.folding import split_words
from winback_shared.taxonomy import load_taxonomy

WORD = re.compile(r"[^\W_]+")


@cache
def labelled() -> list[str]:
    """Every labelled comment of the files above (the blind set is never read)."""
    files = sorted(DEFAULT_DATA.glob("*.jsonl"))
    read = [path for path in files if path.stem not in ("blind", "second-readings")]
    return [example.text for path in read for example in load_examples(path)]


def without_negations(texts: list[str]) -> list[str]:
    """The texts with every apostrophe and every word that folds to a negated auxiliary (or to
    "t") taken out, so that they take ``split_words``' fast path."""
    return [
        WORD.sub(
            lambda match: "" if folding.fold(match.group()) in folding._NEGATED else match.group(),
            text.replace("'", " ").replace("\u2019", " "),
        )
        for text in texts
    ]


# The reference: FoldedText.of as it was written, word by word.
def reference_folded(text: str) -> tuple[str, list[int], str, list[int]]:
    words = split_words(text)
    offsets: list[int] = []
    joined_offsets: list[int] = []
    pieces: list[str] = []
    position = joined_position = 1
    for index, word in enumerate(words):
        if index and word.sentence != words[index - 1].sentence:
            pieces.append(SENTENCE_MARK)
            position += len(SENTENCE_MARK) + 1
        offsets.append(position)
        joined_offsets.append(joined_position)
        pieces.append(word.text)
        position += len(word.text) + 1
        joined_position += len(word.text) + 1
    joined = " " + " ".join(word.text for word in words) + " "
    return " " + " ".join(pieces) + " ", offsets, joined, joined_offsets


def fast_path_texts() -> list[str]:
    return without_negations(TRICKY + generated(300, seed=27))


def test_the_fast_path_texts_do_take_it() -> None:
    """The texts below exercise the split's fast path, not only the walk."""
    taken = [
        folding._NEGATED.isdisjoint(folding._WORD_SPLIT.split(folding.fold(text))[1::2])
        for text in fast_path_texts()
    ]
    assert all(taken)


@pytest.mark.parametrize("text", fast_path_texts())
def test_split_words_fast_path_is_the_plain_folding(text: str) -> None:
    assert [tuple(word) for word in split_words(text)] == reference_split(text)


def test_split_words_on_every_labelled_comment_is_the_plain_folding() -> None:
    texts = labelled()
    assert len(texts) > 4000
    slow = 0
    for text in texts:
        words = [tuple(word) for word in split_words(text)]
        assert words == reference_split(text), text
        slow += not folding._NEGATED.isdisjoint(w[0] for w in words) or "'" in text
    assert 0 < slow < len(texts)  # both paths were taken


@pytest.mark.parametrize("text", ["", "   ", "...", "_", "a", "İİ \u0131", "x_y", "ﬁ ﬁ", "1.5 2,3"])
def test_split_words_edges(text: str) -> None:
    assert [tuple(word) for word in split_words(text)] == reference_split(text)


def test_a_length_changing_fold_keeps_the_offsets_of_the_original() -> None:
    """Folding can lengthen a word ("straße" -> "strasse"); offsets stay the text's own."""
    words = split_words("Straße İstanbul ﬁne. Done")
    assert [(w.text, w.start, w.end) for w in words] == [
        ("strasse", 0, 6),
        ("istanbul", 7, 15),
        ("fine", 16, 19),
        ("done", 21, 25),
    ]
    assert [tuple(word) for word in words] == reference_split("Straße İstanbul ﬁne. Done")


@pytest.mark.parametrize("text", TRICKY + generated(200, seed=31) + fast_path_texts()[:100])
def test_folded_text_is_the_word_by_word_one(text: str) -> None:
    folded = FoldedText.of(text)
    assert (folded.padded, folded.offsets, folded.joined, folded.joined_offsets) == (
        reference_folded(text)
    )


def test_folded_text_on_every_labelled_comment_is_the_word_by_word_one() -> None:
    for text in labelled():
        folded = FoldedText.of(text)
        assert (folded.padded, folded.offsets, folded.joined, folded.joined_offsets) == (
            reference_folded(text)
        ), text


def test_keyword_rules_by_word_from_the_cache_equal_the_index() -> None:
    keywords = compiled_rules(load_taxonomy()).keywords
    words = [word.text for text in TRICKY + labelled()[:300] for word in split_words(text)]
    first = keywords.starting_each(words)
    again = keywords.starting_each(words)  # all from the cache now
    assert first == again == [tuple(keywords.starting(word)) for word in words]
    assert any(first) and not all(first)


def test_the_keyword_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiler, "FIRST_WORDS_GENERATION", 3)
    keywords = compiler.KeywordIndex.of(list(compiled_rules(load_taxonomy()).rules))
    words = [word.text for word in split_words(" ".join(TRICKY))]
    assert len(set(words)) > 6
    assert keywords.starting_each(words) == [tuple(keywords.starting(word)) for word in words]
    assert 3 <= len(keywords.cache) <= 6  # two generations of three at most
    assert keywords.starting_each(words) == [tuple(keywords.starting(word)) for word in words]


def test_find_hits_on_labelled_comments_equals_the_plain_walk(tmp_path: Path) -> None:
    """Every regex run and every keyword walked piece by piece, on a sample of the labelled
    comments (the reference runs all 128 patterns a comment: the whole set takes minutes)."""
    rules = compiled_rules(load_taxonomy())
    texts = random.Random(27).sample(labelled(), 400)
    for text in texts + without_negations(texts[:100]):
        folded = FoldedText.of(text)
        assert find_hits(folded, rules) == reference_hits(folded, rules), text
    tricky = tricky_rules(tmp_path)
    for text in texts[:100]:
        folded = FoldedText.of(text)
        assert find_hits(folded, tricky) == reference_hits(folded, tricky), text
