"""The rule compiler: a taxonomy's keywords and patterns made ready for matching, once.

The shared taxonomy keeps keywords and patterns as the file writes them; only the router reads
free text, so only the router compiles them. :func:`load_and_compile` is how the router's
start-up, the re-coding CLI, the evaluation and the bench load a taxonomy: a keyword that does
not compile stops them there, naming the code and the keyword, instead of at the first comment.
:func:`compiled_rules` gives the compiled rules of a taxonomy, built on first use and kept as
long as the taxonomy object lives, so coding a response costs one dictionary lookup more than
when the taxonomy carried its own rules. It also attaches the learned reason model
(:mod:`winback_router.coding.learned`), read once per file, after checking the model was
trained for exactly the taxonomy's codes.

Keywords go through the same folding as comments (:func:`winback_shared.folding.split_words`),
so an edit in the TOML never has to care about case, punctuation or accents.
"""

from __future__ import annotations

import logging
import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Literal, TypeVar

from winback_router.coding.embeddings import sentence_encoder
from winback_router.coding.learned import DEFAULT_MODEL, ReasonModel, load_model
from winback_router.coding.pattern_scan import RuleScan
from winback_router.coding.prefilter import required_strings
from winback_router.coding.recent_cache import RecentCache
from winback_shared.folding import split_words
from winback_shared.taxonomy import ReasonCode, Taxonomy, TaxonomyError, load_taxonomy

log = logging.getLogger("winback.router")

T = TypeVar("T")
GAP = "..."
"""In a keyword, stands for up to three words of anything ("promised ... call* back")."""
MAX_GAP = 3
MIN_PREFIX = 3


def compile_keyword(keyword: str) -> tuple[str, ...]:
    """A keyword as folded word pieces: ``word``, ``prefix*`` (any ending) or ``...`` (a gap).

    "Didn't re-explain*" becomes ``("did", "not", "re", "explain*")``: the same folding as
    comments get, so keywords are written the way people type.
    """
    pieces: list[str] = []
    for piece in keyword.split():
        if piece == GAP:
            pieces.append(GAP)
            continue
        folded = [word.text for word in split_words(piece)]
        if not folded:
            raise ValueError(f"keyword {keyword!r}: {piece!r} has no letters or digits")
        if piece.endswith("*"):
            if not pieces and len(folded) == 1 and len(folded[0]) < MIN_PREFIX:
                raise ValueError(f"keyword {keyword!r}: {piece!r} is too short to end with *")
            folded[-1] += "*"
        pieces.extend(folded)
    if not pieces or pieces[0] == GAP or pieces[-1] == GAP:
        raise ValueError(f"keyword {keyword!r} must start and end with a word")
    return tuple(pieces)


def word_matches(piece: str, word: str) -> bool:
    """Whether one keyword piece (not a gap) matches one folded word."""
    if piece.endswith("*"):
        return word.startswith(piece[:-1])
    return word == piece


@dataclass(frozen=True, slots=True)
class TextRule:
    """One keyword or pattern of a code, compiled for matching folded text.

    A keyword keeps its word pieces (see :func:`compile_keyword`); a pattern its regex, which
    runs over the folded words padded with a space at each end and starts at a space: the
    regex engine then only tries word starts, which keeps a hundred patterns cheap.
    """

    code: str
    kind: Literal["keyword", "pattern"]
    source: str
    index: int
    negatable: bool = True
    words: tuple[str, ...] = ()
    regex: re.Pattern[str] | None = None
    across_sentences: bool = False
    """A pattern that starts with :data:`ACROSS_SENTENCES` may read past a sentence end
    ("would reply shortly. Shortly turned into two days."); every other rule stays inside one."""
    plain: bool = False
    """A keyword of whole words only (no ``...`` gap, no ``prefix*``): it matches where the
    next words are exactly its words, compared as one slice instead of piece by piece."""
    needles: tuple[str, ...] | None = None
    """A pattern's required strings (:mod:`winback_router.coding.prefilter`): the regex runs
    only over a text holding one of them. None: it always runs."""

    @property
    def name(self) -> str:
        """How evidence names this rule: ``keyword:on hold for ages``, ``pattern:long_wait#2``.

        Patterns go by their position in the code's list (from 1): regexes are unreadable in
        a console, and the position finds them in the file.
        """
        if self.kind == "keyword":
            return f"keyword:{self.source}"
        return f"pattern:{self.code}#{self.index + 1}"


