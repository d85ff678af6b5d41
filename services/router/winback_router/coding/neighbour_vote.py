"""A vote of the nearest labelled comments, blended with each code's logistic regression.

The full model's classifiers are linear: a code's score is a weighted sum of the TF-IDF features
and of the comment's sentence vector. A phrasing that only a handful of training comments share
("Groundhog Day", "every Tuesday for a month") can be near those comments in the encoder's space
and still score low on a direction fitted to the whole code. A nearest-neighbour vote reads that
locality directly: among the ``k`` training comments whose vectors are closest to this one, the
(similarity-weighted) share that carries the code. Per code, the model's probability becomes
``(1 - weight) * regression + weight * vote``, and the code's two thresholds are chosen on that.

The model file already keeps the training comments' vectors and codes for the evidence
(:class:`~winback_router.coding.learned.Neighbours`), so the vote needs no new data at run time:
one product of the comment's vector with those vectors (numpy, no scikit-learn). ``k``, the
neighbours' weighting and the blend weight are chosen per code by nested cross-validation on the
regression's out-of-fold probabilities (:func:`choose`); a code keeps the regression alone
(weight 0) unless a vote does better. Measured on December 1 against the shipped model
(``docs/coding-model-study.md``, "Other heads over the same features"); off unless trained with
``train --neighbour-vote``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

KS = (5, 10, 20, 40)
"""Neighbour counts tried per code."""
GAMMAS = (0.0, 10.0, 30.0)
"""Neighbour weightings tried: ``exp(gamma * (cosine - best cosine))``; 0 counts each alike."""
WEIGHTS = (0.15, 0.3, 0.5, 1.0)
"""Blend weights tried (0, the regression alone, is always a candidate)."""

Matrix = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Index = npt.NDArray[np.int64]
Chooser = Callable[
    [npt.NDArray[np.bool_], npt.NDArray[np.bool_], Floats, npt.NDArray[np.bool_]],
    tuple[float, float],
]
"""``(truth, rule, probability, alone) -> (alone threshold, extra threshold)`` for one code."""


@dataclass(frozen=True)
class NeighbourVote:
    """Per code: how many neighbours vote, how sharply closer ones weigh more, and how much the
    vote counts against the regression (0: not at all)."""

    k: npt.NDArray[np.int64]
    gamma: npt.NDArray[np.float32]
    weight: npt.NDArray[np.float32]
    share: npt.NDArray[np.float32] | None = None
    """Per code, the part of the vote the nearest comments by TF-IDF words cast
    (:mod:`~winback_router.coding.tfidf_vote`; 0: none); None: the sentence vectors' vote alone,
    as before it existed."""

    @classmethod
    def of(
        cls, settings: Sequence[tuple[int, float, float]], shares: Sequence[float] | None = None
    ) -> NeighbourVote:
        """From one ``(k, gamma, weight)`` per code (and one TF-IDF share per code, if any)."""
        k, gamma, weight = zip(*settings, strict=True) if settings else ((), (), ())
        return cls(
            np.array(k, dtype=np.int64),
            np.array(gamma, dtype=np.float32),
            np.array(weight, dtype=np.float32),
            None if shares is None else np.array(shares, dtype=np.float32),
        )

    @property
    def count(self) -> int:
        """The most neighbours any voting code reads (0 when no code votes)."""
        voting = self.k[self.weight > 0]
        return int(voting.max()) if voting.size else 0

    def votes(self, similarity: npt.NDArray[np.floating], labels: Matrix) -> Floats:
        """Each code's vote for one comment (``similarity``: its cosine with every training
        comment; ``labels``: their codes, one row each). Ties rank the earlier comment first."""
        count = min(self.count, len(similarity))
        result = np.zeros(len(self.k))
        if count == 0:
            return result
        order = most_similar(similarity, count)
        best = similarity[order]
        rank = np.arange(count)[:, None]
        weights = np.where(
            rank < self.k[None, :],
            np.exp(self.gamma[None, :] * (best[:, None] - best[0]).astype(np.float32)),
            0.0,
        )
        total = weights.sum(0)
        voted = (weights * labels[order]).sum(0)
        return np.where(total > 0, voted / np.where(total > 0, total, 1.0), 0.0)

    def mix(
        self, vectors: npt.NDArray[np.floating], words: npt.NDArray[np.floating] | None
    ) -> npt.NDArray[np.floating]:
        """The vote each code blends: the sentence vectors' (``vectors``, :meth:`votes`) as it is
        where the code's :attr:`share` is 0 or there is none, else mixed with the TF-IDF words'
        (``words``), ``(1 - share) x vectors + share x words`` in float32, clipped to 0-1 against
        rounding. Monotone in both votes (each float32 step rounds monotonically), so mixing
        each one's lowest and highest possible values bounds the mixed vote exactly."""
        if self.share is None:
            return vectors
        if words is None:
            raise ValueError("this vote mixes in the TF-IDF words' vote: pass it")
        mine = np.asarray(vectors, dtype=np.float32)
        mixed = (1 - self.share) * mine + self.share * np.asarray(words, dtype=np.float32)
        result: npt.NDArray[np.float32] = np.where(self.share > 0, np.clip(mixed, 0, 1), mine)
        return result

    def blend(
        self, probabilities: npt.NDArray[np.floating], votes: npt.NDArray[np.floating]
    ) -> Floats:
        """The regression's probabilities moved toward the votes by each code's weight."""
        blended: Floats = (1 - self.weight) * probabilities + self.weight * votes
        return blended


