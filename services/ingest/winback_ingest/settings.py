"""Ingest settings: where to publish, the request limits, and the configured sources."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from winback_shared.settings import CommonSettings
from winback_shared.sources import WithSources


class IngestSettings(CommonSettings, WithSources):
    """Sources come from ``WINBACK_SOURCES`` / ``WINBACK_SOURCES_FILE`` (see README)."""

    max_body_bytes: Annotated[int, Field(gt=0)] = 256 * 1024
    max_json_depth: Annotated[int, Field(gt=0, le=200)] = 32
    max_string_chars: Annotated[int, Field(gt=0)] = 20_000
    publish_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    retry_after_seconds: Annotated[int, Field(gt=0)] = 30
    signature_tolerance_seconds: Annotated[int, Field(gt=0)] = 300
    rate_per_source: Annotated[float, Field(gt=0)] = Field(
        default=50.0, description="Sustained deliveries per second each source may send."
    )
    rate_burst: Annotated[int, Field(gt=0)] = Field(
        default=200, description="Deliveries a source may send at once before being slowed."
    )
