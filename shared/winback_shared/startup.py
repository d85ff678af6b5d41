"""What every service does before taking work: make sure topics and schema exist.

Both steps are idempotent and safe to run from several services at once, so any service can be
started first.
"""

from __future__ import annotations

import asyncpg

from winback_shared.kafka import ensure_topics
from winback_shared.migrations import apply_migrations
from winback_shared.settings import CommonSettings

DEFAULT_PARTITIONS = 6
"""Enough partitions for a few router instances; cheap on a single broker."""


async def prepare_infrastructure(settings: CommonSettings, pool: asyncpg.Pool) -> None:
    """Create missing topics and apply pending migrations."""
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        dict.fromkeys(settings.topics.model_dump().values(), DEFAULT_PARTITIONS),
    )
    async with pool.acquire() as conn:
        await apply_migrations(conn)
