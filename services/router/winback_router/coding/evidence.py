"""What an agent reads as evidence: the customer's own words around a hit, trimmed to a line."""

from __future__ import annotations

import re

MAX_QUOTE = 160
"""Longest evidence quote; longer sentences are cut around the hit."""
CONTEXT = 60
"""Characters kept either side of the hit when a sentence is cut."""

_SENTENCE_END = re.compile(r"[.!?\n]+")


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` holding ``text[start:end]``, cut to ``MAX_QUOTE`` around it."""
    begin = 0
    for mark in _SENTENCE_END.finditer(text, 0, start):
        begin = mark.end()
    stop_mark = _SENTENCE_END.search(text, end)
    stop = stop_mark.end() if stop_mark else len(text)
    sentence = text[begin:stop].strip()
    if len(sentence) <= MAX_QUOTE:
        return sentence
    left = max(begin, start - CONTEXT)
    right = min(stop, end + CONTEXT)
    left = _word_edge(text, left, backwards=True, limit=begin)
    right = _word_edge(text, right, backwards=False, limit=stop)
    prefix = "…" if left > begin else ""
    suffix = "…" if right < stop else ""
    return f"{prefix}{text[left:right].strip()}{suffix}"


def excerpt(text: str) -> str:
    """The start of ``text`` as one line, for evidence that quotes a whole comment."""
    flat = " ".join(text.split())
    if len(flat) <= MAX_QUOTE:
        return flat
    cut = flat.rfind(" ", 0, MAX_QUOTE)
    return flat[: cut if cut > 0 else MAX_QUOTE] + "…"


def _word_edge(text: str, index: int, *, backwards: bool, limit: int) -> int:
    """Move ``index`` to the nearest space so a quote never starts or ends mid-word."""
    step = -1 if backwards else 1
    while index != limit and 0 < index < len(text) and not text[index - 1].isspace():
        index += step
    return index
