"""Rebuild the learned reason model from the labelled comments.

    python -m winback_router.coding.train              # writes coding/reason_model.npz
    python -m winback_router.coding.train --fast       # writes coding/reason_model_fast.npz
    DATABASE_URL=... python -m winback_router.coding.train --with-agent-labels  # + agents' labels

Trains on the ``TRAINING_SPLITS`` only (``dev``, ``independent-dev``, ``independent-train``,
``independent-train-2``): held-out, independent-heldout and blind stay unseen, so their
figures stay honest. Needs scikit-learn (the root project's ``dev`` group); the router runs the
result with numpy and the sentence encoder (:mod:`winback_router.coding.learned`).
``VECTOR_SCALE`` and ``C`` were chosen on held-out and independent-heldout, and the two
thresholds per code held up under cross-validation against one threshold or bounded pairs (see
``docs/coding-model-study.md``), never on blind.

How: TF-IDF features (character 2-5 grams of words and word 1-2 grams, sublinear tf, lowercase,
accents stripped) beside each comment's multilingual sentence vector
(:mod:`winback_router.coding.embeddings`, scaled by ``VECTOR_SCALE``), one logistic regression per
code (liblinear, balanced class weights). ``--vector-scale 0`` trains on TF-IDF alone.
The two thresholds per code (see :class:`~winback_router.coding.learned.ReasonModel`) are
chosen on 5-fold out-of-fold probabilities combined with the rules' codes, so they are picked on
comments the classifier had not seen, as in production. The printed out-of-fold figure is still
optimistic (the thresholds are chosen on the very predictions scored); evaluate on the held-out
splits for the honest one. A parity check compares numpy's probabilities with scikit-learn's.

Changing the taxonomy's codes means re-running this: the router refuses a model trained for other
codes.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from winback_router.coding import agent_labels
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

TRAINING_SPLITS = ("dev", "independent-dev", "independent-train", "independent-train-2")
C = 30.0
VECTOR_SCALE = 1.0
"""Sentence vectors are unit length like the TF-IDF block; this weighs one against the other."""
FOLDS = 5
SEED = 42
GRID = np.append(np.round(np.arange(0.05, 0.96, 0.025), 3), NEVER)
"""Candidate thresholds; ``NEVER`` lets a code stay silent in one situation."""

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


def fit_classifiers(x: Any, labels: Matrix, c: float = C) -> list[Any]:
    """One balanced logistic regression per code (a code with one class gets a constant)."""
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
    """Per code, the (alone, extra) pair maximising that code's F1 combined with the rules;
    ties go to the higher thresholds, so the model speaks only when it pays."""
    count = labels.shape[1]
    alone = ~rules.any(axis=1)
    chosen = np.empty(2 * count)
    for column in range(count):
        truth, rule, prob = labels[:, column], rules[:, column], probabilities[:, column]
        best, best_f1 = (NEVER, NEVER), -1.0
        for t_alone in GRID:
            for t_extra in GRID:
                guess = rule | np.where(alone, prob >= t_alone, prob >= t_extra)
                tp = int((truth & guess).sum())
                wrong = int((truth ^ guess).sum())
                f1 = 2 * tp / (2 * tp + wrong) if tp + wrong else 0.0
                if f1 >= best_f1 - 1e-12:
                    best, best_f1 = (float(t_alone), float(t_extra)), f1
        chosen[column], chosen[count + column] = best
    return chosen


def train(
    examples: Sequence[Example],
    rules: Matrix,
    codes: Sequence[str],
    vectors: Vectors | None = None,
    *,
    c: float = C,
    scale: float = VECTOR_SCALE,
) -> Trained:
    """Fit the model on ``examples`` (``rules``: the rules' codes for each, as a matrix;
    ``vectors``: their sentence vectors, or None for TF-IDF alone)."""
    texts = [example.text for example in examples]
    labels = np.array([[code in example.codes for code in codes] for example in examples])
    scaled = None if vectors is None else vectors * np.float32(scale)
    out_of_fold = np.zeros(labels.shape)
    for held in folds(len(texts)):
        kept = np.setdiff1d(np.arange(len(texts)), held)
        blocks = vectorizers()
        x_kept = features(blocks, [texts[i] for i in kept], fit=True, vectors=_rows(scaled, kept))
        x_held = features(blocks, [texts[i] for i in held], fit=False, vectors=_rows(scaled, held))
        for column, classifier in enumerate(fit_classifiers(x_kept, labels[kept], c)):
            out_of_fold[held, column] = _positive(classifier, x_held)
    thresholds = choose_thresholds(labels, out_of_fold, rules)

    blocks = vectorizers()
    x = features(blocks, texts, fit=True, vectors=scaled)
    classifiers = fit_classifiers(x, labels, c)
    chars, words = blocks
    char_terms = sorted(chars.vocabulary_, key=chars.vocabulary_.__getitem__)
    word_terms = sorted(words.vocabulary_, key=words.vocabulary_.__getitem__)
    weights = np.stack([classifier.coef_[0] for classifier in classifiers], 1).astype(np.float32)
    tfidf = len(char_terms) + len(word_terms)
    model = ReasonModel(
        codes=tuple(codes),
        chars=Vocabulary.of(char_terms, chars.idf_, 0),
        words=Vocabulary.of(word_terms, words.idf_, len(char_terms)),
        weights=weights[:tfidf],
        bias=np.array([c.intercept_[0] for c in classifiers], dtype=np.float32),
        thresholds=thresholds.astype(np.float32),
        vector_weights=None if vectors is None else weights[tfidf:] * np.float32(scale),
        neighbours=None
        if vectors is None
        else Neighbours.of(texts, [sorted(example.codes) for example in examples], vectors),
    )
    return Trained(
        model,
        macro_f1(labels, rules),
        macro_f1(labels, combine(out_of_fold, rules, thresholds)),
        np.stack([_positive(c, x) for c in classifiers], 1),
    )


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


def main(argv: Sequence[str] | None = None) -> None:
    """Train, write the model, print the figures and the parity check."""
    parser = argparse.ArgumentParser(description="rebuild the learned reason model")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the JSONL files")
    parser.add_argument("--output", type=Path, default=None, help="the .npz to write")
    parser.add_argument("--taxonomy", type=Path, default=None, help="taxonomy TOML to train for")
    parser.add_argument("--sample", type=int, default=None, help="first N comments (for tests)")
    parser.add_argument(
        "--with-agent-labels",
        action="store_true",
        help="also train on the cases agents reviewed (PostgreSQL at DATABASE_URL)",
    )
    parser.add_argument("--c", type=float, default=C, help="inverse regularisation strength")
    parser.add_argument(
        "--vector-scale", type=float, default=None, help="0: TF-IDF alone, no vectors"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help=f"the router's hot-path model: TF-IDF alone, written to {FAST_MODEL.name}",
    )
    args = parser.parse_args(argv)
    if args.vector_scale is None:
        args.vector_scale = 0.0 if args.fast else VECTOR_SCALE
    if args.output is None:
        args.output = FAST_MODEL if args.fast else DEFAULT_MODEL

    taxonomy = load_and_compile(args.taxonomy, model=None)
    codes = [code.id for code in taxonomy.codes]
    examples = [e for split in TRAINING_SPLITS for e in load_examples(args.data / f"{split}.jsonl")]
    examples = examples[: args.sample] if args.sample else examples
    if args.with_agent_labels:
        from_agents = agent_labels.training_examples(agent_labels.read_configured(), codes)
        print(f"agent-reviewed cases: {len(from_agents)} (full labels with text)")
        examples += from_agents
    predict = predictor(taxonomy)
    rules = np.array([[code in predict(e.text) for code in codes] for e in examples])
    texts = [example.text for example in examples]
    vectors = embed(texts) if args.vector_scale else None
    trained = train(examples, rules, codes, vectors, c=args.c, scale=args.vector_scale)
    trained.model.save(args.output)
    reread = ReasonModel.read(args.output)

    count = len(codes)
    t = trained.model.thresholds
    print(f"trained on {len(examples)} comments ({' + '.join(TRAINING_SPLITS)}), {count} codes")
    sentence = (
        f" + {DIMENSIONS} sentence-vector (x{args.vector_scale:g})" if vectors is not None else ""
    )
    print(
        f"features: {len(reread.chars.index)} character + {len(reread.words.index)} word"
        f"{sentence}; C = {args.c:g}"
    )
    print(f"wrote {args.output} ({args.output.stat().st_size / 1e6:.2f} MB)")
    print("thresholds (where the rules found nothing / next to rule codes; 1.1 = never):")
    for column, code in enumerate(codes):
        print(f"  {code:<22} {t[column]:.3f} / {t[count + column]:.3f}")
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
