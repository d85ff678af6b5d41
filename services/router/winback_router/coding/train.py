"""Rebuild the learned reason model from the labelled comments.

    python -m winback_router.coding.train              # writes coding/reason_model.npz
    python -m winback_router.coding.train --fast       # writes coding/reason_model_fast.npz
    DATABASE_URL=... python -m winback_router.coding.train --with-agent-labels  # + agents' labels
    python -m winback_router.coding.train --cv-only --out-of-fold oof.npz  # rule edits, scored
    python -m winback_router.coding.train --retune M.npz --out-of-fold oof.npz --output M.npz
    python -m winback_router.coding.train --per-code   # each code's own C and class weights
    python -m winback_router.coding.train --labels majority  # or agreed; default writer
    python -m winback_router.coding.train --neighbour-vote  # + the nearest comments' vote
    python -m winback_router.coding.train --neighbour-vote --tfidf-vote  # + nearest by words

Trains on the ``TRAINING_SPLITS`` only (``dev``, ``independent-dev``, ``independent-train``,
``independent-train-2`` to ``independent-train-6``, ``independent-train-9`` to ``-11``): held-out,
independent-heldout, blind, ``independent-train-7`` (kept out: models trained with it lost on
both held-out sets), ``independent-train-8`` and ``independent-eval-9`` stay unseen, so their
figures stay honest. ``--labels`` says which labels it learns: ``writer`` (the default, as
written), ``majority`` (per code, what two of the writer and the two second readers gave) or
``agreed`` (the writer's, leaving out the comments whose majority differs); the second readings
are ``second-readings.jsonl`` in ``--data`` (:mod:`winback_router.coding.agreement`) and cover
the ``READ_TWICE_SPLITS``; agents' labels (``--with-agent-labels``) are taken as they are.
Needs scikit-learn (the root project's ``dev`` group); the router runs the result with numpy and
the sentence encoder (:mod:`winback_router.coding.learned`).
``VECTOR_SCALE`` and ``C`` were chosen on held-out and independent-heldout, and the two
thresholds per code held up under cross-validation against one threshold or bounded pairs (see
``docs/coding-model-study.md``), never on blind.

How: TF-IDF features (character 2-5 grams of words and word 1-2 grams, sublinear tf, lowercase,
accents stripped) beside each comment's multilingual sentence vector
(:mod:`winback_router.coding.embeddings`, scaled by ``VECTOR_SCALE``), one logistic regression per
code (liblinear, balanced class weights). ``--vector-scale 0`` trains on TF-IDF alone;
``--pooling mean,max`` adds each sentence's vector pooled over the comment
(:mod:`winback_router.coding.sentence_pool`; measured on December 1 and off: it lost 0.012
under nested cross-validation at ``--pool-scale 1``).
``--neighbour-vote`` blends each code's probability with a vote of the nearest training
comments' codes (:mod:`winback_router.coding.neighbour_vote`, chosen per code by nested
cross-validation; off by default, see ``docs/coding-model-study.md``). ``--tfidf-vote`` lets
each code mix into that vote the vote of the comments nearest by TF-IDF words
(:mod:`winback_router.coding.tfidf_vote`), chosen the same way.
The two thresholds per code (see :class:`~winback_router.coding.learned.ReasonModel`) are
chosen on 5-fold out-of-fold probabilities combined with the rules' codes, so they are picked on
comments the classifier had not seen, as in production, and by the mean score of each pair's
neighbourhood on the grid, so a peak a few comments make does not set them. The printed
out-of-fold figure is still optimistic (the thresholds are chosen on the very predictions
scored); evaluate on the held-out splits for the honest one. A parity check compares numpy's
probabilities with scikit-learn's.

Changing the taxonomy's codes means re-running this: the router refuses a model trained for other
codes.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from winback_router.coding import agent_labels, tfidf_vote
from winback_router.coding.agreement import (
    LABEL_SOURCES,
    READINGS_FILE,
    LabelSource,
    load_readings,
    training_labels,
)
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.embeddings import DIMENSIONS, Vectors, embed
from winback_router.coding.evaluate import DEFAULT_DATA, Example, load_examples, predictor
from winback_router.coding.learned import (
    CHAR_NGRAMS,
    DEFAULT_MODEL,
    FAST_MODEL,
    NEVER,
    WORD_NGRAMS,
    Neighbours,
    ReasonModel,
    Vocabulary,
)
from winback_router.coding.neighbour_vote import (
    NeighbourVote,
    candidate_probabilities,
    choose,
    nested_codes,
    out_of_fold_nearest,
)
from winback_router.coding.repetition import CUES, Cues, repetition_cues
from winback_router.coding.selection import Setting, fit_per_code, settings_for
from winback_router.coding.sentence_pool import pooled_rows, sentence_texts
from winback_router.coding.tfidf_vote import TfidfRows

READ_TWICE_SPLITS = (
    "dev",
    "independent-dev",
    "independent-train",
    "independent-train-2",
    "independent-train-3",
    "independent-train-4",
    "independent-train-5",
    "independent-train-6",
)
"""The training files whose every comment two more people read (``second-readings.jsonl``):
``--labels majority`` and ``agreed`` change these only; later files keep their writer's labels."""
TRAINING_SPLITS = (
    *READ_TWICE_SPLITS,
    "independent-train-9",
    "independent-train-10",
    "independent-train-11",
)
C = 30.0
VECTOR_SCALE = 1.0
"""Sentence vectors are unit length like the TF-IDF block; this weighs one against the other."""
CUE_SCALE = 0.0
"""The repetition cues (0 or 1 each, :mod:`~winback_router.coding.repetition`) are multiplied by
this; 0 trains without them. Off: at 1 they lost ground under nested cross-validation on the
three weakest codes and gained nothing on the two training files not yet learnt from
(December 1, ``docs/coding-model-study.md``); ``--cue-scale`` tries them again."""
POOLING: tuple[str, ...] = ()
"""The sentence poolings (:mod:`~winback_router.coding.sentence_pool`) the full model reads
beside the whole comment's vector; empty: none. ``--pooling max`` etc. (see
``docs/coding-model-study.md``)."""
POOL_SCALE = 1.0
"""The pooled blocks are multiplied by this, as the whole comment's vector by ``VECTOR_SCALE``."""
FOLDS = 5
SEED = 42
GRID = np.append(np.round(np.arange(0.05, 0.96, 0.025), 3), NEVER)
"""Candidate thresholds; ``NEVER`` lets a code stay silent in one situation."""
KEEP_GRID = np.round(np.arange(0.025, 0.51, 0.025), 3)
"""Candidate floors under which a rule's code is removed: the model must be fairly sure the
rule is wrong, so floors stop at 0.5."""

