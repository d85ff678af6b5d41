"""The reason taxonomy: codes, labels, weights, vendor label synonyms and free-text rules.

Loaded and validated once at start-up so a bad edit stops the service with a clear message
instead of silently mis-coding responses. Rules are compiled here, once, so coding a response is
a pure function of the response and this object: replaying history with the same taxonomy gives
the same codes.

Text is compared as *folded words*: Unicode letters and digits, lower-cased, accents removed,
English contractions expanded ("didn't" -> "did not"), joined by single spaces. Labels, keywords,
patterns and comments all go through the same folding, so an edit in the TOML never has to care
about case, punctuation or accents.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

CodeId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,48}$")]
Weight = Annotated[float, Field(gt=0, le=10)]

UNCLASSIFIED = "unclassified"
UNCLASSIFIED_LABEL = "Unclassified"

_WORD = re.compile(r"[^\W_]+")
_CLAUSE_BREAK = re.compile(r"[.!?;:,()\[\]\n\r\u2013\u2014]|\s-\s")
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


@dataclass(frozen=True, slots=True)
class Word:
    """One folded word and where it came from in the original text.

    ``clause`` numbers the stretches between punctuation marks, so negation never reaches
    across a comma or a full stop ("No, the wait was long" is not a denial of the wait).
    """

    text: str
    start: int
    end: int
    clause: int


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents ('Délai' -> 'delai')."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _expand_negation(word: str) -> tuple[str, str] | None:
    """'didnt' -> ('did', 'not'); None for words that are not a negated auxiliary."""
    if word in _IRREGULAR_NEGATIONS:
        return _IRREGULAR_NEGATIONS[word], "not"
    if word.endswith("nt") and word[:-2] in _AUXILIARIES:
        return word[:-2], "not"
    return None


def split_words(text: str) -> list[Word]:
    """The folded words of ``text`` (taken in NFC form) with their offsets in it."""
    text = unicodedata.normalize("NFC", text)
    words: list[Word] = []
    clause = 0
    previous_end = 0
    for match in _WORD.finditer(text):
        folded = fold(match.group())
        start, end = match.span()
        gap = text[previous_end:start]
        if words and _CLAUSE_BREAK.search(gap):
            clause += 1
        previous_end = end
        if folded == "t" and words and gap in ("'", "\u2019"):
            joined = words[-1].text + "t"  # "didn" + "t": the two halves of "didn't"
            expanded = _expand_negation(joined)
            if expanded is not None or joined.endswith("nt"):
                head = expanded[0] if expanded else joined[:-2]
                first = words.pop()
                words.append(Word(head, first.start, end, first.clause))
                words.append(Word("not", first.start, end, first.clause))
                continue
        expanded = _expand_negation(folded)
        if expanded is not None:
            words.append(Word(expanded[0], start, end, clause))
            words.append(Word(expanded[1], start, end, clause))
        else:
            words.append(Word(folded, start, end, clause))
    return words


def normalise_label(text: str) -> str:
    """Fold case, accents and punctuation so 'Agent lacked product-knowledge!' matches."""
    return " ".join(word.text for word in split_words(text))


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
class KeywordIndex:
    """Keyword rules by their first word (or first three letters, for ``prefix*`` words), so a
    comment is read once whatever the number of keywords."""

    by_word: dict[str, list[TextRule]]
    by_stem: dict[str, list[TextRule]]

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

    @property
    def name(self) -> str:
        """How evidence names this rule: ``keyword:on hold for ages``, ``pattern:long_wait#2``.

        Patterns go by their position in the code's list (from 1): regexes are unreadable in
        a console, and the position finds them in the file.
        """
        if self.kind == "keyword":
            return f"keyword:{self.source}"
        return f"pattern:{self.code}#{self.index + 1}"


class ReasonCode(BaseModel):
    """One dissatisfaction reason: how agents read it, how much it weighs, how to find it.

    ``synonyms`` are the answer labels survey vendors use for this reason; ``keywords`` and
    ``patterns`` find it in free text (see :func:`compile_keyword`; patterns are regexes over
    the folded words and must match whole words). ``negatable`` is false for codes whose
    complaint is itself an absence ("could not reach a real person"), where a negation before a
    hit confirms it instead of denying it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: CodeId
    label: Annotated[str, Field(min_length=1)]
    description: str = ""
    weight: Weight = 1.0
    synonyms: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    negatable: bool = True
    _rules: tuple[TextRule, ...] = PrivateAttr(default=())

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regex: {exc}") from exc
            if regex.groupindex:
                raise ValueError(f"pattern {pattern!r}: use (?:...) instead of named groups")
            if regex.search(""):
                raise ValueError(f"pattern {pattern!r} matches empty text")
        return patterns

    @model_validator(mode="after")
    def _compile_rules(self) -> ReasonCode:
        try:
            rules = [
                TextRule(
                    self.id, "keyword", word, index, self.negatable, words=compile_keyword(word)
                )
                for index, word in enumerate(self.keywords)
            ]
        except ValueError as exc:
            raise ValueError(f"code {self.id}: {exc}") from exc
        rules += [
            TextRule(
                self.id,
                "pattern",
                pattern,
                index,
                self.negatable,
                regex=re.compile(rf" (?:{pattern})(?= )"),
            )
            for index, pattern in enumerate(self.patterns)
        ]
        self._rules = tuple(rules)
        return self

    @property
    def rules(self) -> tuple[TextRule, ...]:
        """The compiled keywords then patterns, in the order the taxonomy lists them."""
        return self._rules