FIRST_WORDS_GENERATION = 20_000
"""Words whose keyword rules a generation of :meth:`KeywordIndex.starting_each`'s cache keeps
(two generations at most, the words used most recently:
:mod:`winback_router.coding.recent_cache`)."""


@dataclass(frozen=True, slots=True)
class KeywordIndex:
    """Keyword rules by their first word (or first three letters, for ``prefix*`` words), so a
    comment is read once whatever the number of keywords."""

    by_word: dict[str, list[TextRule]]
    by_stem: dict[str, list[TextRule]]
    cache: RecentCache[str, tuple[TextRule, ...]] = field(
        default_factory=lambda: RecentCache(FIRST_WORDS_GENERATION), compare=False, repr=False
    )
    """Folded words seen lately and the keyword rules each starts (most start none)."""

    @classmethod
    def of(cls, rules: list[TextRule]) -> KeywordIndex:
        """Index the keyword rules among ``rules``."""
        index = cls({}, {})
        for rule in rules:
            if rule.kind != "keyword":
                continue
            first = rule.words[0]
            if first.endswith("*"):
                index.by_stem.setdefault(first[:MIN_PREFIX], []).append(rule)
            else:
                index.by_word.setdefault(first, []).append(rule)
        return index

    def starting(self, word: str) -> list[TextRule]:
        """The keyword rules whose first piece matches ``word`` (a folded word)."""
        exact = self.by_word.get(word, [])
        stems = self.by_stem.get(word[:MIN_PREFIX])
        if not stems:
            return exact
        return exact + [rule for rule in stems if word_matches(rule.words[0], word)]

    def starting_each(self, words: list[str]) -> list[tuple[TextRule, ...]]:
        """:meth:`starting` of each of ``words``, from the cache where it can (one dictionary
        lookup a word instead of two and a prefix match; docs/performance.md, section 27)."""
        found: list[tuple[TextRule, ...] | None] = list(map(self.cache.recent.get, words))
        if None not in found:
            return found  # type: ignore[return-value]  # no None in it: checked
        for position, word in enumerate(words):
            if found[position] is None:
                rules = self.cache.get(word)
                if rules is None:
                    rules = tuple(self.starting(word))
                    self.cache.put(word, rules)
                found[position] = rules
        return found  # type: ignore[return-value]  # every None replaced


class RuleError(ValueError):
    """Keywords that do not compile: ``problems`` are ``(where, what)`` pairs, one per keyword."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("\n".join(f"{where}: {what}" for where, what in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """Every code's free-text rules, compiled: keywords indexed by first word, then patterns."""

    rules: tuple[TextRule, ...]
    """Each code's keywords then patterns, codes in taxonomy order."""
    keywords: KeywordIndex
    patterns: tuple[TextRule, ...]
    scan: RuleScan | None = None
    """One scan of a text for all patterns (:mod:`winback_router.coding.pattern_scan`), telling
    which regexes may match; None: each pattern is checked for its required strings alone."""

    @classmethod
    def of(cls, taxonomy: Taxonomy) -> CompiledRules:
        """Compile every code's rules; raises :class:`RuleError` listing every bad keyword."""
        rules: list[TextRule] = []
        problems: list[tuple[str, str]] = []
        for position, code in enumerate(taxonomy.codes):
            for index, keyword in enumerate(code.keywords):
                try:
                    words = compile_keyword(keyword)
                except ValueError as exc:
                    problems.append((f"codes[{position}] ({code.id}).keywords[{index}]", str(exc)))
                    continue
                plain = not any(piece == GAP or piece.endswith("*") for piece in words)
                rules.append(
                    TextRule(code.id, "keyword", keyword, index, code.negatable, words, plain=plain)
                )
            rules += _patterns(code)
        if problems:
            raise RuleError(problems)
        patterns = tuple(rule for rule in rules if rule.kind == "pattern")
        scan = RuleScan.of(
            tuple(
                (rule.regex.pattern if rule.regex else "", rule.across_sentences)
                for rule in patterns
            )
        )
        return cls(tuple(rules), KeywordIndex.of(rules), patterns, scan)


ACROSS_SENTENCES = "(?#across sentences)"
"""A regex comment that lets one pattern match across a sentence end (it changes nothing else)."""