Matrix = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Trained:
    """The model and what the training measured."""

    model: ReasonModel
    oof_rules_f1: float
    oof_hybrid_f1: float
    reference: Floats
    """scikit-learn's probabilities for the training comments, for :func:`parity`."""
    out_of_fold: Floats


def vectorizers() -> tuple[Any, Any]:
    """The two TF-IDF blocks, configured as :mod:`~winback_router.coding.learned` reads them."""
    common: dict[str, Any] = {"lowercase": True, "strip_accents": "unicode", "sublinear_tf": True}
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, **common)
    words = TfidfVectorizer(
        analyzer="word", ngram_range=WORD_NGRAMS, token_pattern=r"(?u)\b\w+\b", **common
    )
    return chars, words


def features(
    blocks: tuple[Any, Any], texts: Sequence[str], *, fit: bool, vectors: Vectors | None = None
) -> Any:
    """Both TF-IDF blocks side by side, scaled back to unit length, then the sentence vectors
    (already scaled) if any."""
    parts = [block.fit_transform(texts) if fit else block.transform(texts) for block in blocks]
    x = sparse.hstack(parts).tocsr() / np.sqrt(2)
    return x if vectors is None else sparse.hstack([x, sparse.csr_matrix(vectors)]).tocsr()


def fit_classifiers(
    x: Any, labels: Matrix, c: float = C, settings: Sequence[Setting] | None = None
) -> list[Any]:
    """One logistic regression per code (liblinear, ``random_state=0``): balanced at ``c``, or
    each code with its own setting (:mod:`~winback_router.coding.selection`) when ``settings``
    are given.

    Each code needs both classes among the comments: liblinear fits no constant model, it raises
    ``ValueError`` for a column of one class (its message speaks of multiclass data), so a sample
    without a comment of some code (or with that code on every comment) fails here."""
    if settings is not None:
        return fit_per_code(x, labels, settings)
    return [
        LogisticRegression(C=c, class_weight="balanced", solver="liblinear", random_state=0).fit(
            x, labels[:, column]
        )
        for column in range(labels.shape[1])
    ]


def folds(count: int, k: int = FOLDS, seed: int = SEED) -> list[npt.NDArray[np.int64]]:
    """``k`` disjoint index sets covering ``range(count)``, shuffled once."""
    order = np.random.default_rng(seed).permutation(count)
    return [order[i::k] for i in range(k)]


def macro_f1(labels: Matrix, predicted: Matrix) -> float:
    """Mean F1 over the codes that occur in ``labels`` (as ``evaluate`` scores)."""
    scores = []
    for column in range(labels.shape[1]):
        truth, guess = labels[:, column], predicted[:, column]
        if truth.any():
            tp = int((truth & guess).sum())
            wrong = int((truth ^ guess).sum())
            scores.append(2 * tp / (2 * tp + wrong))
    return float(np.mean(scores)) if scores else 0.0


def combine(probabilities: Floats, rules: Matrix, thresholds: Floats) -> Matrix:
    """The rules' codes plus the model's, at the "alone" or "extra" thresholds per comment."""
    count = probabilities.shape[1]
    alone = ~rules.any(axis=1, keepdims=True)
    chosen = np.where(alone, thresholds[None, :count], thresholds[None, count:])
    return rules | (probabilities >= chosen)


def choose_thresholds(labels: Matrix, probabilities: Floats, rules: Matrix) -> Floats:
    """Per code, the (alone, extra) pair whose neighbourhood scores best: each pair's F1
    combined with the rules, averaged with the pairs one grid step around it
    (:func:`smoothed`), so a lone peak that a few comments made is passed over for a plateau
    that holds (December 1: nested CV +0.003 macro-F1, the weak codes +0.004 to +0.010). Ties
    go to the higher thresholds, so the model speaks only when it pays."""
    count = labels.shape[1]
    alone: npt.NDArray[np.bool_] = np.logical_not(rules.any(axis=1))
    chosen = np.empty(2 * count)
    for column in range(count):
        chosen[column], chosen[count + column] = choose_pair(
            labels[:, column], rules[:, column], probabilities[:, column], alone
        )
    return chosen


