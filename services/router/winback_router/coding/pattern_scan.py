"""One scan of a text for every pattern at once: which patterns may match, so only those run.

Python's ``re`` runs a pattern at every word start of a comment, one pattern after the other;
on a long comment that holds an everyday word a pattern needs (" not ", "call", "time"), most
of these runs find nothing (``docs/performance.md`` section 19). Hyperscan (the ``hyperscan``
wheel, Vectorscan inside) reads the text once for all patterns and names those that match
somewhere. It cannot replace ``re`` (no lookarounds, no back-references, other classes), so it
is a prefilter only: each pattern is translated, from the standard library's own parse of it,
into a regex that matches wherever the original does (and possibly elsewhere):

- zero-width assertions (lookarounds, ``^``, ``$``, ``\\b``) are dropped: the rest of the
  match is the same characters, now with fewer conditions;
- ``\\w``, ``\\d``, ``\\s`` and their negations keep their exact ASCII meaning and take every
  non-ASCII character (Python's Unicode classes are not the engine's; this way no Unicode
  table decides anything);
- possessive repeats and atomic groups become plain ones, lazy repeats greedy ones, and a
  repeat of more than once loses its upper bound (each only lets more match);
- anything else (back-references, case-insensitive parts, a translation the engine refuses)
  leaves the pattern unscanned: it then runs whenever the text holds one of its required
  strings (:mod:`winback_router.coding.prefilter`), as without the scan.

So a pattern the scan leaves out cannot match, and every pattern it names still runs in ``re``
for its real match and span: the hits are exactly those of running every pattern. A text the
scan cannot read (a lone surrogate, which UTF-8 cannot hold) or a scan that fails is read the
old way, every pattern checked for its required strings.
"""

from __future__ import annotations

import functools
import importlib
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import hyperscan

_parser: Any = importlib.import_module("re._parser")
"""The standard library's regex parser, as in :mod:`winback_router.coding.prefilter`."""

_CATEGORIES = {
    # Python's class on ASCII, exactly; every non-ASCII character besides (U+0080 and up).
    "CATEGORY_DIGIT": r"[0-9\x{80}-\x{10FFFF}]",
    "CATEGORY_NOT_DIGIT": r"[^0-9]",
    "CATEGORY_SPACE": r"[\t-\r\x1c-\x20\x{80}-\x{10FFFF}]",
    "CATEGORY_NOT_SPACE": r"[^\t-\r\x1c-\x20]",
    "CATEGORY_WORD": r"[0-9A-Z_a-z\x{80}-\x{10FFFF}]",
    "CATEGORY_NOT_WORD": r"[^0-9A-Z_a-z]",
}
ANY_CHARACTER = r"(?s:.)"


class Untranslatable(ValueError):
    """A regex construct with no superset the engine reads here: the pattern is not scanned."""


def translate(pattern: str) -> str:
    """A Hyperscan regex matching wherever ``pattern`` matches with Python's ``re`` (searching
    anywhere in a text), read from the standard library's parse of ``pattern``.

    Raises :class:`Untranslatable` for what it cannot bound that way.
    """
    parsed = _parser.parse(pattern)
    if parsed.state.flags & re.IGNORECASE:
        raise Untranslatable("case-insensitive pattern")
    return _sequence(parsed.data)


def _sequence(items: Iterable[tuple[Any, Any]]) -> str:
    return "".join(_item(op, argument) for op, argument in items)


def _literal(code: int) -> str:
    character = chr(code)
    return character if character.isascii() and character.isalnum() else f"\\x{{{code:x}}}"


def _item(op: Any, argument: Any) -> str:
    if op is _parser.LITERAL:
        return _literal(argument)
    if op is _parser.NOT_LITERAL:
        return f"[^{_literal(argument)}]"
    if op is _parser.ANY:
        return ANY_CHARACTER
    if op in (_parser.AT, _parser.ASSERT, _parser.ASSERT_NOT):
        return ""  # zero width: dropping a condition only lets more match
    if op is _parser.IN:
        return _class(argument)
    if op is _parser.SUBPATTERN:
        _group, add_flags, _del_flags, body = argument
        if add_flags & re.IGNORECASE:
            raise Untranslatable("case-insensitive group")
        return f"(?:{_sequence(body)})"
    if op is _parser.ATOMIC_GROUP:
        return f"(?:{_sequence(argument)})"
    if op is _parser.BRANCH:
        return "(?:" + "|".join(_sequence(branch) for branch in argument[1]) + ")"
    if op in (_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT):
        least, most, body = argument
        if most == 1:
            return f"(?:{_sequence(body)}){{{least},1}}"
        # An upper bound only narrows: unbounded, the engine builds the set in a third less
        # time, and the gaps it bounds ("(?: \\w+){0,3}") rarely decide a match.
        return f"(?:{_sequence(body)}){'+' if least else '*'}"
    if op is _parser.CATEGORY:
        return _category(argument)
    raise Untranslatable(str(op))


def _category(category: Any) -> str:
    translated = _CATEGORIES.get(str(category))
    if translated is None:
        raise Untranslatable(str(category))
    return translated


