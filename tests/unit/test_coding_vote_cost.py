"""The full model's vote computed only where it can change something, and the nearest comments
read without converting the int8 rows per call: every result equal to the plain computation's,
to the bit (the vote's bounds hold exactly; the sentence quoted is the one scoring every sentence
in full picks; a comment whose vote is skipped gets no code a vote could have given; the
neighbours and their similarities are the product the vote reads, with no second copy of the
rows)."""

from __future__ import annotations

import dataclasses
import itertools
import tracemalloc
from collections.abc import Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tests.coding_support import comment_response
from winback_local.bench.deliveries import COMMENT
from winback_router.coding import coder
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.embeddings import Vectors, embed
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.learned import (
    DEFAULT_MODEL,
    FAST_MODEL,
    NEIGHBOURS,
    Neighbour,
    Neighbours,
    ReasonModel,
    Vector,
    load_model,
)
from winback_router.coding.neighbour_vote import NeighbourVote
from winback_router.coding.rules import FoldedText
from winback_router.coding.sentence_pool import sentence_spans, sentence_texts
from winback_router.coding.strongest_sentence import _contenders, strongest_sentences
from winback_router.coding.vote_range import vote_ranges

FILES = ("heldout.jsonl", "independent-heldout.jsonl")
"""Comments the tests code (never the blind set's)."""


def comments(count: int) -> list[str]:
    """The first ``count`` comments of each file of :data:`FILES`."""
    return [e.text for file in FILES for e in load_examples(DEFAULT_DATA / file)[:count]]


def plain_nearest(neighbours: Neighbours, vector: Vector, count: int) -> list[Neighbour]:
    """:meth:`Neighbours.nearest` computed plainly: the rows scaled to float32 per call, their
    product with ``vector``, a full stable sort."""
    rows = neighbours.vectors.astype(np.float32) * np.float32(neighbours.step)
    similarity = rows @ vector
    order = np.argsort(-similarity, kind="stable")[:count]
    return [
        Neighbour(neighbours.texts[i], neighbours.codes[i], round(float(similarity[i]), 3))
        for i in order
    ]


def plain_strongest(
    model: ReasonModel,
    comment: str,
    spans: Sequence[tuple[int, int]],
    vectors: Vectors | None,
    columns: Sequence[int],
    **batch_precomputed: object,
) -> list[int]:
    """What the coder computed before: every sentence's full probabilities, the vote included.

    The coder now passes each sentence's TF-IDF row and logits computed for its whole batch
    (``rows=``, ``logits=``); the plain computation ignores them and recomputes every sentence
    from its text, which is what makes it the reference."""
    by_sentence = [
        model.probabilities(
            comment[start:end],
            None if vectors is None else vectors[i],
            sentence_vectors=None if vectors is None else vectors[i : i + 1],
        )
        for i, (start, end) in enumerate(spans)
        if len(spans) > 1
    ]
    return [
        max(range(len(by_sentence)), key=lambda i: (by_sentence[i][column], -i), default=0)
        for column in columns
    ]


@pytest.fixture(scope="module")
def full() -> ReasonModel:
    model = load_model(DEFAULT_MODEL)
    assert model.vote is not None and model.neighbours is not None
    return model


def test_neighbours_are_the_votes_products_to_the_bit_ties_in_position_order() -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(size=(60, 24)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    rows = np.concatenate([rows, rows[::3], rows[:5]])  # repeated rows: equal similarities
    neighbours = Neighbours.of([f"c{i}" for i in range(len(rows))], [["x"]] * len(rows), rows)
    for vector in [*rows[:20], *rng.normal(size=(20, 24)).astype(np.float32)]:
        for count in (1, 2, 7, len(rows), len(rows) + 3):
            assert neighbours.nearest(vector, count) == plain_nearest(neighbours, vector, count)


def test_the_vote_matrix_and_its_row_lengths_are_the_whole_arrays_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(600, 32)).astype(np.float32)  # more rows than one block, not a multiple
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    neighbours = Neighbours.of([f"c{i}" for i in range(len(rows))], [["x"]] * len(rows), rows)
    matrix = neighbours.vectors.astype(np.float32) * np.float32(neighbours.step)
    assert neighbours.matrix.dtype == np.float32
    assert np.array_equal(neighbours.matrix, matrix)
    assert np.array_equal(neighbours.norms, np.linalg.norm(matrix.astype(np.float64), axis=1))
    empty = Neighbours((), (), np.zeros((0, 32), dtype=np.int8), 1.0)
    assert empty.norms.shape == (0,)


