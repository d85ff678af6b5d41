"""Ingest settings: where to publish, the body limit, and the configured sources."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from functools import cached_property
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator

from winback_shared.settings import CommonSettings


class Vendor(StrEnum):
    """Vendor formats ingest knows how to authenticate."""

    GENERIC = "generic"


def decode_standard_webhooks_secret(secret: str) -> bytes:
    """The HMAC key behind a ``whsec_<base64>`` secret (the prefix is optional)."""
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("secret must be 'whsec_' followed by base64") from exc
    if len(key) < 16:
        raise ValueError("secret key must be at least 16 bytes once decoded")
    return key


class SourceConfig(BaseModel):
    """A configured sender. Several secrets are accepted at once so they can be rotated."""

    vendor: Vendor
    secrets: Annotated[list[SecretStr], Field(min_length=1)]

    @field_validator("secrets")
    @classmethod
    def _secrets_decode(cls, secrets: list[SecretStr]) -> list[SecretStr]:
        for index, secret in enumerate(secrets):
            try:
                decode_standard_webhooks_secret(secret.get_secret_value())
            except ValueError as exc:
                raise ValueError(f"secret #{index + 1}: {exc}") from None
        return secrets

    @cached_property
    def keys(self) -> list[bytes]:
        """Decoded HMAC keys, in configuration order (decoded once, not per request)."""
        return [decode_standard_webhooks_secret(s.get_secret_value()) for s in self.secrets]


class IngestSettings(CommonSettings):
    """``WINBACK_SOURCES`` is JSON: ``{"name": {"vendor": "generic", "secrets": [...]}}``."""

    sources: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")], SourceConfig] = Field(
        default_factory=dict
    )
    max_body_bytes: Annotated[int, Field(gt=0)] = 256 * 1024
    publish_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    retry_after_seconds: Annotated[int, Field(gt=0)] = 30
    signature_tolerance_seconds: Annotated[int, Field(gt=0)] = 300
