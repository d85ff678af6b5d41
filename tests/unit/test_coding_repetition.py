"""The repetition cues the learned model reads beside TF-IDF and sentence vectors: what each one
sees, that a model trained with them runs exactly as scikit-learn scored it, and that a model
trained on other cues is refused."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from tests.coding_support import labelled
from winback_router.coding import learned, train
from winback_router.coding.learned import ReasonModel
from winback_router.coding.repetition import CUES, repetition_cues


def cues_of(text: str) -> set[str]:
    return {name for name, value in zip(CUES, repetition_cues(text), strict=True) if value}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Rang Monday. Rang Wednesday. Still nothing.",
            {"contact in two sentences", "two weekdays", "still or again"},
        ),
        (
            "Emailed in March. Phoned in April. Wrote again in May.",
            {"contact in two sentences", "contact in three sentences", "still or again"},
        ),
        ("This is the third time I've called.", {"an ordinal", "an ordinal and a contact"}),
        (
            "J'ai appelé cinq fois, toujours rien, encore une fois.",
            {"a count of times", "still or again", "still or again twice"},
        ),
        ("Great service, thank you.", set()),
        ("", set()),
    ],
)
def test_each_cue_reads_repetition_spread_over_the_comment(text: str, expected: set[str]) -> None:
    assert cues_of(text) == expected


def test_one_mention_of_a_call_is_not_repetition() -> None:
    assert cues_of("I called on Monday and the agent fixed it.") == set()


@functools.cache
def sample() -> tuple[list[str], train.Trained]:
    """A TF-IDF + cues model fitted on 150 comments (no cross-validation: only the fit is
    checked here)."""
    comments = labelled("independent-train-4.jsonl", 150)
    texts = comments.texts
    cues = train.cue_rows(texts)
    return texts, train.train(
        comments.examples, comments.rules, comments.codes, cues=cues, cue_scale=2.0, fit_only=True
    )


def test_a_model_with_cues_gives_scikit_learns_probabilities(tmp_path: Path) -> None:
    texts, trained = sample()
    assert trained.model.cue_weights is not None
    assert trained.model.cue_weights.shape == (len(CUES), len(trained.model.codes))
    trained.model.save(tmp_path / "m.npz")
    reread = ReasonModel.read(tmp_path / "m.npz")
    assert reread.cue_weights is not None
    assert train.parity(reread, texts, trained.reference) < 1e-3  # float16 TF-IDF weights
    without = ReasonModel.read(tmp_path / "m.npz")
    object.__setattr__(without, "cue_weights", None)
    moved = [t for t in texts if any(repetition_cues(t))]
    assert moved and any(
        not np.allclose(reread.text_logits(t), without.text_logits(t)) for t in moved
    )


def test_a_model_trained_on_other_cues_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, trained = sample()
    trained.model.save(tmp_path / "m.npz")
    monkeypatch.setattr(learned, "CUES", (*CUES, "a cue this router does not compute"))
    with pytest.raises(ValueError, match="repetition cues"):
        ReasonModel.read(tmp_path / "m.npz")


def test_cue_scale_zero_trains_a_model_without_cues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "plain.npz"
    arguments = ["--sample", "100", "--vector-scale", "0", "--cue-scale", "0"]
    train.main([*arguments, "--output", str(output)])
    assert "trained on 100 comments" in capsys.readouterr().out
    model = ReasonModel.read(output)
    assert model.cue_weights is None
    with np.load(output) as data:
        assert "cues" not in json.loads(data["meta"].tobytes())
