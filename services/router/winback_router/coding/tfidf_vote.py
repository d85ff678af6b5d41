"""A second vote of the nearest training comments, by their words: beside the sentence vectors'.

The full model's vote (:mod:`~winback_router.coding.neighbour_vote`) reads the comments nearest
in the encoder's space. The comments nearest in the TF-IDF space the regression already reads
are often others: the same rare word or misspelling, where the encoder sees the same meaning.
Measured on December 1 (``docs/coding-model-study.md``, "Votes by sentence and by words"), the
two votes mixed per code, ``(1 - share) x vote(vectors) + share x vote(words)`` with the same
``k`` and sharpness, beat either alone under nested cross-validation.

At run time the vote needs the training comments' TF-IDF rows (:class:`TfidfRows`, kept in the
model file column by column: per feature, the rows holding it as int32 and their values as
float16, about 7 MB for 4,082 comments) and the comment's own row (:class:`TfidfRow`, what
:meth:`~winback_router.coding.learned.ReasonModel.text_logits` computes anyway). Its similarities
are a sparse product in numpy alone: the rows of each of the comment's ~300 features, gathered
once and summed into the 4,082 comments by one ``np.bincount``. No encoder call, so a fraction of
the sentence vectors' product (a dense 4,082 x 512 one).

For training: each comment's nearest comments in the other folds with the vocabulary and idf fitted
on those folds only (:func:`out_of_fold_nearest`), and the candidates per code
(:data:`CANDIDATES`: the shipped vote's 49, then the mixed ones), chosen as the shipped vote is.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from winback_router.coding import neighbour_vote
from winback_router.coding.neighbour_vote import (
    GAMMAS,
    KS,
    WEIGHTS,
    NeighbourVote,
    nearest,
    vote_matrix,
)

Floats = npt.NDArray[np.float64]
Index = npt.NDArray[np.int64]
SHARES = (0.33, 0.67, 1.0)
"""The TF-IDF vote's parts of the vote tried per code (0, the vectors' vote alone, is the shipped
vote's candidates)."""

Setting = tuple[int, float, float, float]
"""``(k, gamma, weight, share)`` for one code."""

CANDIDATES: tuple[Setting, ...] = (
    *((k, gamma, weight, 0.0) for k, gamma, weight in neighbour_vote.CANDIDATES),
    *itertools.product(KS, GAMMAS, WEIGHTS, SHARES),
)
"""Every setting tried per code: first the shipped vote's, in its order (so a tie keeps it), then
the vectors' and the words' votes mixed."""


class TfidfRow(NamedTuple):
    """One text's TF-IDF row as the regression reads it: feature positions (each once) and their
    values (both blocks unit length, the pair scaled back to unit length), float32."""

    positions: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]


