"""The nearest comments' vote blended with the regression: what a vote counts, that the per-code
choice takes a vote only where it helps, that the threshold chooser is the grid search it
replaced, that a model carries the vote through its file and runs it as training scored it,
and that the sentence vector is never skipped where a vote could add a code."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest

from winback_router.coding import neighbour_vote, train
from winback_router.coding.learned import ReasonModel
from winback_router.coding.neighbour_vote import (
    CANDIDATES,
    NeighbourVote,
    candidate_probabilities,
    choose,
    most_similar,
    nested_codes,
    out_of_fold_nearest,
    vote_matrix,
)


def grid_search(
    truth: np.ndarray, rule: np.ndarray, probability: np.ndarray, alone: np.ndarray
) -> tuple[float, float]:
    """The pair loop :func:`train.choose_pair` replaced, cell by cell."""
    grid = train.GRID
    scores = np.empty((len(grid), len(grid)))
    for i, t_alone in enumerate(grid):
        for j, t_extra in enumerate(grid):
            guess = rule | np.where(alone, probability >= t_alone, probability >= t_extra)
            tp = int((truth & guess).sum())
            wrong = int((truth ^ guess).sum())
            scores[i, j] = 2 * tp / (2 * tp + wrong) if tp + wrong else 0.0
    smooth = train.smoothed(scores)
    best = np.argwhere(smooth >= smooth.max() - 1e-12)[-1]
    return float(grid[best[0]]), float(grid[best[1]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_one_pass_chooser_picks_the_pair_the_grid_search_picks(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.random(300) < 0.25
    rule = truth & (rng.random(300) < 0.4) | (rng.random(300) < 0.05)
    alone = ~rule & (rng.random(300) < 0.7)
    probability = np.clip(np.where(truth, 0.6, 0.3) + rng.normal(0, 0.2, 300), 0, 1)
    assert train.choose_pair(truth, rule, probability, alone) == grid_search(
        truth, rule, probability, alone
    )
    empty = np.zeros(300, dtype=bool)
    assert train.choose_pair(empty, empty, probability, ~empty) == grid_search(
        empty, empty, probability, ~empty
    )


def test_a_vote_counts_the_nearest_k_and_gamma_weighs_the_closest_more() -> None:
    labels = np.array([[True, False], [False, True], [True, True], [False, False]])
    similarity = np.array([0.9, 0.8, 0.5, 0.95], dtype=np.float32)
    even = NeighbourVote.of([(2, 0.0, 1.0), (3, 0.0, 1.0)])
    # nearest first: rows 3, 0, 1, 2
    assert even.votes(similarity, labels) == pytest.approx([0.5, 1 / 3])
    sharp = NeighbourVote.of([(2, 30.0, 1.0), (2, 30.0, 1.0)])
    votes = sharp.votes(similarity, labels)
    assert votes[0] < 0.5 and votes[0] == pytest.approx(1 / (1 + np.exp(30 * 0.05)), rel=1e-4)
    assert votes[1] == 0.0
    half = NeighbourVote.of([(2, 0.0, 0.5), (2, 0.0, 0.0)])
    blended = half.blend(np.array([0.2, 0.2]), np.array([1.0, 1.0]))
    assert blended == pytest.approx([0.6, 0.2])


def test_the_batch_vote_is_the_one_comment_vote() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = rng.random((40, 2)) < 0.3
    parts = train.folds(40)
    index, similarity = out_of_fold_nearest(vectors, vectors, parts, count=10)
    batch = vote_matrix(index, similarity, labels, 5, 10.0)
    held = parts[0]
    pool = np.setdiff1d(np.arange(40), held)
    one = NeighbourVote.of([(5, 10.0, 1.0), (5, 10.0, 1.0)])
    for row in held:
        assert row not in index[row]  # never its own fold
        alone = one.votes(vectors[pool] @ vectors[row], labels[pool])
        assert alone == pytest.approx(batch[row], abs=1e-5)


def clustered(seed: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """600 comments: code 0 lives in a few tight clusters of the vectors, which the regression
    reads poorly; code 1 the regression separates perfectly, so no vote can do better."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, 16))
    cluster = rng.integers(0, 12, 600)
    vectors = centres[cluster] + rng.normal(0, 0.3, (600, 16))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.stack([cluster < 3, rng.random(600) < 0.25], 1)
    regression = np.clip(np.where(labels, 0.55, 0.4) + rng.normal(0, 0.15, labels.shape), 0, 1)
    regression[:, 1] = np.where(labels[:, 1], 0.9, 0.1)
    return vectors, labels, np.zeros_like(labels), regression


def test_a_vote_is_chosen_for_the_code_its_neighbours_know_and_not_for_the_other() -> None:
    vectors, labels, rules, regression = clustered()
    parts = train.folds(len(labels))
    index, similarity = out_of_fold_nearest(vectors, vectors, parts)
    candidates = candidate_probabilities(regression, index, similarity, labels)
    assert len(candidates) == len(CANDIDATES) and candidates[0] is regression
    vote, chosen = choose(labels, rules, candidates, parts, train.choose_pair)
    assert vote.weight[0] > 0 and vote.weight[1] == 0
    assert np.array_equal(chosen[:, 1], regression[:, 1])
    predicted = nested_codes(labels, rules, candidates, parts, train.choose_pair)
    plain = nested_codes(labels, rules, candidates[:1], parts, train.choose_pair)
    assert train.macro_f1(labels[:, :1], predicted[:, :1]) > train.macro_f1(
        labels[:, :1], plain[:, :1]
    )


