"""``python -m winback_shared.migrations``: apply pending migrations, as a deployment step.

Run it with ``DATABASE_URL`` naming a login that is a member of ``winback_owner`` (or, the first
time, a superuser: migration 0016 creates the roles) before the services start; the services
then connect as their own roles and find nothing to do.

For scripted environments (docker-compose, CI) it also creates each service's login when its
password is in the environment: ``WINBACK_ROUTER_DB_PASSWORD`` makes (or re-passwords) the login
``winback_router_login`` in role ``winback_router``, ``WINBACK_NOTIFIER_DB_PASSWORD`` likewise.
A DBA managing logins by hand sets neither (docs/operations.md, "Database roles").
"""

from __future__ import annotations

import asyncio
import logging
import os

from winback_shared.db import create_pool
from winback_shared.db_roles import SERVICE_ROLES, ensure_login, login_name
from winback_shared.logs import configure_logging
from winback_shared.migrations import apply_migrations
from winback_shared.partitions import ensure_partitions
from winback_shared.settings import CommonSettings

log = logging.getLogger("winback_shared.migrations")


async def _migrate(database_url: str, passwords: dict[str, str]) -> list[int]:
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            applied = await apply_migrations(conn)
            await ensure_partitions(conn)
            for service, password in passwords.items():
                role = SERVICE_ROLES[service]
                await ensure_login(conn, login_name(role), role, password)
                log.info("service login ready", extra={"fields": {"login": login_name(role)}})
            return applied
    finally:
        await pool.close()


def main() -> None:
    """Apply what is pending and say which versions ran."""
    settings = CommonSettings()
    configure_logging(settings.log_level)
    passwords = {
        service: os.environ[variable]
        for service in SERVICE_ROLES
        if os.environ.get(variable := f"WINBACK_{service.upper()}_DB_PASSWORD")
    }
    applied = asyncio.run(_migrate(settings.database_url, passwords))
    log.info("migrations done", extra={"fields": {"applied": applied}})


if __name__ == "__main__":
    main()