@dataclass(frozen=True)
class TfidfRows:
    """The training comments' TF-IDF rows, column by column: feature ``f``'s comments are
    ``rows[starts[f]:starts[f + 1]]``, their values ``values[...]`` (float16: a similarity moves
    by about 5e-4 of itself)."""

    starts: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int32]
    values: npt.NDArray[np.float16]
    count: int
    """How many training comments (rows) there are."""

    @classmethod
    def of(
        cls, starts: npt.ArrayLike, rows: npt.ArrayLike, values: npt.ArrayLike, count: int
    ) -> TfidfRows:
        """From a column-major sparse matrix's parts (``indptr``, ``indices``, ``data``)."""
        return cls(
            np.asarray(starts, dtype=np.int64),
            np.asarray(rows, dtype=np.int32),
            np.asarray(values, dtype=np.float16),
            count,
        )

    def similarities(self, row: TfidfRow) -> Floats:
        """The cosine of ``row`` with every training comment (all rows are unit length)."""
        starts = self.starts[row.positions]
        lengths = self.starts[row.positions + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(self.count)
        # the positions of every feature's slice, laid end to end
        ends = np.cumsum(lengths)
        where = np.arange(total) + np.repeat(starts - (ends - lengths), lengths)
        weights = self.values[where].astype(np.float64) * np.repeat(
            row.values.astype(np.float64), lengths
        )
        similarity = np.bincount(self.rows[where], weights=weights, minlength=self.count)
        return cast("Floats", similarity)  # float64 with weights (the stubs say integers)


Featurise = Callable[[Sequence[str], Sequence[str]], tuple[Any, Any]]
"""``(known texts, asked texts) -> (known rows, asked rows)``: scipy sparse TF-IDF rows with the
vocabulary and idf fitted on the known texts only."""


def out_of_fold_nearest(
    texts: Sequence[str],
    parts: Sequence[Index],
    featurise: Featurise,
    count: int = max(KS),
) -> tuple[Index, Floats]:
    """Each comment's ``count`` nearest comments by TF-IDF cosine among the other parts only,
    with the vocabulary and idf fitted on those parts (as the regression's out-of-fold
    probabilities see them), and their similarities, most similar first (ties: the earlier).
    The known rows' values are rounded to float16 and the asked ones' to float32, as the model
    keeps and computes them."""
    size = len(texts)
    index = np.zeros((size, count), dtype=np.int64)
    similarity = np.zeros((size, count))
    for held in parts:
        pool = np.setdiff1d(np.arange(size), held)
        known, asked = featurise([texts[i] for i in pool], [texts[i] for i in held])
        known, asked = known.tocsr().copy(), asked.tocsr().copy()
        known.data = known.data.astype(np.float16).astype(np.float64)
        asked.data = asked.data.astype(np.float32).astype(np.float64)
        found, found_similarity = nearest((asked @ known.T).toarray(), count)
        index[held], similarity[held] = pool[found], found_similarity
    return index, similarity


def candidate_probabilities(
    probabilities: Floats,
    vectors: tuple[Index, Floats],
    words: tuple[Index, Floats],
    labels: npt.NDArray[np.bool_],
) -> list[Floats]:
    """The blended probabilities of every candidate, in :data:`CANDIDATES` order: the shipped
    vote's exactly as :func:`neighbour_vote.candidate_probabilities` gives them, then
    ``(1 - w) x p + w x ((1 - a) x vote(vectors) + a x vote(words))`` (``vectors`` and
    ``words``: each comment's nearest comments and similarities, as
    :func:`neighbour_vote.out_of_fold_nearest` and :func:`out_of_fold_nearest` give them)."""
    shipped = neighbour_vote.candidate_probabilities(probabilities, *vectors, labels)
    by_vector = {
        (k, gamma): vote_matrix(*vectors, labels, k, gamma)
        for k, gamma in itertools.product(KS, GAMMAS)
    }
    by_word = {
        (k, gamma): vote_matrix(*words, labels, k, gamma)
        for k, gamma in itertools.product(KS, GAMMAS)
    }
    mixed = [
        (1 - weight) * probabilities
        + weight * ((1 - share) * by_vector[(k, gamma)] + share * by_word[(k, gamma)])
        for k, gamma, weight, share in CANDIDATES[len(shipped) :]
    ]
    return shipped + mixed


def choose(
    labels: npt.NDArray[np.bool_],
    rules: npt.NDArray[np.bool_],
    candidates: Sequence[Floats],
    parts: Sequence[Index],
    choose_pair: neighbour_vote.Chooser,
) -> tuple[NeighbourVote, Floats]:
    """Per code, the candidate of :data:`CANDIDATES` that scores best by nested
    cross-validation over ``parts`` (:func:`neighbour_vote.choose_indices`); the vote, with each
    code's TF-IDF share, and the chosen probabilities."""
    chosen, probabilities = neighbour_vote.choose_indices(
        labels, rules, candidates, parts, choose_pair
    )
    settings = [CANDIDATES[c] for c in chosen]
    vote = NeighbourVote.of([s[:3] for s in settings], [s[3] for s in settings])
    return vote, probabilities