def test_nested_codes_never_choose_on_the_part_they_code() -> None:
    vectors, labels, rules, regression = clustered(5)
    parts = train.folds(len(labels))
    index, similarity = out_of_fold_nearest(vectors, vectors, parts)
    candidates = candidate_probabilities(regression, index, similarity, labels)
    before = nested_codes(labels, rules, candidates, parts, train.choose_pair)
    flipped = labels.copy()
    flipped[parts[0]] = ~flipped[parts[0]]  # the first part's labels only
    after = nested_codes(flipped, rules, candidates, parts, train.choose_pair)
    assert np.array_equal(before[parts[0]], after[parts[0]])
    assert not np.array_equal(before, after)  # the other parts' choices did read them


@pytest.fixture(scope="module")
def trained_with_vote(
    tmp_path_factory: pytest.TempPathFactory, out_of_fold_cache: Path
) -> tuple[Path, Path, str]:
    """A model trained with the vote on 120 comments (few candidates, to keep it short), and
    one fitted without it. Its out-of-fold probabilities are computed here, or read from the
    file test_coding_learned.py's train command wrote with the same key if that ran first."""
    folder = tmp_path_factory.mktemp("vote")
    with_vote, without = folder / "vote.npz", folder / "plain.npz"
    shared = out_of_fold_cache / "sample-120.npz"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(neighbour_vote, "KS", (5,))
        patch.setattr(neighbour_vote, "GAMMAS", (0.0,))
        patch.setattr(neighbour_vote, "CANDIDATES", ((0, 0.0, 0.0), (5, 0.0, 0.5)))
        arguments = ["--sample", "120", "--no-removal", "--out-of-fold", str(shared), "--output"]
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            train.main([*arguments, str(with_vote), "--neighbour-vote"])
        train.main(["--sample", "120", "--fit-only", "--output", str(without)])
    return with_vote, without, printed.getvalue()


def test_the_train_command_writes_a_vote_only_when_asked_and_runs_it_as_trained(
    trained_with_vote: tuple[Path, Path, str],
) -> None:
    with_vote, without, printed = trained_with_vote
    assert "neighbour vote, nested" in printed
    plain, voted = ReasonModel.read(without), ReasonModel.read(with_vote)
    assert plain.vote is None
    assert voted.vote is not None and len(voted.vote.k) == len(voted.codes)
    assert set(voted.vote.weight.tolist()) <= {0.0, 0.5}
    assert np.array_equal(plain.weights, voted.weights)  # the same regression underneath
    parity = [line for line in printed.splitlines() if line.startswith("parity")]
    assert len(parity) == 1 and float(parity[0].split("= ")[1].split()[0]) < 2e-3
    # the model's probability is the regression's blended with its neighbours' vote
    forced = dataclasses.replace(voted, vote=NeighbourVote.of([(3, 0.0, 1.0)] * len(voted.codes)))
    text = "Rang three times this week and nobody ever called me back."
    assert forced.neighbours is not None
    vector = forced.neighbours.matrix[0] / np.linalg.norm(forced.neighbours.matrix[0])
    votes = forced.probabilities(text, vector)
    expected = forced.neighbours.labels(forced.codes)[
        np.argsort(-forced.neighbours.similarities(vector), kind="stable")[:3]
    ].mean(0)
    assert votes == pytest.approx(expected, abs=1e-6)


def test_the_vector_is_embedded_where_a_vote_could_add_a_code(
    trained_with_vote: tuple[Path, Path, str],
) -> None:
    model = ReasonModel.read(trained_with_vote[0])
    count = len(model.codes)
    hopeless = np.full(count, -60.0, dtype=np.float32)  # no vector could lift these logits
    silent = dataclasses.replace(
        model,
        thresholds=np.full(2 * count, 0.9, np.float32),
        vote=NeighbourVote.of([(3, 0.0, 0.0)] * count),
    )
    assert not silent.vector_matters(hopeless, frozenset())
    voting = dataclasses.replace(silent, vote=NeighbourVote.of([(3, 0.0, 0.95)] * count))
    assert voting.vector_matters(hopeless, frozenset())
    half = dataclasses.replace(silent, vote=NeighbourVote.of([(3, 0.0, 0.5)] * count))
    assert not half.vector_matters(hopeless, frozenset())  # 0.5 at most, under 0.9


def test_neighbour_vote_needs_the_vectors() -> None:
    with pytest.raises(SystemExit):
        train.main(["--sample", "60", "--fast", "--neighbour-vote"])


@pytest.mark.parametrize("count", [1, 5, 40, 199, 200, 300])
def test_most_similar_is_the_stable_full_sort_cut(count: int) -> None:
    """Partial selection gives the same positions in the same order as sorting everything,
    ties (many equal similarities, as int8-quantised vectors make) in position order."""
    rng = np.random.default_rng(count)
    for _ in range(50):
        similarity = np.round(rng.uniform(-1, 1, 200), 1).astype(np.float32)
        expected = np.argsort(-similarity, kind="stable")[:count]
        assert most_similar(similarity, count).tolist() == expected.tolist()


def test_most_similar_keeps_ties_at_the_cut_in_position_order() -> None:
    similarity = np.array([0.5, 0.9, 0.5, 0.5, 0.1, 0.5], dtype=np.float32)
    assert most_similar(similarity, 3).tolist() == [1, 0, 2]
