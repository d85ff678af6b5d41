"""BERT's uncased WordPiece tokenizer, in plain Python, for the optional local model.

Written out rather than imported so the model needs nothing but numpy and its weights: the
``tokenizers`` and ``transformers`` packages would pull in far more than they would save here.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

MAX_WORD = 100
"""Longer words become ``[UNK]``, as in BERT."""


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    ascii_symbol = 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126
    return ascii_symbol or unicodedata.category(char).startswith("P")


def basic_tokens(text: str) -> list[str]:
    """Lower-case, strip accents and split on spaces and punctuation, like BERT's basic step."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    tokens: list[str] = []
    for chunk in stripped.split():
        current = ""
        for char in chunk:
            if _is_punctuation(char):
                if current:
                    tokens.append(current)
                    current = ""
                tokens.append(char)
            else:
                current += char
        if current:
            tokens.append(current)
    return tokens


class WordPiece:
    """Greedy longest-match-first subword ids over a BERT ``vocab.txt``."""

    def __init__(self, vocab: list[str]) -> None:
        self.ids = {token: index for index, token in enumerate(vocab)}
        self.cls, self.sep, self.unk = self.ids["[CLS]"], self.ids["[SEP]"], self.ids["[UNK]"]

    @classmethod
    def from_file(cls, path: Path) -> WordPiece:
        """Read one token per line."""
        return cls(path.read_text(encoding="utf-8").splitlines())

    def encode(self, text: str, max_length: int = 128) -> list[int]:
        """``[CLS]`` + subword ids + ``[SEP]``, cut to ``max_length``."""
        ids = [self.cls]
        for word in basic_tokens(text):
            ids.extend(self._pieces(word))
        return [*ids[: max_length - 1], self.sep]

    def _pieces(self, word: str) -> list[int]:
        if len(word) > MAX_WORD:
            return [self.unk]
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                candidate = word[start:end] if start == 0 else f"##{word[start:end]}"
                if candidate in self.ids:
                    pieces.append(self.ids[candidate])
                    break
                end -= 1
            else:
                return [self.unk]
            start = end
        return pieces
