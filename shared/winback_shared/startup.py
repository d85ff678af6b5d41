"""What every service does before taking work: make sure topics and schema exist.

Both steps are idempotent and safe to run from several services at once, so any service can be
started first.
"""

from __future__ import annotations

import asyncpg

from winback_shared.db_roles import warn_if_privileged
from winback_shared.kafka import ensure_topics
from winback_shared.migrations import apply_migrations
from winback_shared.partitions import ensure_partitions
from winback_shared.settings import CommonSettings

DEFAULT_PARTITIONS = CommonSettings.model_fields["topic_partitions"].default
"""Enough partitions for a few router instances; cheap on a single broker."""


async def prepare_infrastructure(
    settings: CommonSettings, pool: asyncpg.Pool, *, as_service: bool = True
) -> None:
    """Create missing topics, apply pending migrations and create the coming months'
    partitions (:mod:`winback_shared.partitions`).

    A service (``as_service``) warns when its connection is a superuser's or the owner's
    (:mod:`winback_shared.db_roles`); a deployment step migrating as the owner on purpose
    passes ``False``. A service role cannot apply migrations (no DDL): with some pending, it
    stops with what to run instead.
    """
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        dict.fromkeys(settings.topics.model_dump().values(), settings.topic_partitions),
    )
    await prepare_database(pool, as_service=as_service)


async def prepare_database(pool: asyncpg.Pool, *, as_service: bool = True) -> None:
    """The database half of :func:`prepare_infrastructure`, for a process that never talks to
    Kafka (the refiner)."""
    async with pool.acquire() as conn:
        if as_service:
            await warn_if_privileged(conn)
        try:
            await apply_migrations(conn)
        # Without CREATE on the schema (or without even USAGE, on a schema made for the owner).
        except (asyncpg.InsufficientPrivilegeError, asyncpg.InvalidSchemaNameError) as error:
            raise RuntimeError(
                f"migrations are pending and this service's role may not apply them ({error}):"
                " run `python -m winback_shared.migrations` with the owner's DATABASE_URL first"
            ) from error
        await ensure_partitions(conn)