def most_similar(similarity: npt.NDArray[np.floating], count: int) -> Index:
    """The ``count`` largest entries' positions, largest first, ties in position order: exactly
    ``np.argsort(-similarity, kind="stable")[:count]``, without sorting all of them (a full sort
    of the 4,082 training comments' similarities was most of a vote's cost; see the
    "Shipped" paragraph of docs/coding-model-study.md)."""
    if count >= len(similarity):
        return np.argsort(-similarity, kind="stable")[:count]
    threshold = similarity[np.argpartition(-similarity, count - 1)[:count]].min()
    candidates = np.flatnonzero(similarity >= threshold)
    order: Index = candidates[np.argsort(-similarity[candidates], kind="stable")][:count]
    return order


def nearest(similarity: npt.NDArray[np.floating], count: int) -> tuple[Index, Floats]:
    """Each row's ``count`` most similar columns and their similarities, most similar first
    (ties: the earlier column)."""
    order = np.argsort(-similarity, axis=1, kind="stable")[:, :count]
    return order, np.take_along_axis(similarity.astype(np.float64), order, 1)


def out_of_fold_nearest(
    vectors: npt.NDArray[np.floating],
    database: npt.NDArray[np.floating],
    parts: Sequence[Index],
    count: int = max(KS),
) -> tuple[Index, Floats]:
    """Each comment's nearest comments among the other parts only (``vectors``: the comments'
    own; ``database``: the same comments as the model keeps them), as the regression's
    out-of-fold probabilities see only the other folds."""
    rows = len(vectors)
    index = np.zeros((rows, count), dtype=np.int64)
    similarity = np.zeros((rows, count))
    for held in parts:
        pool = np.setdiff1d(np.arange(rows), held)
        found, found_similarity = nearest(vectors[held] @ database[pool].T, count)
        index[held], similarity[held] = pool[found], found_similarity
    return index, similarity


def vote_matrix(index: Index, similarity: Floats, labels: Matrix, k: int, gamma: float) -> Floats:
    """One ``(k, gamma)`` vote for every code of every row, from :func:`nearest`'s output."""
    weights = np.exp(gamma * (similarity[:, :k] - similarity[:, :1]))
    voted = (weights[:, :, None] * labels[index[:, :k]]).sum(1)
    result: Floats = voted / weights.sum(1, keepdims=True)
    return result


