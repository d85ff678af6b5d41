"""The learned model removing a rule's code it is confident is wrong, the floors behind it, and
the per-rule precision report that found the imprecise rules."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tests.coding_support import comment_response
from winback_router.coding import code_response, code_responses_in_full, rule_precision, train
from winback_router.coding.compiler import attach_model, load_and_compile
from winback_router.coding.evaluate import Example
from winback_router.coding.learned import FAST_MODEL, ReasonModel, load_model
from winback_shared.taxonomy import UNCLASSIFIED, Taxonomy

WAIT = "Waited 45 minutes on hold just to change my address."
"""The rules find long_wait here (long_wait#1)."""


def with_floor(code: str, floor: float) -> tuple[ReasonModel, Taxonomy]:
    """The fast model with one code's removal floor set, attached to a fresh taxonomy."""
    model = load_model(FAST_MODEL)
    keep = np.zeros(len(model.codes), np.float32)
    keep[model.codes.index(code)] = floor
    floored = dataclasses.replace(model, keep=keep)
    taxonomy = load_and_compile(model=None)
    attach_model(taxonomy, floored, Path("floored.npz"))
    return floored, taxonomy


def test_a_rule_code_under_its_floor_is_removed_and_kept_aside_not_as_evidence() -> None:
    model, taxonomy = with_floor("long_wait", 1.0)  # every long_wait of the rules is removed
    [coding] = code_responses_in_full([comment_response(WAIT)], taxonomy)
    assert "long_wait" not in {reason.code for reason in coding.reasons}
    [removed] = coding.overruled
    assert removed.reason.code == "long_wait" and removed.reason.method == "rule"
    assert removed.reason.rule is not None and removed.reason.rule.startswith("pattern:")
    column = model.codes.index("long_wait")
    assert removed.probability == pytest.approx(float(model.probabilities(WAIT)[column]))
    codes = {reason.code for reason in coding.reasons}
    assert (UNCLASSIFIED in codes) == (not codes - {UNCLASSIFIED})  # no code left: a blind spot


def test_a_floor_of_zero_or_no_floors_removes_nothing() -> None:
    for floor in (0.0, None):
        model = load_model(FAST_MODEL)
        keep = None if floor is None else np.zeros(len(model.codes), np.float32)
        taxonomy = load_and_compile(model=None)
        attach_model(taxonomy, dataclasses.replace(model, keep=keep), Path("m.npz"))
        [coding] = code_responses_in_full([comment_response(WAIT)], taxonomy)
        assert "long_wait" in {reason.code for reason in coding.reasons}
        assert coding.overruled == []


def test_a_chosen_answer_is_never_overruled() -> None:
    _, taxonomy = with_floor("long_wait", 1.0)
    reasons = code_response(comment_response(WAIT, reasons=["Long wait time"]), taxonomy)
    [wait] = [reason for reason in reasons if reason.code == "long_wait"]
    assert wait.method == "chosen_answer"


def test_the_floors_survive_the_file_and_an_old_file_has_none(tmp_path: Path) -> None:
    model = load_model(FAST_MODEL)
    keep = np.linspace(0, 0.5, len(model.codes)).astype(np.float32)
    dataclasses.replace(model, keep=keep).save(tmp_path / "k.npz")
    reread = ReasonModel.read(tmp_path / "k.npz").keep
    assert reread is not None and np.array_equal(reread, keep)
    dataclasses.replace(model, keep=None).save(tmp_path / "old.npz")
    assert ReasonModel.read(tmp_path / "old.npz").keep is None


def test_the_vector_matters_where_it_could_remove_a_rule_code() -> None:
    model = load_model()
    assert model.vector_weights is not None
    count = len(model.codes)
    never = np.full(2 * count, 1.1, np.float32)
    silent = dataclasses.replace(model, thresholds=never, keep=None)
    logits = np.zeros(count, np.float32)  # probability 0.5 everywhere, before the vector
    assert not silent.vector_matters(logits, frozenset({"long_wait"}))
    keep = np.zeros(count, np.float32)
    keep[model.codes.index("long_wait")] = 0.3
    floored = dataclasses.replace(silent, keep=keep)
    assert floored.vector_matters(logits, frozenset({"long_wait"}))
    assert not floored.vector_matters(logits, frozenset({"rude"}))  # not a rule code here
    assert not floored.vector_matters(np.full(count, 100.0, np.float32), frozenset({"long_wait"}))


def test_a_floor_is_chosen_only_where_removing_gains() -> None:
    # one code; the rule fires on 8 comments, 4 wrong, and the model gives the wrong ones 0.1
    labels = np.array([[True]] * 4 + [[False]] * 4 + [[False]] * 4)
    rules = np.array([[True]] * 8 + [[False]] * 4)
    probabilities = np.array([[0.9]] * 4 + [[0.1]] * 4 + [[0.05]] * 4)
    thresholds = np.array([1.1, 1.1])
    [floor] = train.choose_keep(labels, probabilities, rules, thresholds)
    assert 0.1 < floor <= 0.5
    kept = train.apply_keep(rules, probabilities, np.array([floor]))
    assert (kept == labels).all()
    right = np.array([[True]] * 8 + [[False]] * 4)  # the rule is never wrong: no floor
    assert train.choose_keep(right, probabilities, rules, thresholds)[0] == 0.0


def test_nested_figures_never_score_a_fold_with_thresholds_chosen_on_it() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random((200, 3)) < 0.3
    rules = labels & (rng.random((200, 3)) < 0.7) | (rng.random((200, 3)) < 0.05)
    probabilities = np.clip(labels * 0.6 + rng.random((200, 3)) * 0.4, 0, 1)
    figures = train.nested(labels, probabilities, rules, train.folds(200), ["a", "b", "c"])
    assert figures.rules == pytest.approx(train.macro_f1(labels, rules))
    assert figures.added >= figures.rules - 0.05
    assert [row[0] for row in figures.per_code] == ["a", "b", "c"]


def test_cv_only_prints_the_figures_and_reuses_the_out_of_fold_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "oof.npz"
    argv = ["--sample", "120", "--vector-scale", "0", "--cv-only", "--out-of-fold", str(cache)]
    argv += ["--output", str(tmp_path / "never.npz")]
    train.main(argv)
    first = capsys.readouterr().out
    assert "+ removals" in first and "read from" not in first and cache.exists()
    train.main(argv)
    second = capsys.readouterr().out
    assert "read from" in second
    assert first.splitlines()[-5:] == second.splitlines()[-5:]
    assert not (tmp_path / "never.npz").exists()
    fitted, retuned = tmp_path / "fitted.npz", tmp_path / "retuned.npz"
    train.main([*argv[:4], "--fit-only", "--output", str(fitted)])
    silent = ReasonModel.read(fitted)
    assert (silent.thresholds > 1).all() and silent.keep is None  # adds nothing yet
    retune = ["--retune", str(fitted), "--out-of-fold", str(cache), "--output", str(retuned)]
    train.main([*argv[:4], *retune])
    assert "chosen again" in capsys.readouterr().out
    model = ReasonModel.read(retuned)
    assert np.array_equal(model.weights, silent.weights)  # the classifiers stand
    assert model.keep is not None and model.thresholds.shape == silent.thresholds.shape


def test_rule_precision_counts_each_rule_and_its_wrong_comments() -> None:
    taxonomy = load_and_compile(model=None)
    examples = [
        Example("1", WAIT, frozenset({"long_wait"})),
        Example("2", "Waited 20 minutes, which is fine for a Monday.", frozenset()),
        Example("3", "The agent was rude.", frozenset({"rude"})),
    ]
    counts = rule_precision.count(taxonomy, examples)
    wait = counts["long_wait"]
    assert (wait.fired, wait.wrong) == (2, 1)
    [rule] = [r for r in wait.rules.values() if r.wrong]
    assert [e.id for e in rule.wrong] == ["2"] and rule.precision == 0.5
    assert (counts["rude"].fired, counts["rude"].wrong) == (1, 0)
    text = rule_precision.format_counts(counts, show=1)
    assert text.index("long_wait:") < text.index("rude:")  # worst first
    assert "      2 []: Waited 20 minutes" in text


def test_rule_precision_refuses_the_blind_set(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        rule_precision.main(["--split", "blind"])
    assert "invalid choice" in capsys.readouterr().err
