"""The model's fast feature counting (coding/word_features.py) against the plain way: every
n-gram of the comment looked up and counted with a ``Counter``, then weighted and multiplied as
before. Same features, counts and order, so the same logits to the bit."""

from __future__ import annotations

import random
import threading
from collections import Counter

import numpy as np
import pytest

from winback_router.coding import word_features
from winback_router.coding.learned import (
    _BLOCK_SCALE,
    _TOKEN,
    DEFAULT_MODEL,
    FAST_MODEL,
    ReasonModel,
    Vector,
    char_ngrams,
    fold_for_model,
    load_model,
    word_ngrams,
)
from winback_router.coding.repetition import repetition_cues
from winback_router.coding.word_features import Scratch, WordFeatures

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""Every kind of whitespace ``str.split`` and ``\\s`` agree on, a sample of each range."""
TRICKY = [
    "",
    " ",
    WHITESPACE,
    "!!!",
    "wait",
    "wait wait wait wait",
    "Wait. WAIT! wait? wait...",
    "banana bandana ananas nana",  # the same character n-grams inside and across words
    "on hold on hold on hold forever on hold",  # repeated word pairs
    "hold !!! forever -- hold ... forever",  # a pair across words without tokens
    "zzqxj qqqvvv xkcdz zzqxj",  # unknown words
    "don't can't won't e-mail re-send a.b.c foo_bar 2nd 30 minutes",
    "Café très cher, le serveur était impoli.",
    "a  b\tcd   Überweisung fehlgeschlagen",
    "\uff57\uff41\uff49\uff54\uff45\uff44 ﬁne ﬂight Ⅻ ²³",  # all unfolded by NFKD
    "e\u0301te\u0301 cafe\u0301 n\u0303",  # combining marks
    "Ждали час на линии, никто не перезвонил",
    "等了一个小时 没有人回电话",
    "Waited 😡😡 an hour 🙃 on hold",
    "I waited" + WHITESPACE + "on hold" + WHITESPACE.join("for ages"),
    "x" * 2000,
    "abc " * 300,
]


def plain_logits(model: ReasonModel, text: str) -> Vector:
    """``text_logits`` as it was before the fast path: whole-comment n-grams, one ``Counter``
    per block, then the same weighting and product."""
    folded = fold_for_model(text)
    chars, char_weights = model.chars.weights(char_ngrams(folded))
    words, word_weights = model.words.weights(word_ngrams(folded))
    logits: Vector = model.bias.copy()
    if chars.size or words.size:
        index = np.concatenate((chars, words))
        values = np.concatenate((char_weights, word_weights)).astype(np.float32)
        logits += (values * np.float32(_BLOCK_SCALE)) @ model.weights[index]
    if model.cue_weights is not None:
        logits += repetition_cues(text) @ model.cue_weights
    return logits


def plain_counts(model: ReasonModel, folded: str) -> tuple[list[int], list[float], int]:
    """Both blocks' ``Counter`` keys (in their order) and counts, and the character block's size."""
    chars = Counter(model.chars.known(char_ngrams(folded)))
    words = Counter(model.words.known(word_ngrams(folded)))
    return [*chars, *words], [float(c) for c in [*chars.values(), *words.values()]], len(chars)


def generated(count: int, seed: int = 12) -> list[str]:
    """Texts of known and unknown words, repeats, punctuation, accents and odd whitespace."""
    model = load_model(FAST_MODEL)
    rng = random.Random(seed)
    known = sorted(term for term in model.words.index if " " not in term)
    pool = [
        *rng.sample(known, 300),
        "wait",
        "hold",
        "again",
        "zzqxj",
        "Café",
        "ÉTÉ",
        "naïve",
        "\uff48\uff4f\uff4c\uff44",
        "😡",
        "!!!",
        "don't",
        "e-mail",
        "2nd",
        "日本",
    ]
    gaps = [" ", " ", " ", "  ", ", ", ". ", "! ", "\n", "\t", "\xa0", " - ", "\u3000"]
    texts = []
    for _ in range(count):
        words = [rng.choice(pool) for _ in range(rng.randint(0, 60))]
        if words and rng.random() < 0.3:
            words += words[: rng.randint(1, len(words))]  # the comment says it again
        texts.append("".join(word + rng.choice(gaps) for word in words))
    return texts


@pytest.mark.parametrize("path", [FAST_MODEL, DEFAULT_MODEL], ids=["fast", "full"])
def test_counts_are_the_plain_counters_features_counts_and_order(path: object) -> None:
    model = ReasonModel.read(path)  # type: ignore[arg-type]
    for text in [*TRICKY, *generated(300)]:
        folded = fold_for_model(text)
        for _ in ("cold", "warm"):
            found = model._features.counts(folded)
            positions, counts, chars = plain_counts(model, folded)
            assert found.positions.tolist() == positions, text
            assert found.counts.tolist() == counts, text
            assert found.chars == chars, text


@pytest.mark.parametrize("path", [FAST_MODEL, DEFAULT_MODEL], ids=["fast", "full"])
def test_logits_are_the_plain_ways_to_the_bit(path: object) -> None:
    model = ReasonModel.read(path)  # type: ignore[arg-type]
    for text in [*TRICKY, *generated(500, seed=7)]:
        expected = plain_logits(model, text).tobytes()
        for _ in ("cold", "warm"):
            assert model.text_logits(text).tobytes() == expected, text


def test_words_past_the_cache_size_are_read_again_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(word_features, "WORD_CACHE_GENERATION", 3)
    model = ReasonModel.read(FAST_MODEL)
    for text in TRICKY[4:12] * 2:
        assert model.text_logits(text).tobytes() == plain_logits(model, text).tobytes(), text
    assert 3 <= len(model._features._cache) <= 6  # two generations of three at most


def test_the_scratch_counts_as_a_counter_and_comes_back_to_rest() -> None:
    rng = np.random.default_rng(3)
    scratch = Scratch(50)
    for size in (0, 1, 2, 7, 100, 1000):
        positions = rng.integers(0, 50, size).astype(np.int64)
        distinct, counts = scratch.count(positions)
        expected = Counter(positions.tolist())
        assert distinct.tolist() == list(expected)
        assert counts.tolist() == [float(c) for c in expected.values()]
        assert not scratch.counts.any()
        assert (scratch.first == np.iinfo(np.int64).max).all()


def test_threads_count_in_scratches_of_their_own() -> None:
    model = ReasonModel.read(FAST_MODEL)
    texts = generated(60, seed=5)
    expected = [plain_logits(model, text).tobytes() for text in texts]
    wrong: list[str] = []

    def code(order: list[int]) -> None:
        for _ in range(3):
            for i in order:
                if model.text_logits(texts[i]).tobytes() != expected[i]:
                    wrong.append(texts[i])

    threads = [
        threading.Thread(target=code, args=(random.Random(n).sample(range(60), 60),))
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_vocabularies_whose_features_interleave_are_refused() -> None:
    with pytest.raises(ValueError, match="character feature"):
        WordFeatures({"ab": 0, "cd": 2}, {"ab": 1}, char_ngrams, _TOKEN, range(2, 3))
