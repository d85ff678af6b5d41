"""``python -m winback_shared.migrations``: apply pending migrations, as a deployment step.

Run it with ``DATABASE_URL`` naming a login that is a member of ``winback_owner`` (or, the first
time, a superuser: migration 0016 creates the roles) before the services start; the services
then connect as their own roles and find nothing to do.
"""

from __future__ import annotations

import asyncio
import logging

from winback_shared.db import create_pool
from winback_shared.logs import configure_logging
from winback_shared.migrations import apply_migrations
from winback_shared.settings import CommonSettings

log = logging.getLogger("winback_shared.migrations")


async def _migrate(database_url: str) -> list[int]:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            return await apply_migrations(conn)
    finally:
        await pool.close()


def main() -> None:
    """Apply what is pending and say which versions ran."""
    settings = CommonSettings()
    configure_logging(settings.log_level)
    applied = asyncio.run(_migrate(settings.database_url))
    log.info("migrations done", extra={"fields": {"applied": applied}})


if __name__ == "__main__":
    main()
