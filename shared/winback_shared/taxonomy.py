"""The reason taxonomy: codes, labels, weights, vendor label synonyms and free-text rules.

Loaded and validated once at start-up so a bad edit stops the service with a clear message
instead of silently mis-coding responses. This module is the taxonomy as configuration: what the
file may say, the label index the router and the notifier look codes up by, and the weights and
boosts priority reads. Keywords and patterns are kept as written; the router compiles them for
matching (``winback_router.coding.compiler``), and refuses to start on a keyword that does not
compile. Patterns are checked here already (a regex that is invalid, has named groups or matches
nothing is a configuration error whoever reads the file).

Labels and synonyms are compared as folded words (:mod:`winback_shared.folding`): case,
punctuation and accents never matter, and contractions read as their negation.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from winback_shared.folding import split_words

CodeId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,48}$")]
Weight = Annotated[float, Field(gt=0, le=10)]

UNCLASSIFIED = "unclassified"
UNCLASSIFIED_LABEL = "Unclassified"
ASKS_CONTACT = "asks_contact"
"""Not a dissatisfaction reason: the customer asked in their comment to be contacted. Coded
beside the reasons (with the words that asked) so the decision and the agent both see it."""
ASKS_CONTACT_LABEL = "Asked to be contacted"
RESERVED_CODES = frozenset({UNCLASSIFIED, ASKS_CONTACT})
"""Codes the router writes itself; no taxonomy entry may take them."""


def normalise_label(text: str) -> str:
    """Fold case, accents and punctuation so 'Agent lacked product-knowledge!' matches."""
    return " ".join(word.text for word in split_words(text))


class ReasonCode(BaseModel):
    """One dissatisfaction reason: how agents read it, how much it weighs, how to find it.

    ``synonyms`` are the answer labels survey vendors use for this reason; ``keywords`` and
    ``patterns`` find it in free text (the router compiles them: see
    ``winback_router.coding.compiler``; patterns are regexes over the folded words and must
    match whole words). ``negatable`` is false for codes whose
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
    """All reason codes and boosts, with a label index built once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    codes: Annotated[list[ReasonCode], Field(min_length=1)]
    boosts: list[Boost] = Field(default_factory=list)
    _label_index: dict[str, ReasonCode] = PrivateAttr(default_factory=dict)
    _by_id: dict[str, ReasonCode] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_and_index(self) -> Taxonomy:
        ids = [code.id for code in self.codes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate code ids: {', '.join(duplicates)}")
        for reserved in sorted(RESERVED_CODES & set(ids)):
            raise ValueError(f"'{reserved}' is reserved: the router writes it itself")
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

    def weight_at(self, code_id: str, moment: datetime) -> float:
        """The code's weight at ``moment``, with every boost active then applied."""
        weight = self.by_id(code_id).weight
        for boost in self.boosts:
            if boost.code == code_id and boost.active_at(moment):
                weight *= boost.factor
        return weight


class TaxonomyError(ValueError):
    """The taxonomy file is unreadable or invalid; the message says where."""

    @classmethod
    def invalid(cls, path: Path | None, problems: Iterable[tuple[str, str]]) -> TaxonomyError:
        """One line per ``(where, what)`` problem under the file's name.

        Used by :func:`load_taxonomy` and by the router's rule compiler, so a bad keyword reads
        like any other mistake in the file: ``codes[4] (re_explain).keywords[2]: ...``.
        """
        lines = "\n".join(f"  {where}: {what}" for where, what in problems)
        return cls(f"invalid taxonomy {_origin(path)}:\n{lines}")


def _origin(path: Path | None) -> str:
    return str(path) if path else "default taxonomy"


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Load a taxonomy file, or the default one shipped with the package.

    Keywords are not compiled here: the router does that when it loads the taxonomy
    (``winback_router.coding.compiler.load_and_compile``).
    """
    try:
        if path is None:
            text = resources.files("winback_shared").joinpath("default_taxonomy.toml").read_text()
        else:
            text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TaxonomyError(f"cannot read taxonomy {_origin(path)}: {exc}") from exc
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        problems = [(_where(error["loc"], data), error["msg"]) for error in exc.errors()]
        raise TaxonomyError.invalid(path, problems) from exc


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
