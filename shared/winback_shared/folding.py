"""Text folding: the one way taxonomy labels, rule keywords and comments are turned into words.

Text is compared as *folded words*: Unicode letters and digits, lower-cased, accents removed,
English contractions expanded ("didn't" -> "did not"). The taxonomy's label index
(:func:`winback_shared.taxonomy.normalise_label`) and the router's free-text rules
(``winback_router.coding``) both read text through :func:`split_words`, so a chosen answer, a
keyword in the TOML and a typed comment can never disagree on what a word is.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import accumulate, repeat
from typing import NamedTuple

_WORD_SPLIT = re.compile(r"([^\W_]+)")
_ASCII_WORD_SPLIT = re.compile(r"([a-z0-9]+)")
"""``_WORD_SPLIT`` for a lower-cased ASCII text (there ``[^\\W_]`` is exactly ``[a-z0-9]``), a
little faster."""
_CLAUSE_BREAK = re.compile(r"[.!?;:,()\[\]\n\r\u2013\u2014]|\s-\s")
_SENTENCE_BREAK = re.compile(r"[.!?\u2026]+[\"'\u2019\u201d)\]]*\s|[\n\r]")
"""A sentence ends at a full stop, question or exclamation mark (or an ellipsis) followed by
space, or at a line break: "1.5" and "e-mail" do not end one, "Nobody called. Again." does."""
_AUXILIARIES = frozenset(
    "do does did is was were are has have had could would should must need might".split()
)
_IRREGULAR_NEGATIONS = {
    "cant": "can",
    "cannot": "can",
    "wont": "will",
    "aint": "is",
    "shant": "shall",
}
_NEGATED = frozenset(
    {"t", *_IRREGULAR_NEGATIONS, *(auxiliary + "nt" for auxiliary in _AUXILIARIES)}
)
"""Folded words that :func:`split_words` may expand or join ("didnt", "cant", and the "t" of
"didn't"): a text holding none of them takes the fast path."""
_NEGATION_ENDINGS = tuple({word[-1] for word in _IRREGULAR_NEGATIONS} | {"t"})
"""Last letters of every word :func:`_expand_negation` expands ("...nt" and the irregular
ones): other words skip the call."""


class Word(NamedTuple):
    """One folded word and where it came from in the original text.

    ``clause`` numbers the stretches between punctuation marks, so negation never reaches
    across a comma or a full stop ("No, the wait was long" is not a denial of the wait).
    ``sentence`` numbers sentences, so a keyword or pattern never reads one sentence's end and
    the next one's start as a phrase ("Nobody called. Again." says nothing of calling again).

    A named tuple rather than a frozen dataclass: a comment has a hundred words or more and
    every comment is split, and a tuple is built in a tenth of a frozen dataclass's time
    (docs/performance.md, section 9).
    """

    text: str
    start: int
    end: int
    clause: int
    sentence: int = 0


_UNDECOMPOSED = str.maketrans({"\u0142": "l"})
"""Letters Unicode does not write as a base letter plus an accent, folded as if it did: Polish
"ł" ("nie wiedział" -> "nie wiedzial"), so a keyword typed either way matches either spelling."""


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents ('Délai' -> 'delai', 'wiedział' -> 'wiedzial')."""
    if text.isascii():
        return text.lower()  # the same for ASCII: nothing to decompose, casefold is lower
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold().translate(_UNDECOMPOSED)


def _expand_negation(word: str) -> tuple[str, str] | None:
    """'didnt' -> ('did', 'not'); None for words that are not a negated auxiliary."""
    if word in _IRREGULAR_NEGATIONS:
        return _IRREGULAR_NEGATIONS[word], "not"
    if word.endswith("nt") and word[:-2] in _AUXILIARIES:
        return word[:-2], "not"
    return None


def split_words(text: str) -> list[Word]:
    """The folded words of ``text`` (taken in NFC form) with their offsets in it.

    One regex split gives the words and the gaps between them; offsets are their running
    lengths, and clause and sentence numbers change only at a gap other than one space. A text
    holding a negated auxiliary ("didnt", "can't") is walked word by word instead
    (:func:`_split_words_one_by_one`), the definition the fast path must equal (a test holds
    them equal on every labelled comment and on generated text; docs/performance.md, section 27).
    """
    text = unicodedata.normalize("NFC", text)
    if text.isascii():
        parts = _ASCII_WORD_SPLIT.split(text.lower())  # lower() keeps an ASCII text's offsets
        folded: list[str] = parts[1::2]
    else:
        parts = _WORD_SPLIT.split(text)
        folded = [raw.lower() if raw.isascii() else fold(raw) for raw in parts[1::2]]
    if not folded:
        return []
    if not _NEGATED.isdisjoint(folded):
        return _split_words_one_by_one(parts, folded)
    gaps = parts[2:-1:2]  # the gap before each word after the first
    bounds = list(accumulate(map(len, parts)))
    clauses = [0] * len(folded)
    sentences = [0] * len(folded)
    clause = sentence = 0
    for index in [i for i, gap in enumerate(gaps, 1) if gap != " "]:
        gap = parts[2 * index]
        if _CLAUSE_BREAK.search(gap):
            clause += 1
        if _SENTENCE_BREAK.search(gap):
            sentence += 1
        clauses[index] = clause
        sentences[index] = sentence
    if clause or sentence:
        clauses = list(accumulate(clauses, max))  # numbers only grow: carry each forward
        sentences = list(accumulate(sentences, max))
    rows = zip(folded, bounds[0:-1:2], bounds[1::2], clauses, sentences, strict=True)
    return list(map(tuple.__new__, repeat(Word), rows))


def _split_words_one_by_one(parts: list[str], folded: list[str]) -> list[Word]:
    """:func:`split_words` from its regex split (``parts``: gap, word, gap, ..., the text after
    the last word; ``folded``: each word folded), one word at a time, negations expanded."""
    words: list[Word] = []
    clause = 0
    sentence = 0
    end = 0
    for gap, raw, word in zip(parts[0:-1:2], parts[1::2], folded, strict=True):
        start = end + len(gap)
        end = start + len(raw)
        if words and gap != " ":  # one space, the usual gap, breaks neither
            if _CLAUSE_BREAK.search(gap):
                clause += 1
            if _SENTENCE_BREAK.search(gap):
                sentence += 1
        if word == "t" and words and gap in ("'", "\u2019"):
            joined = words[-1].text + "t"  # "didn" + "t": the two halves of "didn't"
            expanded = _expand_negation(joined)
            if expanded is not None or joined.endswith("nt"):
                head = expanded[0] if expanded else joined[:-2]
                first = words.pop()
                words.append(Word(head, first.start, end, first.clause, first.sentence))
                words.append(Word("not", first.start, end, first.clause, first.sentence))
                continue
        expanded = _expand_negation(word) if word.endswith(_NEGATION_ENDINGS) else None
        if expanded is not None:
            words.append(Word(expanded[0], start, end, clause, sentence))
            words.append(Word(expanded[1], start, end, clause, sentence))
        else:
            words.append(Word(word, start, end, clause, sentence))
    return words
