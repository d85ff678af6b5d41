"""The words for the recovery call, by reason: configuration loaded and checked at start-up.

The call follows one structure, always in the same order: acknowledge the customer, introduce
yourself, say how long it will take, explain (after listening), thank (:class:`Step`; the order
is the code's, the words are the company's). Per reason code of the taxonomy the file offers an
apology first and then options to offer: suggestions the agent edits, never a script.

Configured like the taxonomy: a TOML file, the shipped ``default_guidance.toml`` unless
``WINBACK_CALL_GUIDANCE_PATH`` names another, validated once when the notifier starts. A
mistake stops it with one line per problem naming the entry and field (``reasons.long_wait.
apology[0]: ...``); so does a reason code the taxonomy does not have, or a placeholder the
console cannot fill. A taxonomy code the file leaves out is allowed (its cases get the steps
alone) and logged once, by :func:`missing_codes`.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterable
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from winback_shared.taxonomy import Taxonomy

PLACEHOLDERS = frozenset({"customer", "agent", "company"})
"""What a line may name in braces: the console fills these in."""
MAX_LINE = 240


class Step(StrEnum):
    """The parts of the call, in the order they come."""

    ACKNOWLEDGE = "acknowledge"
    INTRODUCE = "introduce"
    DURATION = "duration"
    EXPLAIN = "explain"
    THANK = "thank"


def _placeholders_known(line: str) -> str:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(line) if name is not None}
    except ValueError as exc:
        raise ValueError(f"unbalanced braces in {line!r}") from exc
    unknown = names - PLACEHOLDERS
    if unknown:
        raise ValueError(
            f"unknown placeholder {{{sorted(unknown)[0]}}}; use {{customer}}, {{agent}} or "
            "{company}"
        )
    return line


Line = Annotated[str, Field(min_length=1, max_length=MAX_LINE)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepWords(_Strict):
    """What the agent is reminded of at one step, and lines they might say."""

    prompt: Line
    say: list[Line] = Field(default_factory=list, max_length=5)

    @field_validator("say")
    @classmethod
    def _lines_fill(cls, lines: list[str]) -> list[str]:
        return [_placeholders_known(line) for line in lines]


class ReasonWords(_Strict):
    """For one reason code: an apology first, then options to offer the customer."""

    apology: list[Line] = Field(min_length=1, max_length=5)
    options: list[Line] = Field(default_factory=list, max_length=8)

    @field_validator("apology", "options")
    @classmethod
    def _lines_fill(cls, lines: list[str]) -> list[str]:
        return [_placeholders_known(line) for line in lines]


class CallGuidance(_Strict):
    """The whole file: the company's name, the five steps, the words per reason code."""

    company: Annotated[str, Field(min_length=1, max_length=120)]
    steps: dict[Step, StepWords]
    reasons: dict[str, ReasonWords] = Field(default_factory=dict)

    @field_validator("steps")
    @classmethod
    def _every_step(cls, steps: dict[Step, StepWords]) -> dict[Step, StepWords]:
        missing = [step.value for step in Step if step not in steps]
        if missing:
            raise ValueError(f"every step needs its words; missing: {', '.join(missing)}")
        return {step: steps[step] for step in Step}  # in the call's order


class GuidanceError(ValueError):
    """The guidance file is unreadable or invalid; the message says where."""


def _origin(path: Path | None) -> str:
    return str(path) if path else "default call guidance"


def _where(location: Iterable[int | str]) -> str:
    """``reasons.long_wait.apology[0]`` rather than pydantic's ``reasons.long_wait.apology.0``."""
    text = ""
    for step in location:
        text += f"[{step}]" if isinstance(step, int) else f"{'.' if text else ''}{step}"
    return text or "guidance"


def load_guidance(path: Path | None, taxonomy: Taxonomy) -> CallGuidance:
    """Read and check a guidance file (the shipped one when ``path`` is ``None``) against the
    taxonomy's codes; :class:`GuidanceError` names every problem."""
    try:
        if path is None:
            text = resources.files(__package__).joinpath("default_guidance.toml").read_text()
        else:
            text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GuidanceError(f"cannot read call guidance {_origin(path)}: {exc}") from exc
    problems: list[tuple[str, str]] = []
    try:
        guidance = CallGuidance.model_validate(data)
    except ValidationError as exc:
        problems = [(_where(error["loc"]), error["msg"]) for error in exc.errors()]
    else:
        known = [code.id for code in taxonomy.codes]
        problems = [
            (
                f"reasons.{code}",
                f"not a reason code of the taxonomy; use any of: {', '.join(known)}",
            )
            for code in guidance.reasons
            if code not in known
        ]
    if problems:
        lines = "\n".join(f"  {where}: {what}" for where, what in problems)
        raise GuidanceError(f"invalid call guidance {_origin(path)}:\n{lines}")
    return guidance


def missing_codes(guidance: CallGuidance, taxonomy: Taxonomy) -> list[str]:
    """Taxonomy codes the guidance has no words for (their cases get the steps alone)."""
    return [code.id for code in taxonomy.codes if code.id not in guidance.reasons]
