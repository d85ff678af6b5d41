"""The vote of the comments nearest by TF-IDF words, mixed into the sentence vectors' vote: its
similarities against a dense product, the mixed and blended vote against one computed by hand,
the training candidates extending the shipped vote's exactly, no comment finding a neighbour in
its own fold (nor a vocabulary fitted on it), the file round trip, old files running as before,
and the skipped votes of docs/performance.md section 26 still giving the full computation's
results for a model that mixes the words' vote in."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import sparse

from tests.coding_support import comment_response
from tests.unit.test_coding_vote_cost import (
    _multi_sentence,
    comments,
    plain_nearest_default,
    plain_strongest,
)
from winback_router.coding import coder, neighbour_vote, tfidf_vote, train
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.embeddings import embed
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.learned import DEFAULT_MODEL, Neighbours, ReasonModel, load_model
from winback_router.coding.neighbour_vote import NeighbourVote
from winback_router.coding.sentence_pool import sentence_texts
from winback_router.coding.strongest_sentence import strongest_sentences
from winback_router.coding.tfidf_vote import TfidfRow, TfidfRows

SHARES = (0.0, 0.33, 0.67, 1.0)


def random_rows(seed: int, count: int = 80, features: int = 200) -> sparse.csr_matrix:
    """Sparse unit rows, some repeated (equal similarities), one empty."""
    rng = np.random.default_rng(seed)
    dense = rng.random((count, features)) * (rng.random((count, features)) < 0.05)
    dense[5] = dense[9]
    dense[17] = 0.0
    norms = np.linalg.norm(dense, axis=1, keepdims=True)
    return sparse.csr_matrix(dense / np.where(norms > 0, norms, 1.0))


def rows_of(matrix: Any) -> TfidfRows:
    """:class:`TfidfRows` of a scipy matrix, as training builds them."""
    return train.training_rows(matrix)


def row_of(dense: np.ndarray) -> TfidfRow:
    positions = np.flatnonzero(dense)
    return TfidfRow(positions.astype(np.int64), dense[positions].astype(np.float32))


@pytest.mark.parametrize("seed", range(3))
def test_similarities_are_the_dense_product_of_the_float16_rows(seed: int) -> None:
    matrix = random_rows(seed)
    rows = rows_of(matrix)
    assert rows.rows.dtype == np.int32 and rows.values.dtype == np.float16
    dense = matrix.toarray().astype(np.float16).astype(np.float64)
    rng = np.random.default_rng(seed + 10)
    queries = [matrix.toarray()[i] for i in (0, 5, 17)] + list(
        rng.random((20, matrix.shape[1])) * (rng.random((20, matrix.shape[1])) < 0.1)
    )
    for query in queries:
        row = row_of(query)
        expected = dense @ query.astype(np.float32).astype(np.float64)
        found = rows.similarities(row)
        assert found.shape == (matrix.shape[0],)
        assert np.allclose(found, expected, rtol=0, atol=1e-12)
    empty = TfidfRow(np.zeros(0, np.int64), np.zeros(0, np.float32))
    assert np.array_equal(rows.similarities(empty), np.zeros(matrix.shape[0]))


def test_the_mixed_and_blended_vote_is_the_hand_computed_one() -> None:
    labels = np.array([[True, False], [False, True], [True, True], [False, False]])
    by_vectors = np.array([0.9, 0.8, 0.5, 0.95], dtype=np.float32)  # order 3, 0, 1, 2
    by_words = np.array([0.1, 0.7, 0.6, 0.2], dtype=np.float32)  # order 1, 2, 3, 0
    vote = NeighbourVote.of([(2, 0.0, 0.5), (3, 0.0, 0.3)], [0.67, 1.0])
    vectors_vote = vote.votes(by_vectors, labels)
    words_vote = vote.votes(by_words, labels)
    assert vectors_vote == pytest.approx([1 / 2, 1 / 3])  # rows 3, 0 / rows 3, 0, 1
    assert words_vote == pytest.approx([1 / 2, 2 / 3])  # rows 1, 2 / rows 1, 2, 3
    mixed = vote.mix(vectors_vote, words_vote)
    assert mixed == pytest.approx([0.33 * 0.5 + 0.67 * 0.5, 2 / 3], abs=1e-6)
    regression = np.array([0.2, 0.4], dtype=np.float32)
    blended = vote.blend(regression, mixed)
    assert blended == pytest.approx([0.5 * 0.2 + 0.5 * 0.5, 0.7 * 0.4 + 0.3 * 2 / 3], abs=1e-6)
    # sharper: the nearest counts more, in both votes alike
    sharp = NeighbourVote.of([(2, 30.0, 1.0), (2, 30.0, 1.0)], [0.33, 0.0])
    near = np.exp(np.float32(30 * -0.05))
    expected_vectors = near / (1 + near)  # row 3 (no code 0) at 0.95, row 0 (code 0) at 0.9
    far = np.exp(np.float32(30 * -0.1))
    expected_words = far / (1 + far)  # row 1 (no code 0) at 0.7, row 2 (code 0) at 0.6
    got = sharp.mix(sharp.votes(by_vectors, labels), sharp.votes(by_words, labels))
    assert got[0] == pytest.approx(0.67 * expected_vectors + 0.33 * expected_words, rel=1e-5)
    assert got[1] == sharp.votes(by_vectors, labels)[1]  # share 0: the vectors' vote, exactly
    with pytest.raises(ValueError, match="words"):
        vote.mix(vectors_vote, None)
    assert NeighbourVote.of([(2, 0.0, 0.5)]).mix(vectors_vote, None) is vectors_vote


def test_candidates_without_the_words_are_the_shipped_vote_s_exactly() -> None:
    rng = np.random.default_rng(8)
    size = 120
    labels = rng.random((size, 3)) < 0.3
    regression = rng.random((size, 3))
    vectors = rng.normal(size=(size, 12))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    parts = train.folds(size)
    by_vectors = neighbour_vote.out_of_fold_nearest(vectors, vectors, parts)
    words = rng.normal(size=(size, 12))
    words /= np.linalg.norm(words, axis=1, keepdims=True)
    by_words = neighbour_vote.out_of_fold_nearest(words, words, parts)
    shipped = neighbour_vote.candidate_probabilities(regression, *by_vectors, labels)
    mixed = tfidf_vote.candidate_probabilities(regression, by_vectors, by_words, labels)
    assert len(mixed) == len(tfidf_vote.CANDIDATES) == 49 + 48 * 3
    assert [c[:3] for c in tfidf_vote.CANDIDATES[:49]] == list(neighbour_vote.CANDIDATES)
    assert all(c[3] == 0 for c in tfidf_vote.CANDIDATES[:49])
    for mine, theirs in zip(mixed, shipped, strict=False):
        assert np.array_equal(mine, theirs)
    # a mixed candidate is (1 - w) p + w ((1 - a) vote(vectors) + a vote(words))
    position = tfidf_vote.CANDIDATES.index((10, 10.0, 0.5, 0.67))
    expected = 0.5 * regression + 0.5 * (
        0.33 * neighbour_vote.vote_matrix(*by_vectors, labels, 10, 10.0)
        + 0.67 * neighbour_vote.vote_matrix(*by_words, labels, 10, 10.0)
    )
    assert np.allclose(mixed[position], expected, rtol=0, atol=1e-12)
    # the choice among them: a code whose words' vote never helps keeps the shipped choice
    rules = np.zeros_like(labels)
    vote, chosen = tfidf_vote.choose(labels, rules, mixed[:49], parts, train.choose_pair)
    plain, plain_chosen = neighbour_vote.choose(labels, rules, shipped, parts, train.choose_pair)
    assert vote.share is not None and not vote.share.any()
    assert np.array_equal(vote.k, plain.k) and np.array_equal(vote.weight, plain.weight)
    assert np.array_equal(chosen, plain_chosen)


def test_no_comment_finds_a_neighbour_or_a_vocabulary_in_its_own_fold() -> None:
    texts = [e.text for e in load_examples(DEFAULT_DATA / "heldout.jsonl")[:150]]
    parts = train.folds(len(texts))
    seen: list[tuple[list[str], list[str]]] = []

    def featurise(known: Any, asked: Any) -> tuple[Any, Any]:
        seen.append((list(known), list(asked)))
        return train.fitted_rows(known, asked)

    index, similarity = tfidf_vote.out_of_fold_nearest(texts, parts, featurise, count=10)
    for held, (known, asked) in zip(parts, seen, strict=True):
        assert asked == [texts[i] for i in held]
        assert known == [texts[i] for i in np.setdiff1d(np.arange(len(texts)), held)]
        for row in held:
            assert not set(index[row]) & set(held.tolist())  # never its own fold, nor itself
    assert np.all(np.diff(similarity, axis=1) <= 0)  # most similar first
    # the first part's similarities: a vocabulary fitted on the other parts alone, by scipy
    held = parts[0]
    pool = np.setdiff1d(np.arange(len(texts)), held)
    known, asked = train.fitted_rows([texts[i] for i in pool], [texts[i] for i in held])
    full = (asked @ known.T).toarray()
    for position, row in enumerate(held):
        assert similarity[row, 0] == pytest.approx(full[position].max(), abs=2e-3)
        assert full[position][np.searchsorted(pool, index[row])] == pytest.approx(
            similarity[row], abs=2e-3
        )


@pytest.fixture(scope="module")
def shipped() -> ReasonModel:
    model = load_model(DEFAULT_MODEL)
    assert model.vote is not None and model.neighbours is not None
    return model


@pytest.fixture(scope="module")
def words_model(shipped: ReasonModel) -> ReasonModel:
    """The shipped model with the words' vote mixed in at shares 0, 0.33, 0.67, 1 in turn, over
    its own training comments' rows (its vocabulary's, as training gives them)."""
    assert shipped.vote is not None and shipped.neighbours is not None
    found = [shipped.tfidf_row(text) for text in shipped.neighbours.texts]
    matrix = sparse.csr_matrix(
        (
            np.concatenate([row.values for row in found]),
            np.concatenate([row.positions for row in found]),
            np.cumsum([0] + [len(row.positions) for row in found]),
        ),
        shape=(len(found), shipped.weights.shape[0]),
    )
    shares = [SHARES[j % len(SHARES)] for j in range(len(shipped.codes))]
    vote = dataclasses.replace(shipped.vote, share=np.array(shares, dtype=np.float32))
    return dataclasses.replace(shipped, vote=vote, tfidf_rows=rows_of(matrix))


def test_a_model_file_keeps_the_words_vote(words_model: ReasonModel, tmp_path: Path) -> None:
    path = tmp_path / "words.npz"
    words_model.save(path)
    read = ReasonModel.read(path)
    assert read.vote is not None and words_model.vote is not None
    assert read.vote.share is not None and words_model.vote.share is not None
    assert np.array_equal(read.vote.share, words_model.vote.share)
    assert read.tfidf_rows is not None and words_model.tfidf_rows is not None
    for name in ("starts", "rows", "values"):
        assert np.array_equal(getattr(read.tfidf_rows, name), getattr(words_model.tfidf_rows, name))
    assert read.tfidf_rows.count == words_model.tfidf_rows.count
    vectors = embed(comments(5))
    for text, vector in zip(comments(5), vectors, strict=True):
        assert np.array_equal(
            read.probabilities(text, vector), words_model.probabilities(text, vector)
        )
    # a vote that reads rows the file lacks is refused
    broken = tmp_path / "broken.npz"
    dataclasses.replace(words_model, tfidf_rows=None).save(broken)
    with pytest.raises(ValueError, match="TF-IDF rows"):
        ReasonModel.read(broken)


def test_an_old_file_runs_as_before(shipped: ReasonModel, tmp_path: Path) -> None:
    assert shipped.vote is not None and shipped.neighbours is not None
    assert shipped.vote.share is None and shipped.tfidf_rows is None
    assert not shipped.reads_words_vote
    path = tmp_path / "again.npz"
    shipped.save(path)
    with np.load(path) as data:
        assert not {"vote_share", "tfidf_rows", "tfidf_starts", "tfidf_values"} & set(data)
    voters = shipped.neighbours.labels(shipped.codes)
    texts = comments(15)
    for text, vector in zip(texts, embed(texts), strict=True):
        regression = shipped._sigmoid(shipped.text_logits(text) + vector @ shipped.vector_weights)
        votes = shipped.vote.votes(shipped.neighbours.similarities(vector), voters)
        plain = shipped.vote.blend(regression, votes).astype(np.float32)
        assert np.array_equal(shipped.probabilities(text, vector), plain)
        row = shipped.tfidf_row(text)
        assert np.array_equal(shipped.text_logits(text, row), shipped.text_logits(text))
        # a vote with every share 0 is the vectors' vote, to the bit
        zero = dataclasses.replace(shipped.vote, share=np.zeros(len(shipped.codes), np.float32))
        mixed = dataclasses.replace(shipped, vote=zero, tfidf_rows=TfidfRows.of([0], [], [], 1))
        assert np.array_equal(mixed.voted(regression, vector, words=votes), plain)


def test_the_model_s_probability_mixes_the_two_votes(words_model: ReasonModel) -> None:
    vote, neighbours, rows = words_model.vote, words_model.neighbours, words_model.tfidf_rows
    assert vote is not None and vote.share is not None and neighbours is not None
    assert rows is not None
    voters = neighbours.labels(words_model.codes)
    dense = np.zeros((rows.count, words_model.weights.shape[0]))
    for feature in range(len(rows.starts) - 1):
        first, last = rows.starts[feature], rows.starts[feature + 1]
        dense[rows.rows[first:last], feature] = rows.values[first:last]
    texts = comments(10)
    for text, vector in zip(texts, embed(texts), strict=True):
        regression, _ = words_model.regression(text, vector)
        row = words_model.tfidf_row(text)
        query = np.zeros(dense.shape[1])
        query[row.positions] = row.values
        by_words = vote.votes(dense @ query, voters)
        by_vectors = vote.votes(neighbours.similarities(vector), voters)
        share = vote.share.astype(np.float64)
        expected = (1 - vote.weight) * regression + vote.weight * (
            (1 - share) * by_vectors + share * by_words
        )
        assert words_model.probabilities(text, vector) == pytest.approx(expected, abs=1e-5)
        assert np.array_equal(
            words_model.probabilities(text, vector),
            words_model.voted(regression, vector, row=row),
        )


def test_a_skipped_vote_could_change_nothing_with_the_words_vote(words_model: ReasonModel) -> None:
    texts = comments(60)
    taxonomy = load_and_compile(model=None)
    rules = [frozenset(found.code for found in coder.code_text(t, taxonomy)) for t in texts]
    vectors = embed(texts)
    skipped = decided = 0
    for model in (
        words_model,
        dataclasses.replace(words_model, keep=np.full(len(words_model.codes), 0.2, np.float32)),
    ):
        ranges = model.vote_ranges(vectors)
        for text, rule_codes, vector, votes in zip(texts, rules, vectors, ranges, strict=True):
            row = model.tfidf_row(text)
            regression, _ = model.regression(text, vector)
            probabilities = model.probabilities(text, vector)
            words = model.words_votes(row)
            assert words is not None
            for bounds in (model.vote_bounds(regression, votes), model.vote_bounds(regression)):
                low, high = bounds
                assert np.all(low <= probabilities) and np.all(probabilities <= high)
            low, high = model.vote_bounds(regression, votes, words)
            assert np.all(low <= probabilities) and np.all(probabilities <= high)
            result = model.decided(rule_codes, regression, vector, votes, row=row)
            if result is None:
                skipped += 1
                assert not model.codes_added(rule_codes, probabilities)
                assert not model.codes_against(rule_codes, probabilities)
            else:
                decided += 1
                assert np.array_equal(result, probabilities)
    assert skipped > 10 and decided > 10  # both ways taken


def test_the_sentence_quoted_is_the_full_computation_s(words_model: ReasonModel) -> None:
    found = list(_multi_sentence(comments(60)))
    columns = list(range(len(words_model.codes)))
    for text, spans in found:
        vectors = embed([text[a:b] for a, b in spans])
        assert strongest_sentences(words_model, text, spans, vectors, columns) == plain_strongest(
            words_model, text, spans, vectors, columns
        )
    assert len(found) > 20


def test_whole_codings_with_the_words_vote_are_the_plain_computation_s(
    words_model: ReasonModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = comments(40)
    texts += [" ".join(sentence_texts(t)[:1] + sentence_texts(u)) for t, u in pairwise(texts)]
    responses = [comment_response(text, i) for i, text in enumerate(texts)]
    taxonomy = load_and_compile(model=DEFAULT_MODEL)
    monkeypatch.setattr(coder, "reason_model", lambda _taxonomy: words_model)

    def dumped() -> list[list[dict[str, Any]]]:
        return [
            [reason.model_dump(mode="json") for reason in coding.reasons]
            for first in range(0, len(responses), 100)
            for coding in coder.code_responses_in_full(responses[first : first + 100], taxonomy)
        ]

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
    assert sum(r["method"] == "model" for reasons in fast for r in reasons) > 10


@pytest.fixture(scope="module")
def trained_with_words(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A model trained with the words' vote on 150 comments (few candidates, to keep it short)."""
    path = tmp_path_factory.mktemp("words") / "words.npz"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            tfidf_vote, "CANDIDATES", ((0, 0.0, 0.0, 0.0), (5, 0.0, 0.5, 0.0), (5, 0.0, 0.5, 1.0))
        )
        patch.setattr(neighbour_vote, "KS", (5,))
        patch.setattr(neighbour_vote, "GAMMAS", (0.0,))
        patch.setattr(tfidf_vote, "KS", (5,))
        patch.setattr(tfidf_vote, "GAMMAS", (0.0,))
        patch.setattr(neighbour_vote, "CANDIDATES", ((0, 0.0, 0.0), (5, 0.0, 0.5)))
        arguments = ["--sample", "150", "--no-removal", "--neighbour-vote", "--tfidf-vote"]
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            train.main([*arguments, "--output", str(path)])
    return path, printed.getvalue()


def test_the_train_command_writes_the_words_vote_and_runs_it_as_trained(
    trained_with_words: tuple[Path, str],
) -> None:
    path, printed = trained_with_words
    assert "with the TF-IDF words' vote, nested" in printed
    model = ReasonModel.read(path)
    assert model.vote is not None and model.vote.share is not None
    assert set(model.vote.share.tolist()) <= {0.0, 1.0}
    assert model.tfidf_rows is not None and model.neighbours is not None
    assert model.tfidf_rows.count == len(model.neighbours.texts) == 150
    # the rows kept are each training comment's own row, as the model computes it
    for i, text in enumerate(model.neighbours.texts[:30]):
        row = model.tfidf_row(text)
        assert model.tfidf_rows.similarities(row)[i] == pytest.approx(1.0, abs=2e-3)
    parity = [line for line in printed.splitlines() if line.startswith("parity")]
    assert len(parity) == 1 and float(parity[0].split("= ")[1].split()[0]) < 5e-3


def test_the_words_vote_needs_the_neighbour_vote() -> None:
    with pytest.raises(SystemExit):
        train.main(["--sample", "60", "--tfidf-vote"])
