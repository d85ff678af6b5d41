"""The envelope every event shares: id, type, version and time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Self
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    """Aware UTC now; every timestamp we store or send is aware."""
    return datetime.now(UTC)


class Event(BaseModel):
    """Base of every event on a topic. Subclasses fix ``type`` and ``version``."""

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(default_factory=lambda: str(uuid4()))
    type: str
    version: int = 1
    occurred_at: datetime = Field(default_factory=utc_now)

    def to_bytes(self) -> bytes:
        """Serialise for Kafka."""
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Self:
        """Parse and validate a Kafka record value; raises ``pydantic.ValidationError``."""
        return cls.model_validate_json(raw)
