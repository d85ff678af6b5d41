"""Per-code learning settings: class weights, the nested choice among candidates, and their use
by the training command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.coding_support import labelled
from winback_router.coding import selection, train
from winback_router.coding.learned import ReasonModel
from winback_router.coding.selection import DEFAULT, Setting, choose_settings, settings_for


def chooser(
    truth: np.ndarray, rule: np.ndarray, probability: np.ndarray, alone: np.ndarray
) -> tuple[float, float]:
    """The training's own threshold chooser, for one code."""
    chosen = train.choose_thresholds(truth[:, None], probability[:, None], rule[:, None])
    return float(chosen[0]), float(chosen[1])


def test_sqrt_weighting_weighs_positives_less_than_balanced() -> None:
    truth = np.array([True] * 10 + [False] * 90)
    assert DEFAULT.class_weight(truth) == "balanced"
    weights = Setting(30.0, "sqrt").class_weight(truth)
    assert weights == {0: 1.0, 1: pytest.approx(3.0)}  # sqrt(90 / 10); balanced would give 9


def test_the_candidate_that_separates_a_code_is_chosen_for_that_code_only() -> None:
    rng = np.random.default_rng(1)
    labels = rng.random((600, 2)) < 0.2
    rules = np.zeros_like(labels)
    noisy = np.where(
        labels, rng.uniform(0.3, 0.9, labels.shape), rng.uniform(0.1, 0.7, labels.shape)
    )
    sharper = noisy.copy()
    sharper[:, 1] = np.where(labels[:, 1], rng.uniform(0.6, 1.0, 600), rng.uniform(0.0, 0.4, 600))
    other = Setting(10.0)
    parts = train.folds(600)
    chosen = choose_settings(labels, rules, {DEFAULT: noisy, other: sharper}, parts, chooser)
    assert chosen == [DEFAULT, other]


def test_the_default_stays_unless_another_candidate_beats_it_by_the_margin() -> None:
    rng = np.random.default_rng(2)
    labels = rng.random((400, 1)) < 0.3
    probability = np.where(
        labels, rng.uniform(0.4, 1.0, labels.shape), rng.uniform(0.0, 0.6, labels.shape)
    )
    same = {DEFAULT: probability, Setting(100.0, "sqrt"): probability.copy()}
    parts = train.folds(400)
    rules = np.zeros_like(labels)
    assert choose_settings(labels, rules, same, parts, chooser) == [DEFAULT]
    assert choose_settings(labels, rules, same, parts, chooser, margin=-1.0) == [DEFAULT]


def test_settings_for_falls_back_to_the_default() -> None:
    chosen = {"rude": Setting(10.0, "sqrt")}
    assert settings_for(["long_wait", "rude"], chosen) == [DEFAULT, Setting(10.0, "sqrt")]


def test_per_code_settings_change_what_a_code_learns_and_the_cache_key(tmp_path: Path) -> None:
    comments = labelled("independent-dev.jsonl", 80)
    examples, rules, codes = comments.examples, comments.rules, comments.codes
    plain = train.train(examples, rules, codes, fit_only=True)
    settings = [DEFAULT] * len(codes)
    settings[0] = Setting(1.0, "sqrt")
    own = train.train(examples, rules, codes, fit_only=True, settings=settings)
    assert np.array_equal(plain.model.weights[:, 1:], own.model.weights[:, 1:])
    assert not np.allclose(plain.model.weights[:, 0], own.model.weights[:, 0])
    texts = comments.texts
    labels = train.label_matrix(examples, codes)
    assert train.cache_key(texts, labels, 30.0, 1.0) == train.cache_key(
        texts, labels, 30.0, 1.0, settings=None
    )
    assert train.cache_key(texts, labels, 30.0, 1.0) != train.cache_key(
        texts, labels, 30.0, 1.0, settings=settings
    )


def test_the_train_command_reads_the_chosen_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(selection, "CHOSEN", {"rude": Setting(10.0, "sqrt")})
    output = tmp_path / "m.npz"
    argv = ["--sample", "60", "--fast", "--fit-only", "--per-code", "--output", str(output)]
    train.main(argv)
    printed = capsys.readouterr().out
    assert "rude C=10 sqrt" in printed and "long_wait C=30 balanced" in printed
    assert ReasonModel.read(output).codes[0] in printed


def test_a_code_of_one_class_is_refused_not_fitted_as_a_constant() -> None:
    """``fit_classifiers``' docstring: liblinear raises for a code no comment (or every comment)
    holds, with the default setting and with per-code settings alike."""
    x = np.eye(6)
    labels = np.zeros((6, 2), dtype=bool)
    labels[:3, 0] = True  # the second code: no comment holds it
    with pytest.raises(ValueError):
        train.fit_classifiers(x, labels)
    with pytest.raises(ValueError):
        train.fit_classifiers(x, labels, settings=[DEFAULT, DEFAULT])
    labels[:, 1] = True  # every comment holds it
    with pytest.raises(ValueError):
        train.fit_classifiers(x, labels)
    labels[3:, 1] = False
    assert len(train.fit_classifiers(x, labels)) == 2
