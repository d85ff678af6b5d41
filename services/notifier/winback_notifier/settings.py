"""Notifier settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from winback_shared.settings import CommonSettings


class NotifierSettings(CommonSettings):
    """Fan-out and authentication limits."""

    client_queue_size: Annotated[int, Field(gt=0)] = 1000
    """Messages a console may fall behind before it is disconnected to resynchronise."""
    auth_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
