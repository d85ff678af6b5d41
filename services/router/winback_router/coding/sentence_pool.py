"""Each sentence's vector, pooled over the comment, as features beside the whole comment's vector.

One sentence vector for a whole comment averages its story: "I rang on Monday. I rang again on
Friday. Still no answer." reads much like a single call that went unanswered, and the
repetition, told in two sentences that each report a contact, is what makes it
``repeat_contact``. Encoding every sentence on its own and keeping, per dimension, the largest
value over the sentences (max pooling) lets a strong signal in any one sentence reach the model
whatever the others say; the mean of the sentences' vectors weighs each sentence alike however
long. The model learns its weights for these blocks like any other feature
(:mod:`winback_router.coding.train`, ``--pooling``).

The sentences are the rules' (:func:`sentence_spans`, the split the evidence quotes), so a model
and its evidence read the same pieces. A comment of one sentence pools to that sentence's vector.
Cost: one encoder call per sentence, batched with the rest of the comments' sentences, which
the full model's refiner can afford (a few milliseconds a comment); the router's fast TF-IDF
model never reads it.

Measured on December 1 and not used by the shipped models (``train.POOLING`` is empty): mean and
max pooling at ``--pool-scale 1`` gave nested cross-validated macro-F1 0.850 against 0.861
without them on the 4,082 training comments, and lost 0.003 on both held-out files
(``docs/coding-model-study.md``); a smaller scale or max alone is the next thing to try.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from winback_router.coding.embeddings import DIMENSIONS, Vectors

if TYPE_CHECKING:
    from winback_router.coding.rules import FoldedText

POOLINGS = ("mean", "max")
"""The poolings a model may read, each a block of :data:`DIMENSIONS` features."""

Vector = npt.NDArray[np.float32]


def sentence_spans(folded: FoldedText) -> list[tuple[int, int]]:
    """Where each sentence's words start and end in the text (the rules' sentence split)."""
    spans: dict[int, tuple[int, int]] = {}
    for word in folded.words:
        start = spans.get(word.sentence, (word.start, word.end))[0]
        spans[word.sentence] = (start, word.end)
    return list(spans.values())


def sentence_texts(text: str) -> list[str]:
    """``text``'s sentences as the coder splits a comment (NFC, the rules' split); none for a
    text without words."""
    # Imported here: the rules' module imports the compiler, which imports the model's module,
    # which imports this one.
    from winback_router.coding.rules import FoldedText

    comment = unicodedata.normalize("NFC", text)
    return [comment[start:end] for start, end in sentence_spans(FoldedText.of(comment))]


def pool(poolings: Sequence[str], sentence_vectors: Vectors, whole: Vector) -> Vector:
    """The pooled blocks side by side, in ``poolings`` order: "mean" (the sentences' mean
    vector) and "max" (each dimension's largest value over the sentences, scaled to unit
    length). A text without sentences pools to its ``whole`` vector."""
    rows = sentence_vectors if len(sentence_vectors) else whole[None, :]
    blocks: list[Vector] = []
    for pooling in poolings:
        if pooling == "mean":
            blocks.append(rows.mean(axis=0))
        elif pooling == "max":
            peak = rows.max(axis=0)
            blocks.append(peak / (float(np.linalg.norm(peak)) or 1.0))
        else:
            raise ValueError(f"unknown pooling {pooling!r}: one of {', '.join(POOLINGS)}")
    if not blocks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(blocks).astype(np.float32)


def pooled_rows(
    poolings: Sequence[str], wholes: Vectors, sentence_vectors: Sequence[Vectors]
) -> Vectors:
    """:func:`pool` for each text: ``wholes`` one row per text, ``sentence_vectors`` one array
    of rows per text."""
    width = DIMENSIONS * len(poolings)
    if not len(wholes):
        return np.zeros((0, width), dtype=np.float32)
    return np.stack(
        [pool(poolings, rows, whole) for rows, whole in zip(sentence_vectors, wholes, strict=True)]
    )