def _class(items: Sequence[tuple[Any, Any]]) -> str:
    """A character class: ranges and literals kept, categories as their supersets."""
    if items and items[0][0] is _parser.NEGATE:
        rest = items[1:]
        if any(op is _parser.CATEGORY for op, _argument in rest):
            return ANY_CHARACTER  # "none of these" with a category: any character bounds it
        return f"[^{_members(rest)}]"
    members = [(op, argument) for op, argument in items if op is not _parser.CATEGORY]
    options = [_category(argument) for op, argument in items if op is _parser.CATEGORY]
    if members:
        options.append(f"[{_members(members)}]")
    return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"


def _members(items: Iterable[tuple[Any, Any]]) -> str:
    parts = []
    for op, argument in items:
        if op is _parser.LITERAL:
            parts.append(f"\\x{{{argument:x}}}")
        elif op is _parser.RANGE:
            low, high = argument
            parts.append(f"\\x{{{low:x}}}-\\x{{{high:x}}}")
        else:
            raise Untranslatable(f"class member {op}")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class PatternScan:
    """One Hyperscan database over some patterns of a list: :meth:`may_match` names which of
    them can match a text."""

    database: hyperscan.Database | None
    """None when no pattern translated."""
    unscanned: tuple[int, ...]
    """Positions of the patterns that did not translate: the scan says nothing about them."""
    _scratch: threading.local
    """Hyperscan's scratch space is for one scan at a time: one per thread that scans."""

    @classmethod
    def of(cls, patterns: Iterable[tuple[int, str]]) -> PatternScan:
        """The scan of ``patterns`` (positions and Python regexes), each translated or else
        left out (:attr:`unscanned`)."""
        translated: dict[int, bytes] = {}
        unscanned: list[int] = []
        for position, pattern in patterns:
            try:
                translated[position] = translate(pattern).encode()
            except Untranslatable:
                unscanned.append(position)
        try:
            database = _database(translated)
        except hyperscan.error:
            # Some translation the engine refuses: find it alone, scan the others.
            for position, expression in list(translated.items()):
                try:
                    _database({position: expression})
                except hyperscan.error:
                    del translated[position]
                    unscanned.append(position)
            database = _database(translated)
        return cls(database, tuple(sorted(unscanned)), threading.local())

    def may_match(self, text: str) -> list[int] | None:
        """Positions of the scanned patterns that may match ``text`` (the others cannot), in
        no order; None when the scan cannot tell (a text UTF-8 cannot hold, a failed scan)."""
        if self.database is None:
            return []
        try:
            data = text.encode()
        except UnicodeEncodeError:
            return None  # a lone surrogate
        scratch = getattr(self._scratch, "scratch", None)
        if scratch is None:
            scratch = self._scratch.scratch = hyperscan.Scratch(self.database)
        found: list[int] = []
        try:
            self.database.scan(
                data,
                match_event_handler=lambda position, _start, _end, _flags, _context: found.append(
                    position
                ),
                scratch=scratch,
            )
        except hyperscan.error:
            return None
        return found


def _database(expressions: dict[int, bytes]) -> hyperscan.Database | None:
    """A block-mode database reporting each pattern (by its position) once per text."""
    if not expressions:
        return None
    database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    database.compile(
        expressions=list(expressions.values()),
        ids=list(expressions),
        elements=len(expressions),
        flags=hyperscan.HS_FLAG_SINGLEMATCH
        | hyperscan.HS_FLAG_UTF8
        | hyperscan.HS_FLAG_DOTALL
        | hyperscan.HS_FLAG_ALLOWEMPTY,
    )
    return database


@dataclass(frozen=True, slots=True)
class RuleScan:
    """The scans of a rule list's patterns: those read within sentences scan the padded text,
    those read across sentences the joined words (see
    :class:`~winback_router.coding.rules.FoldedText`)."""

    within: PatternScan
    across: PatternScan
    unscanned: tuple[int, ...]
    """Positions of the patterns neither scan covers, in order."""

    @classmethod
    @functools.lru_cache(maxsize=8)
    def of(cls, patterns: tuple[tuple[str, bool], ...]) -> RuleScan:
        """Scans for ``patterns``: each a Python regex and whether it reads across sentences.

        Building them takes the engine a second or two for the default taxonomy, so the last
        few are kept by their patterns: a taxonomy loaded again (tests, the CLI) reuses them."""
        within = PatternScan.of(
            (i, regex) for i, (regex, across) in enumerate(patterns) if not across
        )
        across = PatternScan.of((i, regex) for i, (regex, across) in enumerate(patterns) if across)
        return cls(within, across, tuple(sorted(within.unscanned + across.unscanned)))

    def may_match(self, padded: str, joined: str) -> set[int] | None:
        """Positions of the scanned patterns that may match (padded, joined) text, or None when
        a scan could not tell."""
        within = self.within.may_match(padded)
        across = self.across.may_match(joined) if within is not None else None
        if within is None or across is None:
            return None
        found = set(within)
        found.update(across)
        return found
