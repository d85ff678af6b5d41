"""Which queue a new case goes to: configured rules, first match wins. Pure, no I/O.

Rules come from configuration (``WINBACK_QUEUE_RULES`` as JSON, or a TOML file), for example::

    default = "default"

    [[rules]]            # billing problems of gold customers go to the senior billing desk
    queue = "billing-senior"
    reasons = ["billing_error"]
    segments = ["gold", "platinum"]

    [[rules]]
    queue = "urgent"
    priorities = [1]

Within a rule every given condition must hold; within a condition any listed value will do
(``reasons``: any of the case's reason codes; ``segments`` compare without case). A rule needs
at least one condition: a catch-all is what ``default`` is for. Queue names follow the same
pattern as the ``queues`` table, so a typo fails at start-up, not when the first case arrives.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

QueueName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]


class QueueRule(BaseModel):
    """Send matching cases to ``queue``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: QueueName
    reasons: frozenset[str] = frozenset()
    priorities: frozenset[Annotated[int, Field(ge=1, le=4)]] = frozenset()
    segments: frozenset[str] = frozenset()

    @model_validator(mode="after")
    def _has_a_condition(self) -> QueueRule:
        if not (self.reasons or self.priorities or self.segments):
            raise ValueError(
                f"rule for queue {self.queue!r} has no condition; use 'default' for a catch-all"
            )
        return self

    def matches(self, reason_codes: Collection[str], priority: int, segment: str | None) -> bool:
        """Every given condition holds."""
        if self.reasons and self.reasons.isdisjoint(reason_codes):
            return False
        if self.priorities and priority not in self.priorities:
            return False
        if self.segments:
            wanted = {s.casefold() for s in self.segments}
            if segment is None or segment.casefold() not in wanted:
                return False
        return True


class QueueRules(BaseModel):
    """Ordered routing rules and the queue for cases no rule matches."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: QueueName = "default"
    rules: tuple[QueueRule, ...] = ()


class QueueRulesError(ValueError):
    """The rules file or setting is unreadable or invalid; the message says where."""


def choose_queue(
    rules: QueueRules,
    *,
    reason_codes: Collection[str],
    priority: int,
    segment: str | None,
) -> str:
    """The queue of the first rule the case matches, else the default queue."""
    for rule in rules.rules:
        if rule.matches(reason_codes, priority, segment):
            return rule.queue
    return rules.default


def parse_queue_rules(text: str, *, toml: bool = False) -> QueueRules:
    """Rules from JSON (the ``WINBACK_QUEUE_RULES`` setting) or TOML text."""
    try:
        if toml:
            return QueueRules.model_validate(tomllib.loads(text))
        return QueueRules.model_validate_json(text)
    except tomllib.TOMLDecodeError as exc:
        raise QueueRulesError(f"queue rules are not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise QueueRulesError(f"invalid queue rules:\n{exc}") from exc


def load_queue_rules(path: Path) -> QueueRules:
    """Rules from a ``.toml`` or ``.json`` file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise QueueRulesError(f"cannot read queue rules {path}: {exc}") from exc
    return parse_queue_rules(text, toml=path.suffix == ".toml")