def choose_pair(
    truth: npt.NDArray[np.bool_],
    rule: npt.NDArray[np.bool_],
    probability: Floats,
    alone: npt.NDArray[np.bool_],
) -> tuple[float, float]:
    """One code's (alone, extra) pair as :func:`choose_thresholds` chooses it. A comment's
    guess depends on one threshold only (the "alone" one where the rules found nothing), so
    each pair's true positives and errors are the sum of the two situations' counts, computed
    once per threshold: the whole grid in one pass (a nested choice over many candidates
    calls this thousands of times)."""
    extra = ~alone
    tp_alone, wrong_alone = _counts(truth[alone], probability[alone][None, :] >= GRID[:, None])
    tp_extra, wrong_extra = _counts(
        truth[extra], rule[extra][None, :] | (probability[extra][None, :] >= GRID[:, None])
    )
    tp = tp_alone[:, None] + tp_extra[None, :]
    wrong = wrong_alone[:, None] + wrong_extra[None, :]
    scores = np.where(tp + wrong > 0, 2 * tp / np.maximum(2 * tp + wrong, 1), 0.0)
    smooth = smoothed(scores)
    best = np.argwhere(smooth >= smooth.max() - 1e-12)[-1]
    return float(GRID[best[0]]), float(GRID[best[1]])


