"""Notifier settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from winback_shared.settings import CommonSettings

DEFAULT_CONTACT_TARGETS = {1: 10, 2: 15, 3: 60, 4: 240}


class NotifierSettings(CommonSettings):
    """Fan-out, authentication and case workflow limits."""

    client_queue_size: Annotated[int, Field(gt=0)] = 1000
    """Messages a console may fall behind before it is disconnected to resynchronise."""
    auth_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    unreachable_after_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    """Failed contact attempts before an agent may mark a case unreachable."""
    contact_target_minutes: dict[int, Annotated[int, Field(gt=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_CONTACT_TARGETS)
    )
    """Minutes from opening to first contact, per priority; consoles count down to it."""
    taxonomy_path: Path | None = None
    """The reason taxonomy root causes are chosen from (the shipped one by default)."""
    publish_timeout_seconds: Annotated[float, Field(gt=0)] = 3.0
    """How long a case change waits for Kafka before answering; the outbox sends it later."""
    outbox_interval_seconds: Annotated[float, Field(gt=0)] = 2.0
    """How often unpublished case changes (Kafka was down) and agent changes (the admin CLI, or
    Kafka was down) are looked for and sent: the most a CLI change waits to reach consoles."""
    board_limit: Annotated[int, Field(gt=0, le=5000)] = 500
    """Cases a console's snapshot carries at most: the most urgent open ones first.

    A board of thousands helps no agent and costs every reconnect; the snapshot says how many
    were left out so the console can say so instead of pretending the board is complete.
    """

    @field_validator("contact_target_minutes")
    @classmethod
    def _every_priority_has_a_target(cls, targets: dict[int, int]) -> dict[int, int]:
        missing = [p for p in DEFAULT_CONTACT_TARGETS if p not in targets]
        if missing:
            raise ValueError(f"contact_target_minutes lacks priorities {missing}")
        return targets