def _as_utc(moment: datetime | date) -> datetime:
    """TOML dates and naive datetimes are read as UTC, so a window means the same everywhere."""
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Boost(BaseModel):
    """A time-bounded raise of a code's weight (e.g. product knowledge during a hiring wave).

    Active from ``starts`` (inclusive) until ``ends`` (exclusive); a bare date means midnight
    UTC. Boosts that overlap multiply.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: CodeId
    factor: Weight
    starts: datetime
    ends: datetime
    note: str = ""

    @field_validator("starts", "ends", mode="before")
    @classmethod
    def _dates_are_midnight(cls, value: object) -> object:
        return _as_utc(value) if isinstance(value, date) else value

    @field_validator("starts", "ends")
    @classmethod
    def _naive_is_utc(cls, value: datetime) -> datetime:
        return _as_utc(value)

    @model_validator(mode="after")
    def _window_is_forward(self) -> Boost:
        if self.ends <= self.starts:
            raise ValueError(f"boost of {self.code}: ends {self.ends} is not after {self.starts}")
        return self

    def active_at(self, moment: datetime) -> bool:
        """Whether the boost applies at ``moment``."""
        return self.starts <= _as_utc(moment) < self.ends


class Taxonomy(BaseModel):
    """All reason codes and boosts, with a label index and compiled rules built once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    codes: Annotated[list[ReasonCode], Field(min_length=1)]
    boosts: list[Boost] = Field(default_factory=list)
    _label_index: dict[str, ReasonCode] = PrivateAttr(default_factory=dict)
    _by_id: dict[str, ReasonCode] = PrivateAttr(default_factory=dict)
    _keyword_index: KeywordIndex = PrivateAttr(default_factory=lambda: KeywordIndex({}, {}))
    _patterns: tuple[TextRule, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _check_and_index(self) -> Taxonomy:
        ids = [code.id for code in self.codes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate code ids: {', '.join(duplicates)}")
        if UNCLASSIFIED in ids:
            raise ValueError(f"'{UNCLASSIFIED}' is reserved for reasons that match no code")
        seen: dict[str, str] = {}
        for code in self.codes:
            for label in (code.label, *code.synonyms):
                key = normalise_label(label)
                if not key:
                    raise ValueError(f"code {code.id}: synonym {label!r} is empty once normalised")
                owner = seen.setdefault(key, code.id)
                if owner != code.id:
                    raise ValueError(f"label {label!r} maps to both {owner} and {code.id}")
                self._label_index[key] = code
        self._by_id.update((code.id, code) for code in self.codes)
        self._keyword_index = KeywordIndex.of(list(self.rules))
        self._patterns = tuple(rule for rule in self.rules if rule.kind == "pattern")
        unknown = sorted({boost.code for boost in self.boosts} - set(ids))
        if unknown:
            raise ValueError(f"boosts name unknown codes: {', '.join(unknown)}")
        return self

    def by_id(self, code_id: str) -> ReasonCode:
        """The code with that id; raises ``KeyError`` if there is none."""
        return self._by_id[code_id]

    def match_label(self, label: str) -> ReasonCode | None:
        """The code whose label or synonym equals ``label`` once normalised."""
        return self._label_index.get(normalise_label(label))

    @property
    def rules(self) -> tuple[TextRule, ...]:
        """Every code's free-text rules, codes in taxonomy order."""
        return tuple(rule for code in self.codes for rule in code.rules)

    @property
    def patterns(self) -> tuple[TextRule, ...]:
        """Every code's pattern rules, codes in taxonomy order."""
        return self._patterns

    @property
    def keywords(self) -> KeywordIndex:
        """Every code's keyword rules, indexed by first word."""
        return self._keyword_index

    def weight_at(self, code_id: str, moment: datetime) -> float:
        """The code's weight at ``moment``, with every boost active then applied."""
        weight = self.by_id(code_id).weight
        for boost in self.boosts:
            if boost.code == code_id and boost.active_at(moment):
                weight *= boost.factor
        return weight


class TaxonomyError(ValueError):
    """The taxonomy file is unreadable or invalid; the message says where."""


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Load a taxonomy file, or the default one shipped with the package."""
    origin = str(path) if path else "default taxonomy"
    try:
        if path is None:
            text = resources.files("winback_shared").joinpath("default_taxonomy.toml").read_text()
        else:
            text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TaxonomyError(f"cannot read taxonomy {origin}: {exc}") from exc
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(
            f"  {_where(error['loc'], data)}: {error['msg']}" for error in exc.errors()
        )
        raise TaxonomyError(f"invalid taxonomy {origin}:\n{problems}") from exc


def _where(location: tuple[int | str, ...], data: dict[str, object]) -> str:
    """'codes[4] (re_explain).keywords' rather than pydantic's 'codes.4.keywords'."""
    parts: list[str] = []
    node: object = data
    for step in location:
        if isinstance(step, int):
            parts[-1] += f"[{step}]"
            node = node[step] if isinstance(node, list) and step < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id") or node.get("code"), str):
                parts[-1] += f" ({node.get('id') or node.get('code')})"
        else:
            parts.append(step)
            node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts) or "taxonomy"
