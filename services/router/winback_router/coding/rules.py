"""Free-text rules: which taxonomy keywords and patterns a text contains, negations removed.

Keywords are matched word by word through the compiled first-word index (see
:mod:`winback_router.coding.compiler`), so their number barely matters; patterns are regexes,
tried only at word starts, and only those that one scan of the text for all patterns names as
possible (:mod:`winback_router.coding.pattern_scan`). Both see the same folded words.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise

from winback_router.coding.compiler import GAP, MAX_GAP, CompiledRules, TextRule, word_matches
from winback_router.coding.negation import is_denied
from winback_router.coding.prefilter import may_match
from winback_shared.folding import Word, split_words


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule that fired, and the span of the words it matched in the original text."""

    rule: TextRule
    start: int
    end: int


SENTENCE_MARK = "."
"""What stands between two sentences in ``FoldedText.padded``: no pattern can match it (patterns
match whole folded words), so no pattern reads across a sentence end."""


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A text as folded words, and the same words joined by spaces (padded at both ends), with a
    :data:`SENTENCE_MARK` word between sentences."""

    words: list[Word]
    padded: str
    offsets: list[int]
    joined: str
    """The words alone, for the few patterns allowed across sentences."""
    joined_offsets: list[int]

    @classmethod
    def of(cls, text: str) -> FoldedText:
        """Fold ``text`` once; every rule then reads the same words.

        Offsets are running sums of the words' lengths (a word and its space), each word of
        ``padded`` further on by the sentence marks before it; the words are walked in Python
        only at sentence ends (docs/performance.md, section 27)."""
        words = split_words(text)
        texts = [word.text for word in words]
        joined = " " + " ".join(texts) + " "
        joined_offsets = list(accumulate((len(piece) + 1 for piece in texts), initial=1))
        del joined_offsets[-1]
        sentences = [word.sentence for word in words]
        ends = [i for i in range(1, len(words)) if sentences[i] != sentences[i - 1]]
        if not ends:
            return cls(words, joined, joined_offsets, joined, joined_offsets)
        bounds = [0, *ends, len(words)]
        padded = f" {f' {SENTENCE_MARK} '.join(' '.join(texts[a:b]) for a, b in pairwise(bounds))} "
        shift = len(SENTENCE_MARK) + 1
        offsets = list(joined_offsets)
        for marks, (a, b) in enumerate(pairwise(bounds)):
            if marks:
                offsets[a:b] = [offset + marks * shift for offset in offsets[a:b]]
        return cls(words, padded, offsets, joined, joined_offsets)

    def word_at(self, char: int, *, joined: bool = False) -> int:
        """Index of the word covering position ``char`` of ``padded`` (or of ``joined``)."""
        return bisect_right(self.joined_offsets if joined else self.offsets, char) - 1


def find_hits(folded: FoldedText, rules: CompiledRules) -> list[Hit]:
    """The first undenied occurrence of every rule found in ``folded``, earliest first."""
    hits: dict[tuple[str, str, int], Hit] = {}
    words = folded.words
    texts = [word.text for word in words]
    keywords = rules.keywords
    for first, starting in enumerate(keywords.starting_each(texts)):
        if not starting:
            continue
        word = words[first]
        for rule in starting:
            key = (rule.code, rule.kind, rule.index)
            if key in hits:
                continue
            if rule.plain:
                last = _plain_last(rule.words, words, texts, first)
            else:
                last = _match_pieces(rule.words, words, first)
            if last is None or (rule.negatable and is_denied(words, first)):
                continue
            hits[key] = Hit(rule, word.start, words[last].end)
    for rule in patterns_to_run(folded, rules):
        assert rule.regex is not None
        across = rule.across_sentences
        text = folded.joined if across else folded.padded
        for match in rule.regex.finditer(text):
            first = folded.word_at(match.start() + 1, joined=across)
            last = folded.word_at(match.end() - 1, joined=across)
            if rule.negatable and is_denied(words, first):
                continue
            hits[(rule.code, rule.kind, rule.index)] = Hit(
                rule, words[first].start, words[last].end
            )
            break
    return sorted(hits.values(), key=lambda hit: hit.start)


def patterns_to_run(folded: FoldedText, rules: CompiledRules) -> list[TextRule]:
    """The patterns that may match ``folded``, in the rules' order: those the one scan names,
    and those it does not cover that hold one of their required strings. The others cannot
    match, so running only these finds the same hits."""
    patterns = rules.patterns
    found = None if rules.scan is None else rules.scan.may_match(folded.padded, folded.joined)
    if found is None or rules.scan is None:
        unscanned: Sequence[int] = range(len(patterns))
        found = set()
    else:
        unscanned = rules.scan.unscanned
    for position in unscanned:
        rule = patterns[position]
        if may_match(rule.needles, folded.joined if rule.across_sentences else folded.padded):
            found.add(position)  # else none of the words it needs is there: it cannot match
    return [patterns[position] for position in sorted(found)]


def _plain_last(
    pieces: tuple[str, ...], words: Sequence[Word], texts: list[str], first: int
) -> int | None:
    """:func:`_match_pieces` for a keyword of whole words whose first word is ``words[first]``
    (the keyword index found it so): the whole slice compared at once."""
    last = first + len(pieces) - 1
    if last == first:
        return first
    if last >= len(words) or words[last].sentence != words[first].sentence:
        return None  # sentence numbers only grow: the first and last words' agree or not
    return last if tuple(texts[first : last + 1]) == pieces else None


def _match_pieces(
    pieces: Sequence[str], words: Sequence[Word], at: int, sentence: int | None = None
) -> int | None:
    """Index of the last word matched if ``pieces`` match from ``words[at]`` within one
    sentence (``words[at]``'s, unless given), else None."""
    if sentence is None and at < len(words):
        sentence = words[at].sentence
    last: int | None = None
    for position, piece in enumerate(pieces):
        if piece == GAP:
            rest = pieces[position + 1 :]
            for skip in range(MAX_GAP + 1):
                end = _match_pieces(rest, words, at + skip, sentence)
                if end is not None:
                    return end
            return None
        if at >= len(words) or words[at].sentence != sentence:
            return None
        if not word_matches(piece, words[at].text):
            return None
        last = at
        at += 1
    return last