def test_the_row_lengths_are_measured_without_a_copy_of_the_matrix() -> None:
    neighbours = load_model(DEFAULT_MODEL).neighbours
    assert neighbours is not None
    fresh = dataclasses.replace(neighbours)  # its own cached matrix and lengths
    matrix_bytes = fresh.matrix.nbytes
    tracemalloc.start()
    try:
        fresh.norms  # noqa: B018 (the cached property is what is measured)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # the whole matrix in float64 was twice its float32 size, and its squares as much again:
    # four times the matrix at the peak, where a block of rows and its squares take 2 MB
    assert peak < matrix_bytes / 2


def test_the_shipped_neighbours_are_the_votes_products(full: ReasonModel) -> None:
    neighbours = full.neighbours
    assert neighbours is not None
    vectors = embed(comments(40))
    for vector in vectors:
        assert neighbours.nearest(vector) == plain_nearest(neighbours, vector, 2)
        assert neighbours.nearest(vector, 40) == plain_nearest(neighbours, vector, 40)
        # against the int8 product scaled after (what was shown before December 2): the last
        # bits only, far below the three decimals shown
        int8_product = (neighbours.vectors @ vector) * np.float32(neighbours.step)
        assert np.abs(neighbours.similarities(vector) - int8_product).max() < 1e-6


def test_finding_neighbours_keeps_no_copy_of_the_rows_beside_the_votes() -> None:
    neighbours = load_model(DEFAULT_MODEL).neighbours
    assert neighbours is not None
    fresh = dataclasses.replace(neighbours)  # its own cached arrays
    vector = fresh.matrix[0] / np.linalg.norm(fresh.matrix[0])
    tracemalloc.start()
    try:
        found = fresh.nearest(vector, 5)
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found[0].text == fresh.texts[0]
    assert kept < fresh.matrix.nbytes / 8  # a second float32 copy of the rows was all of it


def test_a_vote_lies_between_0_and_1_and_the_blend_between_its_bounds(full: ReasonModel) -> None:
    rng = np.random.default_rng(11)
    count = len(full.codes)
    assert full.vote is not None and full.neighbours is not None
    votes: list[npt.NDArray[np.float64]] = [np.zeros(count), np.ones(count)]  # float64 too
    votes += list(rng.random((200, count)).astype(np.float32))
    labels = rng.random((300, count)) < 0.3
    for k, gamma in itertools.product((1, 5, 40), (0.0, 10.0, 30.0)):  # random neighbours
        vote = NeighbourVote.of([(k, gamma, 0.5)] * count)
        for similarity in rng.uniform(-1, 1, (20, 300)).astype(np.float32):
            found = vote.votes(similarity, labels)
            assert found.dtype == np.float32 and 0 <= found.min() and found.max() <= 1
            votes.append(found)
    for vector in embed(comments(20)):  # the shipped vote over the training comments
        found = full.vote.votes(full.neighbours.similarities(vector), full._voters)
        assert 0 <= found.min() and found.max() <= 1
        votes.append(found)
    regressions = [np.zeros(count, np.float32), np.ones(count, np.float32)]
    regressions += list(rng.random((50, count)).astype(np.float32))
    regressions += list(np.float32(1e-30) * rng.random((5, count)).astype(np.float32))
    for regression in regressions:
        low, high = full.vote_bounds(regression)
        for found in votes:
            blended = full.vote.blend(regression, found).astype(np.float32)
            assert np.all(low <= blended) and np.all(blended <= high)


def test_without_a_vote_the_bounds_are_the_regression(full: ReasonModel) -> None:
    plain = dataclasses.replace(full, vote=None)
    regression = np.linspace(0, 1, len(full.codes), dtype=np.float32)
    low, high = plain.vote_bounds(regression)
    assert low is regression and high is regression


def test_vote_ranges_hold_every_vote_and_are_narrow(full: ReasonModel) -> None:
    assert full.vote is not None and full.neighbours is not None
    texts = comments(30)
    vectors = np.concatenate([embed(texts), embed([s for t in texts for s in sentence_texts(t)])])
    ranges = full.vote_ranges(vectors)
    widths = []
    for vector, votes in zip(vectors, ranges, strict=True):
        assert votes is not None
        exact = full.vote.votes(full.neighbours.similarities(vector), full._voters)
        low, high = votes
        assert np.all(low <= exact) and np.all(exact <= high)
        widths.append(float((high - low).max()))
    assert float(np.median(widths)) < 0.01  # useful: most votes known to within a percent
    assert full.vote_ranges(vectors[:1]) == [None]  # one vector: its vote costs as much