CANDIDATES: tuple[tuple[int, float, float], ...] = (
    (0, 0.0, 0.0),
    *itertools.product(KS, GAMMAS, WEIGHTS),
)
"""Every ``(k, gamma, weight)`` tried per code; the first, weight 0, is the regression alone."""


def candidate_probabilities(
    probabilities: Floats, index: Index, similarity: Floats, labels: Matrix
) -> list[Floats]:
    """The blended probabilities of every candidate, in :data:`CANDIDATES` order."""
    votes = {
        (k, gamma): vote_matrix(index, similarity, labels, k, gamma)
        for k, gamma in itertools.product(KS, GAMMAS)
    }
    return [probabilities] + [
        (1 - weight) * probabilities + weight * votes[(k, gamma)]
        for k, gamma, weight in CANDIDATES[1:]
    ]


def _best(
    truth: npt.NDArray[np.bool_],
    rule: npt.NDArray[np.bool_],
    candidates: Sequence[Floats],
    alone: npt.NDArray[np.bool_],
    parts: Sequence[Index],
    choose: Chooser,
) -> int:
    """The candidate (one code's column of each) with the best nested F1 over ``parts``; the
    first (the regression alone) on ties."""
    # selection reads scikit-learn; imported here so the router's import of this module does
    # not load it (only training chooses)
    from winback_router.coding.selection import f1, nested_guesses

    rows = np.concatenate(list(parts))
    scores = [
        f1(truth[rows], nested_guesses(truth, rule, column, alone, parts, choose)[rows])
        for column in candidates
    ]
    return int(np.argmax(scores))


def choose(
    labels: Matrix,
    rules: Matrix,
    candidates: Sequence[Floats],
    parts: Sequence[Index],
    choose_pair: Chooser,
) -> tuple[NeighbourVote, Floats]:
    """Per code, the candidate (:func:`candidate_probabilities`) whose probabilities score best
    by nested cross-validation over ``parts``; returns the vote and the chosen probabilities."""
    chosen, probabilities = choose_indices(labels, rules, candidates, parts, choose_pair)
    return NeighbourVote.of([CANDIDATES[c] for c in chosen]), probabilities


def choose_indices(
    labels: Matrix,
    rules: Matrix,
    candidates: Sequence[Floats],
    parts: Sequence[Index],
    choose_pair: Chooser,
) -> tuple[list[int], Floats]:
    """:func:`choose`'s choice as each code's position in ``candidates`` (whatever settings
    they stand for), and the chosen probabilities."""
    alone: npt.NDArray[np.bool_] = np.logical_not(rules.any(axis=1))
    chosen = [
        _best(labels[:, j], rules[:, j], [c[:, j] for c in candidates], alone, parts, choose_pair)
        for j in range(labels.shape[1])
    ]
    probabilities = np.stack([candidates[c][:, j] for j, c in enumerate(chosen)], 1)
    return chosen, probabilities


def nested_codes(
    labels: Matrix,
    rules: Matrix,
    candidates: Sequence[Floats],
    parts: Sequence[Index],
    choose_pair: Chooser,
) -> Matrix:
    """Every comment's codes with each part coded by a vote *and* thresholds chosen on the
    other parts only (the vote by nested cross-validation inside them): the honest figure,
    which :func:`choose`'s own probabilities are not."""
    alone: npt.NDArray[np.bool_] = np.logical_not(rules.any(axis=1))
    predicted = np.zeros_like(labels)
    for position, held in enumerate(parts):
        inner = [part for i, part in enumerate(parts) if i != position]
        kept = np.concatenate(inner)
        for j in range(labels.shape[1]):
            columns = [c[:, j] for c in candidates]
            best = columns[_best(labels[:, j], rules[:, j], columns, alone, inner, choose_pair)]
            t_alone, t_extra = choose_pair(labels[kept, j], rules[kept, j], best[kept], alone[kept])
            predicted[held, j] = rules[held, j] | np.where(
                alone[held], best[held] >= t_alone, best[held] >= t_extra
            )
    return predicted
