"""The reason taxonomy: codes, labels, weights and vendor label synonyms.

Loaded and validated once at start-up so a bad edit stops the service with a clear message
instead of silently mis-coding responses.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

CodeId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,48}$")]

UNCLASSIFIED = "unclassified"


def normalise_label(text: str) -> str:
    """Fold case, accents and punctuation so 'Agent lacked product-knowledge!' matches."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    words = re.sub(r"[^\w]+", " ", without_accents.casefold())
    return " ".join(words.split())


class ReasonCode(BaseModel):
    """One dissatisfaction reason."""

    model_config = ConfigDict(frozen=True)

    id: CodeId
    label: Annotated[str, Field(min_length=1)]
    weight: Annotated[float, Field(gt=0, le=10)] = 1.0
    synonyms: list[str] = Field(default_factory=list)


class Taxonomy(BaseModel):
    """All reason codes, with a label index built once for matching."""

    model_config = ConfigDict(frozen=True)

    codes: Annotated[list[ReasonCode], Field(min_length=1)]
    _label_index: dict[str, ReasonCode] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_unique(self) -> Taxonomy:
        seen: dict[str, str] = {}
        ids = [code.id for code in self.codes]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate code ids: {', '.join(duplicates)}")
        if UNCLASSIFIED in ids:
            raise ValueError(f"'{UNCLASSIFIED}' is reserved for reasons that match no code")
        for code in self.codes:
            for label in (code.label, *code.synonyms):
                key = normalise_label(label)
                if not key:
                    raise ValueError(f"code {code.id}: synonym {label!r} is empty once normalised")
                owner = seen.setdefault(key, code.id)
                if owner != code.id:
                    raise ValueError(f"label {label!r} maps to both {owner} and {code.id}")
                self._label_index[key] = code
        return self

    def by_id(self, code_id: str) -> ReasonCode:
        """The code with that id; raises ``KeyError`` if there is none."""
        for code in self.codes:
            if code.id == code_id:
                return code
        raise KeyError(code_id)

    def match_label(self, label: str) -> ReasonCode | None:
        """The code whose label or synonym equals ``label`` once normalised."""
        return self._label_index.get(normalise_label(label))


class TaxonomyError(ValueError):
    """The taxonomy file is unreadable or invalid; the message says where."""


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Load a taxonomy file, or the default one shipped with the package."""
    try:
        if path is None:
            text = resources.files("winback_shared").joinpath("default_taxonomy.toml").read_text()
            origin = "default taxonomy"
        else:
            text = path.read_text()
            origin = str(path)
        return Taxonomy.model_validate(tomllib.loads(text))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise TaxonomyError(f"cannot read taxonomy {path or 'default'}: {exc}") from exc
    except ValidationError as exc:
        raise TaxonomyError(f"invalid taxonomy {origin}:\n{exc}") from exc