@pytest.mark.parametrize("seed", range(4))
def test_vote_ranges_hold_whatever_order_the_product_sums_in(seed: int) -> None:
    """Random training vectors, some repeated (ties at a vote's cut: the whole range then),
    and the vote computed from products summed four ways."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(300, 64)).astype(np.float32)
    rows = np.concatenate([rows, rows[::7]])
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    labels = rng.random((len(rows), 3)) < 0.4
    vote = NeighbourVote.of([(5, 30.0, 0.5), (20, 10.0, 0.3), (40, 0.0, 1.0)])
    vectors = np.concatenate([rng.normal(size=(30, 64)), rows[:10] + 1e-4]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    norms = np.linalg.norm(rows.astype(np.float64), axis=1)
    whole = 0
    for vector, (low, high) in zip(
        vectors, vote_ranges(vote, rows, norms, labels, vectors), strict=True
    ):
        whole += int(np.sum((low == 0) & (high == 1)))
        for similarity in (
            rows @ vector,
            np.einsum("ij,j->i", rows, vector),
            (rows[:, ::-1] @ vector[::-1]).astype(np.float32),
            (rows.astype(np.float64) @ vector).astype(np.float32),
        ):
            found = vote.votes(similarity, labels)
            assert np.all(low <= found) and np.all(found <= high)
    assert whole < 3 * len(vectors) // 2  # most ranges narrowed


def test_a_comment_s_vote_is_skipped_only_where_it_could_change_nothing(
    full: ReasonModel,
) -> None:
    texts = comments(60)
    taxonomy = load_and_compile(model=None)
    rules = [frozenset(found.code for found in coder.code_text(t, taxonomy)) for t in texts]
    floors = dataclasses.replace(full, keep=np.full(len(full.codes), 0.2, np.float32))
    vectors = embed(texts)
    skipped = decided = 0
    for model in (full, floors):
        ranges = model.vote_ranges(vectors)
        for text, rule_codes, vector, votes in zip(texts, rules, vectors, ranges, strict=True):
            regression, read = model.regression(text, vector)
            assert read is vector
            probabilities = model.probabilities(text, vector)
            assert model.decided(rule_codes, regression, vector) is not None  # 0 to 1: open
            result = model.decided(rule_codes, regression, vector, votes)
            if result is None:
                skipped += 1
                assert not model.codes_added(rule_codes, probabilities)
                assert not model.codes_against(rule_codes, probabilities)
            else:
                decided += 1
                assert np.array_equal(result, probabilities)
    assert skipped > 20 and decided > 10  # both ways taken


@pytest.mark.parametrize("seed", range(5))
def test_contenders_are_those_no_other_surely_beats(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(300):
        size = int(rng.integers(1, 9))
        low = rng.integers(0, 6, size).astype(float)  # few values: many ties
        high = low + rng.integers(0, 3, size)
        found = _contenders(low.tolist(), high.tolist())
        expected = [
            i
            for i in range(size)
            if not any((low[j], -j) > (high[i], -i) for j in range(size) if j != i)
        ]
        assert found == expected
        for _ in range(10):  # wherever the exact scores fall, the strongest is a contender
            exact = low + rng.integers(0, 3, size).clip(0, high - low)
            strongest = max(range(size), key=lambda i: (exact[i], -i))
            assert strongest in found


def _multi_sentence(texts: Sequence[str]) -> Iterator[tuple[str, list[tuple[int, int]]]]:
    """The comments of more than one sentence, with their sentences' spans."""
    for text in texts:
        spans = sentence_spans(FoldedText.of(text))
        if len(spans) > 1:
            yield text, spans


