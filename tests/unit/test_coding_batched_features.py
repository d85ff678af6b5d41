"""The model's features counted and weighted a batch at a time (``WordFeatures.counts_many``,
``ReasonModel.tfidf_row_each`` and ``text_logits_each``, and the coder's batch of sentences)
against the plain way, comment by comment: the same features, counts, rows and logits to the
bit whatever the batch holds and however it is cut, and the same reasons quoting the same
sentences (docs/performance.md, section 30)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from functools import cache

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.test_coding_word_features import TRICKY, generated, plain_counts, plain_logits
from winback_router.coding import learned
from winback_router.coding.coder import code_responses
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.learned import (
    DEFAULT_MODEL,
    FAST_MODEL,
    ReasonModel,
    fold_for_model,
)
from winback_router.coding.word_features import Scratch, character_bounded
from winback_shared.survey import SurveyResponse

RECEIVED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@cache
def labelled() -> list[str]:
    """Every labelled comment but the blind set's (never read) and the second readings'."""
    files = sorted(DEFAULT_DATA.glob("*.jsonl"))
    read = [path for path in files if path.stem not in ("blind", "second-readings")]
    return [example.text for path in read for example in load_examples(path)]


def batch_of_everything(seed: int) -> list[str]:
    """Tricky and generated texts, empty ones and repeats among them, shuffled."""
    texts = [*TRICKY, *generated(200, seed=seed), "", "", TRICKY[5], TRICKY[5]]
    random.Random(seed).shuffle(texts)
    return texts


def cuts(texts: list[str], sizes: tuple[int, ...]) -> list[list[str]]:
    """``texts`` cut into consecutive batches of the given sizes in turn (the rest last)."""
    batches, first, turn = [], 0, 0
    while first < len(texts):
        size = sizes[turn % len(sizes)]
        batches.append(texts[first : first + size])
        first, turn = first + size, turn + 1
    return batches


@pytest.mark.parametrize("path", [FAST_MODEL, DEFAULT_MODEL], ids=["fast", "full"])
def test_a_batchs_counts_are_each_comments_plain_counters(path: object) -> None:
    model = ReasonModel.read(path)  # type: ignore[arg-type]
    texts = batch_of_everything(seed=3)
    folded = [fold_for_model(text) for text in texts]
    for _ in ("cold", "warm"):
        found = model._features.counts_many(folded)
        assert len(found) == len(texts)
        for index, text in enumerate(folded):
            counts = found.of(index)
            positions, expected, chars = plain_counts(model, text)
            assert counts.positions.tolist() == positions, text
            assert counts.counts.tolist() == expected, text
            assert counts.chars == chars, text
    scratch = model._features._scratch()
    assert not scratch.counts.any()
    assert (scratch.first == np.iinfo(np.int64).max).all()


def test_an_empty_batch_counts_nothing() -> None:
    model = ReasonModel.read(FAST_MODEL)
    assert len(model._features.counts_many([])) == 0
    assert model.tfidf_row_each([]) == []
    assert model.text_logits_each([]) == []


@pytest.mark.parametrize("path", [FAST_MODEL, DEFAULT_MODEL], ids=["fast", "full"])
@pytest.mark.parametrize("sizes", [(1,), (2, 7), (100,), (1000,)], ids=str)
def test_a_batchs_logits_are_the_plain_ways_to_the_bit(
    path: object, sizes: tuple[int, ...]
) -> None:
    model = ReasonModel.read(path)  # type: ignore[arg-type]
    texts = batch_of_everything(seed=11)
    expected = {text: plain_logits(model, text).tobytes() for text in texts}
    for batch in cuts(texts, sizes):
        for text, logits in zip(batch, model.text_logits_each(batch), strict=True):
            assert logits.dtype == np.float32
            assert logits.tobytes() == expected[text], text


@pytest.mark.parametrize("path", [FAST_MODEL, DEFAULT_MODEL], ids=["fast", "full"])
def test_a_batchs_rows_are_each_comments_own(path: object) -> None:
    model = ReasonModel.read(path)  # type: ignore[arg-type]
    texts = [*labelled()[:300], *batch_of_everything(seed=5)]
    alone = [model.tfidf_row(text) for text in texts]
    rows = model.tfidf_row_each(texts)
    for text, row, own in zip(texts, rows, alone, strict=True):
        assert row.positions.tolist() == own.positions.tolist(), text
        assert row.values.tobytes() == own.values.tobytes(), text
    logits = model.text_logits_each(texts, rows)
    for text, found in zip(texts, logits, strict=True):
        assert found.tobytes() == plain_logits(model, text).tobytes(), text


def test_the_scratch_written_into_a_batch_counts_as_a_counter_and_comes_back_to_rest() -> None:
    rng = np.random.default_rng(8)
    scratch = Scratch(50)
    for size in (0, 1, 2, 7, 100, 1000):
        positions = rng.integers(0, 50, size).astype(np.int64)
        occurrence = np.arange(10, 10 + 3 * size, 3, dtype=np.int64)  # any increasing numbers
        first = np.zeros(size, dtype=np.bool_)
        seen = np.zeros(size, dtype=np.float64)
        scratch.count_into(positions, occurrence, first, seen)
        expected = Counter(positions.tolist())
        assert positions[first].tolist() == list(expected)
        assert seen[first].tolist() == [float(c) for c in expected.values()]
        assert seen.tolist() == [float(expected[p]) for p in positions.tolist()]
        assert not scratch.counts.any()
        assert (scratch.first == np.iinfo(np.int64).max).all()


def response(key: int, comment: str) -> SurveyResponse:
    return SurveyResponse(
        response_id=f"r-{key}",
        comment=comment,
        reasons=[],
        source="s",
        vendor="generic",
        receipt_id="x",
        received_at=RECEIVED,
    )


def test_a_batchs_reasons_are_each_responses_own_and_quote_the_strongest_sentence() -> None:
    taxonomy = load_and_compile(model=FAST_MODEL)
    model = ReasonModel.read(FAST_MODEL)
    texts = labelled()[:600]
    responses = [response(i, text) for i, text in enumerate(texts)]
    batched = code_responses(responses, taxonomy)
    quoted = 0
    for text, single, reasons in zip(texts, responses, batched, strict=True):
        assert code_responses([single], taxonomy)[0] == reasons, text
        for reason in reasons:
            if reason.method != "model" or reason.span is None:
                continue
            # the sentence quoted scores highest for its code, each sentence scored the plain
            # way on its own (ties to the earlier)
            spans = _sentences(text)
            if len(spans) < 2:
                continue
            column = model.codes.index(reason.code)
            scores = [
                float(ReasonModel._sigmoid(plain_logits(model, text[start:end]))[column])
                for start, end in spans
            ]
            best = max(range(len(spans)), key=lambda i: (scores[i], -i))
            assert reason.span == spans[best], text
            quoted += 1
    assert quoted >= 10  # the batch held comments of several sentences the model coded


def _sentences(text: str) -> list[tuple[int, int]]:
    from winback_router.coding.rules import FoldedText
    from winback_router.coding.sentence_pool import sentence_spans

    return sentence_spans(FoldedText.of(text))


@given(
    lengths=st.lists(st.integers(0, 40), max_size=30),
    budget=st.integers(1, 60),
)
def test_texts_are_grouped_in_order_within_the_budget_and_no_smaller(
    lengths: list[int], budget: int
) -> None:
    texts = ["x" * n for n in lengths]
    groups = [list(group) for group in character_bounded(texts, budget)]
    assert [text for group in groups for text in group] == texts
    for index, group in enumerate(groups):
        size = sum(map(len, group))
        assert group, "no empty group"
        assert size <= budget or len(group) == 1
        if index + 1 < len(groups):  # a group closes only when the next text would not fit
            assert size + len(groups[index + 1][0]) > budget


@pytest.mark.parametrize("path", [FAST_MODEL, DEFAULT_MODEL], ids=["fast", "full"])
def test_a_long_batch_is_counted_in_groups_within_the_budget_with_the_same_rows(
    path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = ReasonModel.read(path)  # type: ignore[arg-type]
    texts = [*labelled()[:120], *batch_of_everything(seed=7)]
    alone = [model.tfidf_row(text) for text in texts]
    budget = 400
    monkeypatch.setattr(learned, "FEATURE_BATCH_CHARACTERS", budget)
    counted: list[list[str]] = []
    counts_many = model._features.counts_many

    def recorded(folded: list[str]) -> object:
        counted.append(list(folded))
        return counts_many(folded)

    monkeypatch.setattr(model._features, "counts_many", recorded)
    rows = model.tfidf_row_each(texts)
    assert len(counted) > 10
    assert all(sum(map(len, group)) <= budget or len(group) == 1 for group in counted)
    assert sum(map(len, counted)) == len(texts)
    for text, row, own in zip(texts, rows, alone, strict=True):
        assert row.positions.tolist() == own.positions.tolist(), text
        assert row.values.tobytes() == own.values.tobytes(), text
