"""Sentence vectors pooled beside the whole comment's vector: what each pooling computes, that
the sentences are the coder's, that a model trained with them runs exactly as scikit-learn scored
it (one by one and in a batch), and that a model reading an unknown pooling is refused."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np
import pytest

from tests.coding_support import comment_response, labelled
from winback_router.coding import code_response, code_responses, embeddings, train
from winback_router.coding.compiler import attach_model, load_and_compile
from winback_router.coding.embeddings import DIMENSIONS, embed
from winback_router.coding.learned import ReasonModel
from winback_router.coding.sentence_pool import pool, pooled_rows, sentence_texts

COMMENTS = [
    "I rang on Monday. I rang again on Friday. Still no answer.",
    "Sat on hold for ages, then the line went dead!",
    "J'ai appelé trois fois. Personne ne m'a rappelé.",
    "Lovely staff. Paid way too much for what it is honestly.",
    "n/a",
    "",
]


def unit(*values: float) -> np.ndarray:
    row = np.array(values, dtype=np.float32)
    return row / np.linalg.norm(row)


def test_max_takes_each_dimensions_peak_then_unit_length_and_mean_averages() -> None:
    sentences = np.stack([unit(1, 0, 0), unit(0, 1, 0)])
    whole = unit(1, 1, 1)
    assert np.allclose(pool(["max"], sentences, whole), unit(1, 1, 0))
    assert np.allclose(pool(["mean"], sentences, whole), [0.5, 0.5, 0])
    both = pool(["mean", "max"], sentences, whole)
    assert both.shape == (6,) and np.allclose(both[3:], unit(1, 1, 0))


def test_a_text_without_sentences_pools_to_its_own_vector() -> None:
    whole = unit(0, 3, 4)
    nothing = np.zeros((0, 3), dtype=np.float32)
    assert np.allclose(pool(["mean", "max"], nothing, whole), np.concatenate([whole, whole]))


def test_an_unknown_pooling_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown pooling"):
        pool(["median"], np.stack([unit(1, 0)]), unit(1, 0))


def test_pooled_rows_are_one_row_per_text() -> None:
    wholes = np.stack([unit(1, 0), unit(0, 1)])
    rows = pooled_rows(["max"], wholes, [np.stack([unit(1, 1)]), np.zeros((0, 2), np.float32)])
    assert np.allclose(rows, [unit(1, 1), unit(0, 1)])
    assert pooled_rows(["max"], wholes[:0], []).shape == (0, DIMENSIONS)


def test_sentences_are_split_as_the_coder_splits_a_comment() -> None:
    assert sentence_texts(COMMENTS[0]) == [
        "I rang on Monday",
        "I rang again on Friday",
        "Still no answer",
    ]
    assert sentence_texts("n/a") == ["n/a"]
    assert sentence_texts("!!!") == sentence_texts("") == []


@functools.cache
def sample() -> tuple[list[str], train.Trained]:
    """A TF-IDF + vector + pooled mean/max model fitted on 80 comments (the fit only)."""
    comments = labelled("independent-train-6.jsonl", 80)
    texts = comments.texts
    vectors = embed(texts)
    pooled = train.pooled_vectors(("mean", "max"), texts, vectors)
    trained = train.train(
        comments.examples, comments.rules, comments.codes, vectors, pooled=pooled,
        pooling=("mean", "max"), pool_scale=2.0, fit_only=True,
    )  # fmt: skip
    return texts, trained


def test_a_pooled_model_gives_scikit_learns_probabilities(tmp_path: Path) -> None:
    texts, trained = sample()
    model = trained.model
    assert model.reads_sentences and model.pooling == ("mean", "max")
    assert model.pooled_weights is not None
    assert model.pooled_weights.shape == (2 * DIMENSIONS, len(model.codes))
    model.save(tmp_path / "m.npz")
    reread = ReasonModel.read(tmp_path / "m.npz")
    assert reread.pooling == ("mean", "max") and reread.reads_sentences
    assert train.parity(reread, texts, trained.reference) < 1e-3  # float16 weights
    without = dataclasses.replace(reread, pooling=(), pooled_weights=None)
    assert not np.allclose(reread.probabilities(texts[0]), without.probabilities(texts[0]))


def test_given_sentence_vectors_give_what_the_model_embeds_itself() -> None:
    _, trained = sample()
    model, text = trained.model, COMMENTS[0]
    vector = embed([text])[0]
    given = model.probabilities(text, vector, sentence_vectors=embed(sentence_texts(text)))
    assert np.allclose(model.probabilities(text), given, atol=1e-5)


def test_a_batch_is_coded_as_one_by_one_and_each_sentence_embedded_once(tmp_path: Path) -> None:
    _, trained = sample()
    taxonomy = load_and_compile(model=None)
    # Make the model speak (every threshold low), so coding reaches the sentence evidence too.
    chatty = dataclasses.replace(
        trained.model, thresholds=np.full(2 * len(trained.model.codes), 0.3, np.float32)
    )
    attach_model(taxonomy, chatty, tmp_path / "chatty.npz")
    responses = [comment_response(text, i) for i, text in enumerate(COMMENTS)]
    one_by_one = [code_response(r, taxonomy) for r in responses]
    encoder = embeddings.sentence_encoder()
    before = encoder.texts_embedded
    batched = code_responses(responses, taxonomy)
    embedded = encoder.texts_embedded - before
    assert batched == one_by_one
    assert any(reason.method == "model" for reasons in batched for reason in reasons)
    with_words = [text for text in COMMENTS if sentence_texts(text)]
    # each comment and each of its sentences at most once: the evidence reuses the sentences
    assert 0 < embedded <= len(with_words) + sum(len(sentence_texts(t)) for t in with_words)


def test_a_model_reading_an_unknown_pooling_is_refused(tmp_path: Path) -> None:
    _, trained = sample()
    trained.model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(arrays["meta"].tobytes())
    meta["pooling"] = ["mean", "median"]
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez_compressed(tmp_path / "other.npz", **arrays)
    with pytest.raises(ValueError, match="median"):
        ReasonModel.read(tmp_path / "other.npz")


def test_the_train_command_writes_a_pooled_model_only_when_asked(tmp_path: Path) -> None:
    arguments = ["--sample", "60", "--fit-only"]
    train.main([*arguments, "--pooling", "max", "--output", str(tmp_path / "pooled.npz")])
    assert ReasonModel.read(tmp_path / "pooled.npz").pooling == ("max",)
    train.main([*arguments, "--output", str(tmp_path / "plain.npz")])
    assert not ReasonModel.read(tmp_path / "plain.npz").reads_sentences
