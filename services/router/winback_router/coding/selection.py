"""How each code's classifier learns: its regularisation and class weights, chosen out-of-fold.

Every code's logistic regression used to learn with the same settings (``C`` = 30, balanced
class weights), chosen for the model as a whole on the held-out files. The codes differ: some
have 250 training comments in plain words, others (repeat_contact) are told in as many ways as
there are writers, and a code may do better with a stronger or weaker penalty, or with its rare
positives weighed less than "balanced" does. :class:`Setting` is one such choice;
:func:`choose_settings` picks one per code among candidates from their out-of-fold
probabilities, scoring each candidate by *nested* cross-validation (each part coded with
thresholds chosen on the other parts, so a setting whose probabilities only look good to
thresholds chosen on them is not preferred), and keeping the default unless another candidate
beats it by a margin. Used by :mod:`winback_router.coding.train` (``--per-code``), which fits
each code with :data:`CHOSEN`.

Measured and lost (``docs/coding-model-study.md``, "Other heads over the same features",
December 1 afternoon, all five folds): C = 100 and square-root class weights each score 0.002
under the shipped C = 30 balanced by nested cross-validation (0.859 against 0.861), and choosing
per code among the three settings loses too (0.860); C = 10 had lost on the morning's fold. So
:data:`CHOSEN` stays empty and ``train --per-code`` trains every code as the shipped model does;
the module is kept to measure other candidates the same way.

The model file does not change: a setting only changes the weights a code learns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

Weighting = Literal["balanced", "sqrt"]
"""``balanced``: scikit-learn's (each class weighed by the inverse of its share); ``sqrt``:
negatives 1, positives the square root of the negatives-to-positives ratio, so a rare code's
positives weigh more than the negatives but less than "balanced" makes them."""

Matrix = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Index = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Setting:
    """How one code's classifier learns."""

    c: float
    """Inverse regularisation strength (liblinear's ``C``)."""
    weighting: Weighting = "balanced"

    def class_weight(self, truth: npt.NDArray[np.bool_]) -> str | dict[int, float]:
        """scikit-learn's ``class_weight`` for this code's labels."""
        if self.weighting == "balanced":
            return "balanced"
        positives = max(int(truth.sum()), 1)
        negatives = max(len(truth) - positives, 1)
        return {0: 1.0, 1: float(np.sqrt(negatives / positives))}

    def fit(self, x: Any, truth: npt.NDArray[np.bool_]) -> Any:
        """This code's classifier fitted on ``x``."""
        classifier = LogisticRegression(
            C=self.c, class_weight=self.class_weight(truth), solver="liblinear", random_state=0
        )
        return classifier.fit(x, truth)

    @property
    def name(self) -> str:
        """A short label, as printed and cached: ``C=30 balanced``."""
        return f"C={self.c:g} {self.weighting}"


DEFAULT = Setting(30.0)
"""What every code used before per-code settings (and still the fallback)."""

CANDIDATES = (
    DEFAULT,
    Setting(30.0, "sqrt"),
    Setting(10.0),
    Setting(10.0, "sqrt"),
    Setting(100.0),
    Setting(100.0, "sqrt"),
)
"""The settings :func:`choose_settings` was run over (December 1)."""

MARGIN = 0.005
"""How much better (nested F1) a candidate must score than :data:`DEFAULT` to replace it: less
than one comment's worth on a code with 250 examples is noise, and the default is the setting
every code was measured with before."""

CHOSEN: Mapping[str, Setting] = {}
"""Per code, the setting :func:`choose_settings` chose (codes not listed keep :data:`DEFAULT`).
Empty: none of the candidates beat :data:`DEFAULT` on the five folds of December 1 (see the
module's docstring), so ``train --per-code`` trains every code as before."""


def settings_for(
    codes: Sequence[str], chosen: Mapping[str, Setting] | None = None
) -> list[Setting]:
    """Each code's setting (``chosen``, by default :data:`CHOSEN`), :data:`DEFAULT` where it
    has none."""
    table = CHOSEN if chosen is None else chosen
    return [table.get(code, DEFAULT) for code in codes]


def fit_per_code(x: Any, labels: Matrix, settings: Sequence[Setting]) -> list[Any]:
    """One classifier per code (column of ``labels``), each with its own setting."""
    return [setting.fit(x, labels[:, j]) for j, setting in enumerate(settings)]


GridChooser = Any
"""``(truth, rule, probability, alone) -> (alone threshold, extra threshold)`` for one code."""


def nested_guesses(
    truth: npt.NDArray[np.bool_],
    rule: npt.NDArray[np.bool_],
    probability: Floats,
    alone: npt.NDArray[np.bool_],
    parts: Sequence[Index],
    choose: GridChooser,
) -> npt.NDArray[np.bool_]:
    """One code's codes for the rows of ``parts``, each part coded with thresholds ``choose``
    picked on the other parts only (rows outside ``parts`` stay False)."""
    guess = np.zeros(len(truth), dtype=bool)
    every = np.concatenate(list(parts))
    for held in parts:
        kept = np.setdiff1d(every, held)
        t_alone, t_extra = choose(truth[kept], rule[kept], probability[kept], alone[kept])
        guess[held] = rule[held] | np.where(
            alone[held], probability[held] >= t_alone, probability[held] >= t_extra
        )
    return guess


def f1(truth: npt.NDArray[np.bool_], guess: npt.NDArray[np.bool_]) -> float:
    """F1 of one code (0 when there is nothing to find and nothing found)."""
    tp = int((truth & guess).sum())
    wrong = int((truth ^ guess).sum())
    return 2 * tp / (2 * tp + wrong) if tp + wrong else 0.0


def choose_settings(
    labels: Matrix,
    rules: Matrix,
    candidates: Mapping[Setting, Floats],
    parts: Sequence[Index],
    choose: GridChooser,
    *,
    margin: float = MARGIN,
) -> list[Setting]:
    """Per code, the candidate whose out-of-fold probabilities (``candidates``, all from the
    same folds) score best by nested cross-validation over ``parts``, :data:`DEFAULT` unless
    another beats it by ``margin``."""
    alone: npt.NDArray[np.bool_] = np.logical_not(rules.any(axis=1))
    rows = np.concatenate(list(parts))
    chosen: list[Setting] = []
    for j in range(labels.shape[1]):
        truth, rule = labels[:, j], rules[:, j]
        scores = {
            setting: f1(
                truth[rows],
                nested_guesses(truth, rule, probability[:, j], alone, parts, choose)[rows],
            )
            for setting, probability in candidates.items()
        }
        best = max(scores, key=scores.__getitem__)
        floor = scores.get(DEFAULT, -1.0) + margin
        chosen.append(best if best == DEFAULT or scores[best] >= floor else DEFAULT)
    return chosen
