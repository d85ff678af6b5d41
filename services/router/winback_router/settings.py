"""Router settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from winback_shared.settings import CommonSettings
from winback_shared.sources import WithSources


class RouterSettings(CommonSettings, WithSources):
    """``WINBACK_ROUTER_GROUP`` names the consumer group; instances sharing it split partitions.

    The router reads the same sources as ingest (``WINBACK_SOURCES`` / ``WINBACK_SOURCES_FILE``)
    for their vendor, field map and API settings; their secrets are not used here.
    """

    router_group: str = "winback-router"
    taxonomy_path: Path | None = None
    flood_window: Annotated[int, Field(ge=1)] = 200
    flood_min_records: Annotated[int, Field(ge=1)] = 50
    flood_max_ratio: Annotated[float, Field(gt=0, le=1)] = 0.5