def _counts(
    truth: npt.NDArray[np.bool_], guesses: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """True positives and errors of each row of ``guesses`` (one row per threshold)."""
    return (truth[None, :] & guesses).sum(1), (truth[None, :] ^ guesses).sum(1)


def smoothed(scores: Floats) -> Floats:
    """Each cell's mean with its neighbours one step away (3 x 3, edges repeated)."""
    padded = np.pad(scores, 1, mode="edge")
    rows, columns = scores.shape
    total = sum(padded[i : i + rows, j : j + columns] for i in range(3) for j in range(3))
    result: Floats = np.asarray(total) / 9
    return result


def apply_keep(rules: Matrix, probabilities: Floats, keep: Floats) -> Matrix:
    """The rules' codes that stand: a rule's code whose probability is under its code's
    ``keep`` floor is removed (a floor of 0 never removes anything)."""
    return rules & (probabilities >= keep[None, :])


def choose_keep(labels: Matrix, probabilities: Floats, rules: Matrix, thresholds: Floats) -> Floats:
    """Per code, the floor under which the model removes the rules' code, maximising the
    code's F1 with the model's additions at ``thresholds``; 0 (never remove) unless a floor
    does strictly better, so a rule keeps its code whenever removing gains nothing."""
    count = labels.shape[1]
    added = combine(probabilities, rules, thresholds) & ~rules
    keep = np.zeros(count)
    for column in range(count):
        truth, rule, prob = labels[:, column], rules[:, column], probabilities[:, column]
        best_f1 = _f1(truth, rule | added[:, column])
        for floor in KEEP_GRID:
            f1 = _f1(truth, (rule & (prob >= floor)) | added[:, column])
            if f1 > best_f1 + 1e-12:
                keep[column], best_f1 = floor, f1
    return keep


def _f1(truth: npt.NDArray[np.bool_], guess: npt.NDArray[np.bool_]) -> float:
    tp = int((truth & guess).sum())
    wrong = int((truth ^ guess).sum())
    return 2 * tp / (2 * tp + wrong) if tp + wrong else 0.0


@dataclass(frozen=True)
class Nested:
    """Cross-validated figures where each fold is coded with thresholds (and floors) chosen on
    the other folds' out-of-fold probabilities only: honest, unlike the out-of-fold figure."""

    rules: float
    added: float
    removed: float
    """Rules + model, the model also removing rule codes under their floors."""
    per_code: list[tuple[str, float, float, float]]
    """(code, rules, added, removed) F1 per code."""


def nested(
    labels: Matrix,
    probabilities: Floats,
    rules: Matrix,
    parts: Sequence[npt.NDArray[np.int64]],
    codes: Sequence[str],
    subset: npt.NDArray[np.bool_] | None = None,
) -> Nested:
    """Score each part with thresholds and floors chosen on the rest (``subset``: score only
    those rows, e.g. the comments written apart from the rules)."""
    added = np.zeros_like(labels)
    removed = np.zeros_like(labels)
    everything = np.arange(len(labels))
    for held in parts:
        kept = np.setdiff1d(everything, held)
        thresholds = choose_thresholds(labels[kept], probabilities[kept], rules[kept])
        keep = choose_keep(labels[kept], probabilities[kept], rules[kept], thresholds)
        added[held] = combine(probabilities[held], rules[held], thresholds)
        removed[held] = apply_keep(rules[held], probabilities[held], keep) | (
            added[held] & ~rules[held]
        )
    rows = np.ones(len(labels), dtype=bool) if subset is None else subset
    truth = labels[rows]
    per_code = [
        (
            code,
            _f1(truth[:, j], rules[rows, j]),
            _f1(truth[:, j], added[rows, j]),
            _f1(truth[:, j], removed[rows, j]),
        )
        for j, code in enumerate(codes)
        if truth[:, j].any()
    ]
    return Nested(
        macro_f1(truth, rules[rows]),
        macro_f1(truth, added[rows]),
        macro_f1(truth, removed[rows]),
        per_code,
    )


def out_of_fold_probabilities(
    texts: Sequence[str],
    labels: Matrix,
    vectors: Vectors | None,
    c: float = C,
    settings: Sequence[Setting] | None = None,
) -> Floats:
    """Each comment's probabilities from classifiers fitted on the other folds (``vectors``
    already scaled). The classifiers read the text alone, never the rules' codes, so these do
    not change when the rules do: :func:`main` can keep them in a file between rule edits."""
    out_of_fold = np.zeros(labels.shape)
    for held in folds(len(texts)):
        kept = np.setdiff1d(np.arange(len(texts)), held)
        blocks = vectorizers()
        x_kept = features(blocks, [texts[i] for i in kept], fit=True, vectors=_rows(vectors, kept))
        x_held = features(blocks, [texts[i] for i in held], fit=False, vectors=_rows(vectors, held))
        fitted = fit_classifiers(x_kept, labels[kept], c, settings)
        for column, classifier in enumerate(fitted):
            out_of_fold[held, column] = _positive(classifier, x_held)
    return out_of_fold


def label_matrix(examples: Sequence[Example], codes: Sequence[str]) -> Matrix:
    """One row per comment, one column per code."""
    return np.array([[code in example.codes for code in codes] for example in examples])


def cross_validated(
    labels: Matrix,
    rules: Matrix,
    out_of_fold: Floats,
    codes: Sequence[str],
    apart: npt.NDArray[np.bool_] | None = None,
) -> tuple[Nested, Nested | None]:
    """:func:`nested` over the training folds, for every comment and for those in ``apart``."""
    parts = folds(len(labels))
    everything = nested(labels, out_of_fold, rules, parts, codes)
    if apart is None:
        return everything, None
    return everything, nested(labels, out_of_fold, rules, parts, codes, apart)


def train(
    examples: Sequence[Example],
    rules: Matrix,
    codes: Sequence[str],
    vectors: Vectors | None = None,
    *,
    c: float = C,
    scale: float = VECTOR_SCALE,
    cues: Cues | None = None,
    cue_scale: float = CUE_SCALE,
    pooled: Vectors | None = None,
    pooling: Sequence[str] = POOLING,
    pool_scale: float = POOL_SCALE,
    out_of_fold: Floats | None = None,
    removal: bool = True,
    fit_only: bool = False,
    settings: Sequence[Setting] | None = None,
    vote: NeighbourVote | None = None,
) -> Trained:
    """Fit the model on ``examples`` (``rules``: the rules' codes for each, as a matrix;
    ``vectors``: their sentence vectors, or None for TF-IDF alone; ``cues``: their repetition
    cues (weighed by ``cue_scale``), or None for a model without them; ``pooled``: their
    ``pooling`` blocks (:func:`pooled_vectors`, weighed by ``pool_scale``), or None;
    ``out_of_fold``: their out-of-fold probabilities if already computed; ``removal``: let the
    model remove rule codes under the floors chosen by :func:`choose_keep`; ``fit_only``: no
    out-of-fold probabilities, so thresholds that never add a code and no floors, until
    :func:`retune`; ``settings``: each code's own C and class weights instead of ``c`` and
    balanced; ``vote``: the nearest comments' vote blended per code (:func:`neighbour_vote`,
    whose blended probabilities ``out_of_fold`` must then be))."""
    texts = [example.text for example in examples]
    labels = label_matrix(examples, codes)
    scaled = dense_block(
        None if vectors is None else vectors * np.float32(scale),
        None if cues is None else cues * np.float32(cue_scale),
        None if pooled is None else pooled * np.float32(pool_scale),
    )
    if fit_only:
        out_of_fold = np.zeros(labels.shape)
        thresholds, keep = np.full(2 * len(codes), NEVER), None
    else:
        if out_of_fold is None:
            out_of_fold = out_of_fold_probabilities(texts, labels, scaled, c, settings)
        thresholds = choose_thresholds(labels, out_of_fold, rules)
        keep = choose_keep(labels, out_of_fold, rules, thresholds) if removal else None

    blocks = vectorizers()
    x = features(blocks, texts, fit=True, vectors=scaled)
    classifiers = fit_classifiers(x, labels, c, settings)
    chars, words = blocks
    char_terms = sorted(chars.vocabulary_, key=chars.vocabulary_.__getitem__)
    word_terms = sorted(words.vocabulary_, key=words.vocabulary_.__getitem__)
    weights = np.stack([classifier.coef_[0] for classifier in classifiers], 1).astype(np.float32)
    tfidf = len(char_terms) + len(word_terms)
    vectors_end = tfidf + (0 if vectors is None else vectors.shape[1])
    cues_end = vectors_end + (0 if cues is None else cues.shape[1])
    words_vote = vote is not None and vote.share is not None and vectors is not None
    model = ReasonModel(
        codes=tuple(codes),
        chars=Vocabulary.of(char_terms, chars.idf_, 0),
        words=Vocabulary.of(word_terms, words.idf_, len(char_terms)),
        weights=weights[:tfidf],
        bias=np.array([c.intercept_[0] for c in classifiers], dtype=np.float32),
        thresholds=thresholds.astype(np.float32),
        vector_weights=None if vectors is None else weights[tfidf:vectors_end] * np.float32(scale),
        neighbours=None
        if vectors is None
        else Neighbours.of(texts, [sorted(example.codes) for example in examples], vectors),
        keep=None if keep is None else keep.astype(np.float32),
        cue_weights=None if cues is None else weights[vectors_end:cues_end] * np.float32(cue_scale),
        pooling=() if pooled is None else tuple(pooling),
        pooled_weights=None if pooled is None else weights[cues_end:] * np.float32(pool_scale),
        vote=vote if vectors is not None else None,
        tfidf_rows=training_rows(x[:, :tfidf]) if words_vote else None,
    )
    reference = np.stack([_positive(c, x) for c in classifiers], 1)
    if model.vote is not None and model.neighbours is not None and vectors is not None:
        voters = model.neighbours.labels(codes)
        words = words_reference(model.vote, x[:, :tfidf], voters) if words_vote else None
        reference = np.stack(
            [
                model.vote.blend(
                    row,
                    model.vote.mix(
                        model.vote.votes(model.neighbours.similarities(v), voters),
                        None if words is None else words[i],
                    ),
                )
                for i, (row, v) in enumerate(zip(reference, vectors, strict=True))
            ]
        )
    predicted = combine(out_of_fold, rules, thresholds)
    if keep is not None:
        predicted = apply_keep(rules, out_of_fold, keep) | (predicted & ~rules)
    return Trained(
        model,
        macro_f1(labels, rules),
        macro_f1(labels, predicted),
        reference,
        out_of_fold,
    )


def neighbour_vote(
    examples: Sequence[Example],
    labels: Matrix,
    rules: Matrix,
    out_of_fold: Floats,
    vectors: Vectors,
    apart: npt.NDArray[np.bool_],
    *,
    words: bool = False,
    codes: Sequence[str] = (),
) -> tuple[NeighbourVote, Floats]:
    """Per code, the nearest comments' vote and its blend with the regression
    (:mod:`~winback_router.coding.neighbour_vote`), chosen by nested cross-validation on the
    same folds as ``out_of_fold``; returns it and the blended out-of-fold probabilities, on
    which the thresholds are then chosen. Prints the honest figure: each fold coded with a
    vote and thresholds chosen on the other four. ``words``: the candidates also mix in the
    vote of the comments nearest by TF-IDF words (:mod:`~winback_router.coding.tfidf_vote`;
    each fold's nearest among the other folds, by a vocabulary and idf fitted on those), and
    each code's (``codes``) nested F1 and chosen setting are printed."""
    texts = [e.text for e in examples]
    codes_of = [sorted(example.codes) for example in examples]
    database = Neighbours.of(texts, codes_of, vectors).matrix
    parts = folds(len(labels))
    index, similarity = out_of_fold_nearest(vectors, database, parts)
    if words:
        by_words = tfidf_vote.out_of_fold_nearest(texts, parts, fitted_rows)
        candidates = tfidf_vote.candidate_probabilities(
            out_of_fold, (index, similarity), by_words, labels
        )
    else:
        candidates = candidate_probabilities(out_of_fold, index, similarity, labels)
    predicted = nested_codes(labels, rules, candidates, parts, choose_pair)
    everything = macro_f1(labels, predicted)
    written_apart = macro_f1(labels[apart], predicted[apart])
    title = "neighbour vote" + (" with the TF-IDF words' vote" if words else "")
    print(
        f"{title}, nested (vote and thresholds chosen on the other folds): macro-F1 "
        f"{everything:.4f}, written apart {written_apart:.4f}"
    )
    if not words:
        return choose(labels, rules, candidates, parts, choose_pair)
    vote, chosen = tfidf_vote.choose(labels, rules, candidates, parts, choose_pair)
    assert vote.share is not None
    print("  per code: nested F1; chosen on all folds (k, gamma, weight, words' share)")
    for j, code in enumerate(codes):
        print(
            f"  {code:<22} {_f1(labels[:, j], predicted[:, j]):.3f}; "
            f"({vote.k[j]}, {vote.gamma[j]:g}, {vote.weight[j]:g}, {vote.share[j]:g})"
        )
    return vote, chosen


def fitted_rows(known: Sequence[str], asked: Sequence[str]) -> tuple[Any, Any]:
    """The TF-IDF rows (both blocks, as :func:`features` gives them) of ``known`` and ``asked``,
    with the vocabulary and idf fitted on ``known`` only."""
    blocks = vectorizers()
    return features(blocks, known, fit=True), features(blocks, asked, fit=False)


def training_rows(x: Any) -> TfidfRows:
    """The training comments' TF-IDF rows (``x``: their :func:`features`, TF-IDF columns only)
    as the model keeps them: column by column."""
    columns = sparse.csc_matrix(x)
    columns.sort_indices()
    return TfidfRows.of(columns.indptr, columns.indices, columns.data, columns.shape[0])


def words_reference(vote: NeighbourVote, x: Any, voters: Matrix) -> Floats:
    """Each training comment's words' vote from scipy's float64 product of ``x`` (their
    TF-IDF rows) with itself, for :func:`parity`'s reference (the model reads float16 rows)."""
    rows = sparse.csr_matrix(x)
    found = []
    for first in range(0, rows.shape[0], 500):
        similarity = (rows[first : first + 500] @ rows.T).toarray()
        found += [vote.votes(row, voters) for row in similarity]
    return np.array(found)


def dense_block(
    vectors: Vectors | None, cues: Cues | None, pooled: Vectors | None = None
) -> Vectors | None:
    """The dense features beside TF-IDF, all already scaled: the sentence vectors, the
    repetition cues, then the pooled sentence vectors (None when there are none)."""
    parts = [part for part in (vectors, cues, pooled) if part is not None]
    return np.hstack(parts).astype(np.float32) if parts else None


def cue_rows(texts: Sequence[str]) -> Cues:
    """Each text's repetition cues, one row per text."""
    if not texts:
        return np.zeros((0, len(CUES)), dtype=np.float32)
    return np.stack([repetition_cues(text) for text in texts])


def pooled_vectors(poolings: Sequence[str], texts: Sequence[str], vectors: Vectors) -> Vectors:
    """Each text's pooled sentence vectors (``vectors``: the texts' own), with one encoder call
    for every sentence of every text, split as the coder splits a comment."""
    sentences = [sentence_texts(text) for text in texts]
    flat = embed([sentence for each in sentences for sentence in each])
    ends = np.cumsum([len(each) for each in sentences])
    return pooled_rows(poolings, vectors, np.split(flat, ends[:-1]) if len(ends) else [])


def _pooled(
    pooling: Sequence[str], texts: Sequence[str], vectors: Vectors | None
) -> Vectors | None:
    """:func:`pooled_vectors` when the model reads pooled blocks and the texts' vectors."""
    return pooled_vectors(pooling, texts, vectors) if pooling and vectors is not None else None


def _rows(vectors: Vectors | None, index: npt.NDArray[np.int64]) -> Vectors | None:
    return None if vectors is None else vectors[index]


def _positive(classifier: Any, x: Any) -> Floats:
    probabilities: Floats = classifier.predict_proba(x)[:, 1]
    return probabilities


def parity(
    model: ReasonModel, texts: Sequence[str], reference: Floats, vectors: Vectors | None = None
) -> float:
    """Largest difference between ``model``'s probabilities (numpy) and scikit-learn's."""
    mine = np.array(
        [
            model.probabilities(text, None if vectors is None else vectors[i])
            for i, text in enumerate(texts)
        ],
        dtype=np.float64,
    )
    return float(np.abs(mine - reference).max())


def retune(
    model: ReasonModel, labels: Matrix, rules: Matrix, out_of_fold: Floats, *, removal: bool = True
) -> ReasonModel:
    """``model`` with thresholds and floors chosen again for ``rules`` (the rules' codes after a
    rule edit): the classifiers read the text alone, so they and their out-of-fold
    probabilities stand, and this takes seconds where fitting takes minutes."""
    thresholds = choose_thresholds(labels, out_of_fold, rules)
    keep = choose_keep(labels, out_of_fold, rules, thresholds) if removal else None
    return dataclasses.replace(
        model,
        thresholds=thresholds.astype(np.float32),
        keep=None if keep is None else keep.astype(np.float32),
    )


def cache_key(
    texts: Sequence[str],
    labels: Matrix,
    c: float,
    scale: float,
    cue_scale: float = 0.0,
    settings: Sequence[Setting] | None = None,
    pooling: Sequence[str] = (),
    pool_scale: float = POOL_SCALE,
) -> str:
    """What out-of-fold probabilities depend on: the comments, their labels, the settings."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode() + b"\0")
    digest.update(np.packbits(labels).tobytes())
    digest.update(f"{c}|{scale}|{FOLDS}|{SEED}|{sorted(CHAR_NGRAMS + WORD_NGRAMS)}".encode())
    if cue_scale:
        digest.update(f"|{cue_scale}|{CUES}".encode())
    if settings is not None:
        digest.update(("|" + ",".join(setting.name for setting in settings)).encode())
    if pooling:
        digest.update(f"|pooled {list(pooling)} x{pool_scale}".encode())
    return digest.hexdigest()


def cached_out_of_fold(
    path: Path | None, texts: Sequence[str], labels: Matrix, vectors: Vectors | None, c: float,
    scale: float, cue_scale: float = 0.0, settings: Sequence[Setting] | None = None,
    pooled: Vectors | None = None, pooling: Sequence[str] = (), pool_scale: float = POOL_SCALE,
) -> Floats:  # fmt: skip
    """:func:`out_of_fold_probabilities`, read from ``path`` if it holds them for exactly these
    comments, labels and settings, else computed (and written there; ``pooled``: the texts'
    ``pooling`` blocks, needed only then)."""
    key = cache_key(texts, labels, c, scale, cue_scale, settings, pooling, pool_scale)
    if path is not None and path.exists():
        with np.load(path) as data:
            if str(data["key"]) == key:
                print(f"out-of-fold probabilities read from {path}")
                cached: Floats = data["p"]
                return cached
    scaled = dense_block(
        None if vectors is None else vectors * np.float32(scale),
        cue_rows(texts) * np.float32(cue_scale) if cue_scale else None,
        None if pooled is None else pooled * np.float32(pool_scale),
    )
    probabilities = out_of_fold_probabilities(texts, labels, scaled, c, settings)
    if path is not None:
        np.savez_compressed(path, key=np.array(key), p=probabilities)
    return probabilities


def format_cross_validated(title: str, figures: Nested) -> list[str]:
    """The nested figures, with the codes whose F1 the removals move."""
    lines = [
        f"{title}: rules alone {figures.rules:.3f}, rules + model {figures.added:.3f}, "
        f"+ removals {figures.removed:.3f}"
    ]
    for code, rules, added, removed in figures.per_code:
        moved = " <" if abs(removed - added) >= 0.0005 else ""
        lines.append(f"  {code:<22} {rules:.3f} {added:.3f} {removed:.3f}{moved}")
    return lines


def print_thresholds(codes: Sequence[str], model: ReasonModel) -> None:
    """Each code's two thresholds and its removal floor."""
    count, t, keep = len(codes), model.thresholds, model.keep
    print(
        "thresholds (where the rules found nothing / next to rule codes; 1.1 = never)"
        " and the floor under which a rule's code is removed (0 = never):"
    )
    for column, code in enumerate(codes):
        floor = 0.0 if keep is None else float(keep[column])
        print(f"  {code:<22} {t[column]:.3f} / {t[count + column]:.3f}   {floor:.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    """Train, write the model, print the figures and the parity check."""
    parser = argparse.ArgumentParser(description="rebuild the learned reason model")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the JSONL files")
    parser.add_argument("--output", type=Path, default=None, help="the .npz to write")
    parser.add_argument("--taxonomy", type=Path, default=None, help="taxonomy TOML to train for")
    parser.add_argument("--sample", type=int, default=None, help="first N comments (for tests)")
    parser.add_argument(
        "--labels",
        choices=LABEL_SOURCES,
        default="writer",
        help="the writer's labels, the majority of writer and two readers per code, or only the "
        "comments where that majority agrees with the writer (coding.agreement)",
    )
    parser.add_argument(
        "--with-agent-labels",
        action="store_true",
        help="also train on the cases agents reviewed (PostgreSQL at DATABASE_URL)",
    )
    parser.add_argument("--c", type=float, default=C, help="inverse regularisation strength")
    parser.add_argument(
        "--per-code",
        action="store_true",
        help="each code learns with its own C and class weights (selection.CHOSEN) instead of "
        "--c and balanced",
    )
    parser.add_argument(
        "--vector-scale", type=float, default=None, help="0: TF-IDF alone, no vectors"
    )
    parser.add_argument(
        "--cue-scale",
        type=float,
        default=CUE_SCALE,
        help="weight of the repetition cues; 0: a model without them",
    )
    parser.add_argument(
        "--pooling",
        default=",".join(POOLING),
        help="sentence poolings read beside the comment's vector, comma-separated "
        "(mean, max); empty: none",
    )
    parser.add_argument(
        "--pool-scale", type=float, default=POOL_SCALE, help="weight of the pooled blocks"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help=f"the router's hot-path model: TF-IDF alone, written to {FAST_MODEL.name}",
    )
    parser.add_argument(
        "--no-removal",
        action="store_true",
        help="the model only adds codes, never removes a rule's code",
    )
    parser.add_argument(
        "--out-of-fold",
        type=Path,
        default=None,
        help="keep the out-of-fold probabilities in this .npz (they do not depend on the rules)",
    )
    parser.add_argument(
        "--fit-only",
        action="store_true",
        help="fit on every comment, no cross-validation; the model adds nothing until --retune",
    )
    parser.add_argument(
        "--retune",
        type=Path,
        default=None,
        help="choose this model's thresholds and floors again for the current rules (needs "
        "--out-of-fold), no fitting; written to --output",
    )
    parser.add_argument(
        "--neighbour-vote",
        action="store_true",
        help="blend each code's probability with the nearest training comments' vote (k, "
        "weighting and blend chosen per code by nested cross-validation); needs the vectors",
    )
    parser.add_argument(
        "--tfidf-vote",
        action="store_true",
        help="with --neighbour-vote: each code may mix into the vote the vote of the comments "
        "nearest by TF-IDF words (share 0, 0.33, 0.67 or 1, chosen by nested cross-validation)",
    )
    parser.add_argument(
        "--cv-only",
        action="store_true",
        help="print the cross-validated figures for the current rules; write no model",
    )
    args = parser.parse_args(argv)
    if args.vector_scale is None:
        args.vector_scale = 0.0 if args.fast else VECTOR_SCALE
    if args.output is None:
        args.output = FAST_MODEL if args.fast else DEFAULT_MODEL
    pooling = tuple(name for name in args.pooling.split(",") if name) if args.vector_scale else ()
    if args.neighbour_vote and not args.vector_scale:
        parser.error("--neighbour-vote reads the sentence vectors: not with --fast or scale 0")
    if args.tfidf_vote and not args.neighbour_vote:
        parser.error("--tfidf-vote mixes into the neighbour vote: add --neighbour-vote")

    taxonomy = load_and_compile(args.taxonomy, model=None)
    codes = [code.id for code in taxonomy.codes]
    examples: list[Example] = []
    apart: list[bool] = []
    readings = None if args.labels == "writer" else load_readings(args.data / READINGS_FILE)
    for split in TRAINING_SPLITS:
        source: LabelSource = args.labels if split in READ_TWICE_SPLITS else "writer"
        read = training_labels(load_examples(args.data / f"{split}.jsonl"), readings, source, codes)
        examples += read
        apart += [split != "dev"] * len(read)
    if readings is not None:
        print(f"labels: {args.labels} of the writer and two readers ({len(examples)} comments)")
    examples = examples[: args.sample] if args.sample else examples
    apart = apart[: len(examples)]
    if args.with_agent_labels:
        from_agents = agent_labels.training_examples(agent_labels.read_configured(), codes)
        print(f"agent-reviewed cases: {len(from_agents)} (full labels with text)")
        examples += from_agents
        apart += [True] * len(from_agents)
    predict = predictor(taxonomy)
    rules = np.array([[code in predict(e.text) for code in codes] for e in examples])
    texts = [example.text for example in examples]
    labels = label_matrix(examples, codes)
    cached = args.out_of_fold is not None and args.out_of_fold.exists()
    cues = cue_rows(texts) if args.cue_scale else None
    settings = settings_for(codes) if args.per_code else None
    if settings is not None:
        print("per-code settings: " + ", ".join(
            f"{code} {setting.name}" for code, setting in zip(codes, settings, strict=True)
        ))  # fmt: skip
    if args.fit_only:
        vectors = embed(texts) if args.vector_scale else None
        fitted = train(
            examples, rules, codes, vectors, c=args.c, scale=args.vector_scale, cues=cues,
            cue_scale=args.cue_scale, pooled=_pooled(pooling, texts, vectors), pooling=pooling,
            pool_scale=args.pool_scale, fit_only=True, settings=settings,
        )  # fmt: skip
        fitted.model.save(args.output)
        print(
            f"fitted on {len(examples)} comments; wrote {args.output} (adds nothing until --retune)"
        )
        return
    if args.retune is not None and not cached:
        parser.error("--retune needs the out-of-fold probabilities: --out-of-fold FILE")
    vectors = (
        embed(texts)
        if args.vector_scale and not ((args.cv_only or args.retune) and cached)
        else None
    )
    pooled = _pooled(pooling, texts, vectors)
    out_of_fold = cached_out_of_fold(
        args.out_of_fold, texts, labels, vectors, args.c, args.vector_scale, args.cue_scale,
        settings, pooled, pooling, args.pool_scale,
    )  # fmt: skip
    vote = None
    if args.neighbour_vote:
        vectors = embed(texts) if vectors is None else vectors
        vote, out_of_fold = neighbour_vote(
            examples,
            labels,
            rules,
            out_of_fold,
            vectors,
            np.array(apart),
            words=args.tfidf_vote,
            codes=codes,
        )
    everything, written_apart = cross_validated(labels, rules, out_of_fold, codes, np.array(apart))
    print(f"{len(examples)} comments ({' + '.join(TRAINING_SPLITS)}), {len(codes)} codes")
    print("cross-validated, each fold coded with thresholds chosen on the other four; per code")
    print("F1 rules alone / rules + model / + removals:")
    print("\n".join(format_cross_validated("all training comments", everything)))
    if written_apart is not None:
        print("\n".join(format_cross_validated("written apart from the rules", written_apart)))
    if args.cv_only:
        return
    if args.retune is not None:
        retuned = retune(
            ReasonModel.read(args.retune), labels, rules, out_of_fold, removal=not args.no_removal
        )
        if vote is not None:
            retuned = dataclasses.replace(retuned, vote=vote)
        if vote is not None and vote.share is not None:
            rows = features(vectorizers(), texts, fit=True)
            retuned = dataclasses.replace(retuned, tfidf_rows=training_rows(rows))
        retuned.save(args.output)
        print(f"thresholds and floors of {args.retune} chosen again; wrote {args.output}")
        print_thresholds(codes, retuned)
        return
    if args.vector_scale and vectors is None:
        vectors = embed(texts)
        pooled = _pooled(pooling, texts, vectors)
    trained = train(
        examples, rules, codes, vectors, c=args.c, scale=args.vector_scale, cues=cues,
        cue_scale=args.cue_scale, pooled=pooled, pooling=pooling, pool_scale=args.pool_scale,
        out_of_fold=out_of_fold, removal=not args.no_removal, settings=settings, vote=vote,
    )  # fmt: skip
    trained.model.save(args.output)
    reread = ReasonModel.read(args.output)

    count = len(codes)
    print(f"trained on {len(examples)} comments ({' + '.join(TRAINING_SPLITS)}), {count} codes")
    sentence = (
        f" + {DIMENSIONS} sentence-vector (x{args.vector_scale:g})" if vectors is not None else ""
    )
    if pooled is not None:
        sentence += f" + {pooled.shape[1]} pooled {'/'.join(pooling)} (x{args.pool_scale:g})"
    print(
        f"features: {len(reread.chars.index)} character + {len(reread.words.index)} word"
        f"{sentence}; C = {args.c:g}"
    )
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.2f} MB)")
    print_thresholds(codes, trained.model)
    print(
        f"out-of-fold macro-F1: rules alone {trained.oof_rules_f1:.3f}, "
        f"rules + model {trained.oof_hybrid_f1:.3f} (thresholds chosen on these, optimistic)"
    )
    print(
        "parity, numpy on the file as written (float16 weights) vs scikit-learn: max |dp| = "
        f"{parity(reread, texts, trained.reference, vectors):.1e} over the {len(texts)} "
        "training comments"
    )


if __name__ == "__main__":
    main()
