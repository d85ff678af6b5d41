"""A pattern's required words: literal strings one of which every match of it must contain.

A comment is read by a hundred patterns or more, and most of them cannot match it: "attitude"
is not in the comment, so ``(?<!good )attitude`` cannot match, yet the regex engine still tries
it at every word start. Checking first that one of a pattern's required strings occurs in the
text (a substring search, far cheaper than a regex) and running the regex only then gives
exactly the same matches: a text with none of them has no match to find. The strings are read
from the regex itself with the standard library's own parser, so any taxonomy's patterns get
them, and a pattern the analysis cannot bound (an optional first word, a character class
only) simply always runs.

The analysis is conservative by construction: a literal run is a string the match contains
as is; an alternation requires one of its branches' strings (only when every branch has
some); a repeat requires its body's only when it repeats at least once; a zero-width assertion
(lookbehind, lookahead, anchor) neither adds nor breaks anything; everything else (classes,
``.``, back-references, case-insensitive groups) requires nothing.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any

_parser: Any = importlib.import_module("re._parser")
"""The standard library's regex parser (``sre_parse`` before 3.11), the one ``re`` compiles
with, so the analysis reads a pattern exactly as the engine does."""

MIN_LENGTH = 3
"""Shorter required strings are in nearly every text: not worth a check."""
MAX_NEEDLES = 12
"""Past this many alternatives the checks cost about what the regex does."""

Needles = frozenset[str]


def required_strings(pattern: str) -> tuple[str, ...] | None:
    """Strings one of which every match of ``pattern`` contains, shortest first, or None when
    the pattern has no useful such set (the regex then always runs)."""
    parsed = _parser.parse(pattern)
    if parsed.state.flags & re.IGNORECASE:
        return None
    needles = _sequence(parsed.data)
    if needles is None or len(needles) > MAX_NEEDLES or min(map(len, needles)) < MIN_LENGTH:
        return None
    return tuple(sorted(needles, key=lambda needle: (len(needle), needle)))


def _sequence(items: Iterable[tuple[Any, Any]]) -> Needles | None:
    """The most selective requirement among a sequence's literal runs and its items'."""
    candidates: list[Needles] = []
    run = ""
    for op, argument in items:
        if op is _parser.LITERAL:
            run += chr(argument)
            continue
        if op in (_parser.AT, _parser.ASSERT, _parser.ASSERT_NOT):
            continue  # zero width: the characters either side are adjacent in the match
        if run:
            candidates.append(frozenset((run,)))
            run = ""
        inner = _item(op, argument)
        if inner is not None:
            candidates.append(inner)
    if run:
        candidates.append(frozenset((run,)))
    if not candidates:
        return None
    return max(candidates, key=lambda needles: (min(map(len, needles)), -len(needles)))


def _item(op: Any, argument: Any) -> Needles | None:
    if op is _parser.SUBPATTERN:
        _group, add_flags, _del_flags, body = argument
        return None if add_flags & re.IGNORECASE else _sequence(body)
    if op is _parser.ATOMIC_GROUP:
        return _sequence(argument)
    if op is _parser.BRANCH:
        branches = [_sequence(branch) for branch in argument[1]]
        if any(branch is None for branch in branches):
            return None
        return _least(frozenset().union(*(b for b in branches if b is not None)))
    if op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT):
        least, _most, body = argument
        return _sequence(body) if least >= 1 else None
    return None


def _least(needles: Needles) -> Needles:
    """Drop the strings that contain another of the set: finding the shorter one suffices."""
    return frozenset(n for n in needles if not any(o != n and o in n for o in needles))


def may_match(needles: tuple[str, ...] | None, text: str) -> bool:
    """False only when ``text`` holds none of ``needles`` (so the pattern cannot match it)."""
    if needles is None:
        return True
    for needle in needles:
        if needle in text:
            return True
    return False