@pytest.mark.parametrize("path", [DEFAULT_MODEL, FAST_MODEL], ids=["full", "fast"])
def test_the_sentence_quoted_is_the_one_scoring_every_sentence_in_full_picks(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = load_model(path)
    voted = 0
    real = ReasonModel.voted

    def counted(self: ReasonModel, regression: Vector, vector: Vector, **words: Any) -> Vector:
        nonlocal voted
        voted += 1
        return real(self, regression, vector, **words)

    monkeypatch.setattr(ReasonModel, "voted", counted)
    found = list(_multi_sentence(comments(100)))
    sentences = asked = 0
    columns = list(range(len(model.codes)))
    for text, spans in found:
        vectors = embed([text[a:b] for a, b in spans]) if model.reads_vectors else None
        plain = plain_strongest(model, text, spans, vectors, columns)
        assert strongest_sentences(model, text, spans, vectors, columns) == plain
        # as the coder asks: for the codes the model gives the comment, a likely few
        regressions = [
            model.regression(text[a:b], None if vectors is None else vectors[i])[0]
            for i, (a, b) in enumerate(spans)
        ]
        likely = np.argsort(-np.max(regressions, axis=0))[:2].tolist()
        before = voted
        assert strongest_sentences(model, text, spans, vectors, likely) == [
            plain[column] for column in likely
        ]
        asked += voted - before
        sentences += len(spans)
    assert len(found) > 40
    if model.vote is not None:
        # the plain way votes every sentence: the new way, for a comment's likely codes, few
        assert asked < sentences // 4
    assert strongest_sentences(model, "One sentence only.", [(0, 18)], None, [0, 3]) == [0, 0]


def test_whole_codings_are_the_plain_computation_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every reason (codes, confidences, evidence, spans, neighbours) and every overruled code,
    with and without the skipped votes, for the full model as shipped and with removal floors."""
    texts = comments(60)
    # and two comments' sentences run together: more sentences to choose among
    texts += [" ".join(sentence_texts(t)[:1] + sentence_texts(u)) for t, u in pairwise(texts)]
    responses = [comment_response(text, i) for i, text in enumerate(texts)]
    taxonomy = load_and_compile(model=DEFAULT_MODEL)
    shipped = load_model(DEFAULT_MODEL)
    floors = dataclasses.replace(shipped, keep=np.full(len(shipped.codes), 0.1, np.float32))

    def dumped() -> list[tuple[list[dict[str, Any]], list[tuple[dict[str, Any], float]]]]:
        return [
            (
                [reason.model_dump(mode="json") for reason in coding.reasons],
                [(o.reason.model_dump(mode="json"), o.probability) for o in coding.overruled],
            )
            for first in range(0, len(responses), 100)
            for coding in coder.code_responses_in_full(responses[first : first + 100], taxonomy)
        ]

    for model in (shipped, floors):
        monkeypatch.setattr(coder, "reason_model", lambda _taxonomy, model=model: model)
        fast = dumped()
        with monkeypatch.context() as plain:
            plain.setattr(
                ReasonModel,
                "decided",
                lambda self, rule_codes, regression, vector, votes=None, row=None: (
                    regression if vector is None else self.voted(regression, vector, row=row)
                ),
            )
            plain.setattr(coder, "strongest_sentences", plain_strongest)
            plain.setattr(Neighbours, "nearest", plain_nearest_default)
            assert dumped() == fast
        assert sum(r["method"] == "model" for reasons, _ in fast for r in reasons) > 20


def plain_nearest_default(
    neighbours: Neighbours, vector: Vector, count: int = NEIGHBOURS
) -> list[Neighbour]:
    """:func:`plain_nearest` with :meth:`Neighbours.nearest`'s default count."""
    return plain_nearest(neighbours, vector, count)


def test_a_sentence_s_vote_range_is_computed_only_while_it_may_be_quoted(
    full: ReasonModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[int] = []
    real = ReasonModel.vote_ranges

    def counted(self: ReasonModel, vectors: Vectors) -> list[Any]:
        asked.append(len(vectors))
        return real(self, vectors)

    monkeypatch.setattr(ReasonModel, "vote_ranges", counted)
    sentences = 0
    for text, spans in [*_multi_sentence(comments(100)), *_multi_sentence([COMMENT])]:
        vectors = embed([text[a:b] for a, b in spans])
        # as the coder asks: for the codes the model gives the comment, a likely few
        regressions = [full.regression(text[a:b], vectors[i])[0] for i, (a, b) in enumerate(spans)]
        likely = np.argsort(-np.max(regressions, axis=0))[:2].tolist()
        plain = plain_strongest(full, text, spans, vectors, likely)
        assert strongest_sentences(full, text, spans, vectors, likely) == plain
        sentences += len(spans)
    assert 0 < sum(asked) < sentences  # some sentences out of contention under any vote


def test_a_code_with_no_neighbours_has_a_vote_of_exactly_0() -> None:
    """The re-trained model of December 4 chose k = 0 for one code: its vote is 0 whatever the
    neighbours, so its range is 0 to 0, not the whole of 0 to 1 (which made every range look
    as wide as it can be)."""
    vote = NeighbourVote.of([(0, 0.0, 0.0), (2, 10.0, 0.5)])
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((8, 4)).astype(np.float32)
    labels = rng.random((8, 2)) < 0.5
    norms = np.linalg.norm(matrix.astype(np.float64), axis=1)
    vector = rng.standard_normal((1, 4)).astype(np.float32)
    [(low, high)] = vote_ranges(vote, matrix, norms, labels, vector)
    exact = vote.votes(matrix @ vector[0], labels)
    assert (low[0], high[0], exact[0]) == (0.0, 0.0, 0.0)
    assert low[1] <= exact[1] <= high[1]