def _patterns(code: ReasonCode) -> list[TextRule]:
    """The code's patterns, anchored at a word start and end (the taxonomy checked each one)."""
    rules = []
    for index, pattern in enumerate(code.patterns):
        source = rf" (?:{pattern})(?= )"
        rules.append(
            TextRule(
                code.id,
                "pattern",
                pattern,
                index,
                code.negatable,
                regex=re.compile(source),
                across_sentences=pattern.startswith(ACROSS_SENTENCES),
                needles=required_strings(source),
            )
        )
    return rules


class _PerTaxonomy(Generic[T]):
    """Values kept beside a taxonomy object, by identity, dropped when the taxonomy is collected
    (a taxonomy is frozen, so what was built from it never goes stale)."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Taxonomy], T]] = {}

    def __contains__(self, key: int) -> bool:
        return key in self._entries

    def get(self, taxonomy: Taxonomy) -> T | None:
        entry = self._entries.get(id(taxonomy))
        return entry[1] if entry is not None and entry[0]() is taxonomy else None

    def put(self, taxonomy: Taxonomy, value: T) -> None:
        key = id(taxonomy)

        def forget(ref: weakref.ref[Taxonomy]) -> None:
            if self._entries.get(key, (None,))[0] is ref:
                del self._entries[key]

        self._entries[key] = (weakref.ref(taxonomy, forget), value)


_compiled: _PerTaxonomy[CompiledRules] = _PerTaxonomy()
_models: _PerTaxonomy[ReasonModel] = _PerTaxonomy()


def compiled_rules(taxonomy: Taxonomy) -> CompiledRules:
    """The compiled rules of ``taxonomy``: compiled on first use, then kept while it lives.

    Raises :class:`RuleError` if a keyword does not compile, which :func:`load_and_compile`
    makes happen at start-up.
    """
    compiled = _compiled.get(taxonomy)
    if compiled is None:
        compiled = CompiledRules.of(taxonomy)
        _compiled.put(taxonomy, compiled)
    return compiled


def reason_model(taxonomy: Taxonomy) -> ReasonModel | None:
    """The learned model :func:`load_and_compile` attached to ``taxonomy``, if any: a taxonomy
    loaded any other way is coded by the rules alone."""
    return _models.get(taxonomy)


def model_gaps(taxonomy: Taxonomy, model: ReasonModel) -> tuple[list[str], list[str]]:
    """The taxonomy's codes the model was not trained for, and the model's codes the taxonomy
    no longer has. Columns are found by code name, so order never matters."""
    codes = [code.id for code in taxonomy.codes]
    return sorted(set(codes) - set(model.codes)), sorted(set(model.codes) - set(codes))


def attach_model(taxonomy: Taxonomy, model: ReasonModel, path: Path) -> None:
    """Code ``taxonomy`` with ``model`` too.

    A taxonomy changed since training (a code added or removed) still starts: a code the model
    does not know is found by the rules alone, and a code the taxonomy dropped is never
    proposed. Ops add a code, deploy, re-code, then re-train; the warning says what is
    rules-only until then.
    """
    rules_only, dropped = model_gaps(taxonomy, model)
    if rules_only or dropped:
        log.warning(
            "reason model trained for other codes; re-train it with "
            "python -m winback_router.coding.train",
            extra={"fields": {"model": str(path), "rules_only": rules_only, "ignored": dropped}},
        )
    _models.put(taxonomy, model)


def load_and_compile(path: Path | None = None, model: Path | None = DEFAULT_MODEL) -> Taxonomy:
    """Load a taxonomy file (or the default), compile its rules and attach the learned model.

    ``model=None`` codes with the rules alone. A model trained for other codes is used for the
    codes both know (see :func:`attach_model`). A model that reads sentence vectors loads the
    encoder here, so missing weights stop start-up (:class:`EncoderMissing`) rather than the
    first batch, and the first batch does not pay the loading.

    Raises :class:`~winback_shared.taxonomy.TaxonomyError` for anything wrong with the file,
    keywords included, listed the way :func:`~winback_shared.taxonomy.load_taxonomy` lists its
    problems, so the router refuses to start on a taxonomy it could not code with.
    """
    taxonomy = load_taxonomy(path)
    try:
        compiled_rules(taxonomy)
    except RuleError as exc:
        raise TaxonomyError.invalid(path, exc.problems) from exc
    if model is not None:
        learned = load_model(model)
        if learned.reads_vectors:
            sentence_encoder()
        attach_model(taxonomy, learned, model)
    return taxonomy
