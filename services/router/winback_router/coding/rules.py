"""Free-text rules: which taxonomy keywords and patterns a text contains, negations removed.

Keywords are matched word by word through the compiled first-word index (see
:mod:`winback_router.coding.compiler`), so their number barely matters; patterns are regexes,
tried only at word starts. Both see the same folded words.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from winback_router.coding.compiler import GAP, MAX_GAP, CompiledRules, TextRule, word_matches
from winback_router.coding.negation import is_denied
from winback_shared.folding import Word, split_words


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that fired, and the span of the words it matched in the original text."""

    rule: TextRule
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A text as folded words, and the same words joined by spaces (padded at both ends)."""

    words: list[Word]
    padded: str
    offsets: list[int]

    @classmethod
    def of(cls, text: str) -> FoldedText:
        """Fold ``text`` once; every rule then reads the same words."""
        words = split_words(text)
        offsets: list[int] = []
        position = 1
        for word in words:
            offsets.append(position)
            position += len(word.text) + 1
        return cls(words, " " + " ".join(word.text for word in words) + " ", offsets)

    def word_at(self, char: int) -> int:
        """Index of the word covering position ``char`` of ``padded``."""
        return bisect_right(self.offsets, char) - 1


def find_hits(folded: FoldedText, rules: CompiledRules) -> list[Hit]:
    """The first undenied occurrence of every rule found in ``folded``, earliest first."""
    hits: dict[tuple[str, str, int], Hit] = {}
    words = folded.words
    keywords = rules.keywords
    for first, word in enumerate(words):
        for rule in keywords.starting(word.text):
            key = (rule.code, rule.kind, rule.index)
            if key in hits:
                continue
            last = _match_pieces(rule.words, words, first)
            if last is None or (rule.negatable and is_denied(words, first)):
                continue
            hits[key] = Hit(rule, word.start, words[last].end)
    for rule in rules.patterns:
        assert rule.regex is not None
        for match in rule.regex.finditer(folded.padded):
            first = folded.word_at(match.start() + 1)
            last = folded.word_at(match.end() - 1)
            if rule.negatable and is_denied(words, first):
                continue
            hits[(rule.code, rule.kind, rule.index)] = Hit(
                rule, words[first].start, words[last].end
            )
            break
    return sorted(hits.values(), key=lambda hit: hit.start)


def _match_pieces(pieces: Sequence[str], words: Sequence[Word], at: int) -> int | None:
    """Index of the last word matched if ``pieces`` match from ``words[at]``, else None."""
    last: int | None = None
    for position, piece in enumerate(pieces):
        if piece == GAP:
            rest = pieces[position + 1 :]
            for skip in range(MAX_GAP + 1):
                end = _match_pieces(rest, words, at + skip)
                if end is not None:
                    return end
            return None
        if at >= len(words) or not word_matches(piece, words[at].text):
            return None
        last = at
        at += 1
    return last
