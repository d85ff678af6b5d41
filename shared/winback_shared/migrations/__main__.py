"""``python -m winback_shared.migrations``: apply pending migrations, as a deployment step.

Run it with ``DATABASE_URL`` naming a login that is a member of ``winback_owner`` (or, the first
time, a superuser: migration 0016 creates the roles) before the services start; the services
then connect as their own roles and find nothing to do.

For scripted environments (docker-compose, CI) it also creates each service's login when its
password is in the environment: ``WINBACK_ROUTER_DB_PASSWORD`` makes (or re-passwords) the login
``winback_router_login`` in role ``winback_router``, ``WINBACK_NOTIFIER_DB_PASSWORD`` likewise.
A DBA managing logins by hand sets neither (docs/operations.md, "Database roles").

``--wait SECONDS`` applies nothing: it waits until the database has every migration this
release ships, as whatever role ``DATABASE_URL`` names, and exits 1 if that takes longer. The
Kubernetes manifests run it as each service's init container, so a rolling update starts the
new pods only once the migration Job has finished (deploy/k8s/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time

import asyncpg

from winback_shared.db import one_connection
from winback_shared.db_roles import SERVICE_ROLES, ensure_login, login_name
from winback_shared.logs import configure_logging
from winback_shared.migrations import apply_migrations, pending_migrations
from winback_shared.partitions import ensure_partitions
from winback_shared.settings import CommonSettings

log = logging.getLogger("winback_shared.migrations")


async def _migrate(database_url: str, passwords: dict[str, str]) -> list[int]:
    async with one_connection(database_url) as conn:
        applied = await apply_migrations(conn)
        await ensure_partitions(conn)
        for service, password in passwords.items():
            role = SERVICE_ROLES[service]
            await ensure_login(conn, login_name(role), role, password)
            log.info("service login ready", extra={"fields": {"login": login_name(role)}})
        return applied


async def wait_until_current(database_url: str, timeout: float, poll: float = 2.0) -> bool:
    """Poll until nothing is pending; True when current, False when ``timeout`` ran out.

    A database that refuses connections (still starting) counts as pending, not as an error.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with one_connection(database_url) as conn:
                pending = await pending_migrations(conn)
        except (OSError, asyncpg.PostgresError) as error:
            pending = [f"database not answering: {error}"]
        if not pending:
            return True
        if time.monotonic() >= deadline:
            log.error("migrations still pending", extra={"fields": {"pending": pending}})
            return False
        log.info("waiting for migrations", extra={"fields": {"pending": pending}})
        await asyncio.sleep(poll)


def main(argv: list[str] | None = None) -> None:
    """Apply what is pending and say which versions ran (or, with ``--wait``, wait for it)."""
    parser = argparse.ArgumentParser(prog="python -m winback_shared.migrations")
    parser.add_argument(
        "--wait",
        type=float,
        metavar="SECONDS",
        help="apply nothing; wait until the schema is current (exit 1 after SECONDS)",
    )
    args = parser.parse_args(argv)
    settings = CommonSettings()
    configure_logging(settings.log_level)
    if args.wait is not None:
        sys.exit(0 if asyncio.run(wait_until_current(settings.database_url, args.wait)) else 1)
    passwords = {
        service: os.environ[variable]
        for service in SERVICE_ROLES
        if os.environ.get(variable := f"WINBACK_{service.upper()}_DB_PASSWORD")
    }
    applied = asyncio.run(_migrate(settings.database_url, passwords))
    log.info("migrations done", extra={"fields": {"applied": applied}})


if __name__ == "__main__":
    main()
