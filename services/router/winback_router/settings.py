"""Router settings."""

from __future__ import annotations

from pathlib import Path

from winback_shared.settings import CommonSettings


class RouterSettings(CommonSettings):
    """``WINBACK_ROUTER_GROUP`` names the consumer group; instances sharing it split partitions."""

    router_group: str = "winback-router"
    taxonomy_path: Path | None = None
