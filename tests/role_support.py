"""Services under their own database roles in tests.

Tests connect as the server's superuser (one per run) and get a schema each; a service is put
under its role with ``SET ROLE`` at connection start (the ``role`` setting in the URL's query,
which asyncpg sends as a server setting). That tests the grants exactly: the session acts as the
role for every statement and trigger. What it does not test is logging in with a password,
which the local runner (``make run``) does with real login users.
"""

from __future__ import annotations

import asyncpg

from tests.schema_template import fill_from_template
from winback_shared.migrations import apply_migrations
from winback_shared.urls import with_query

ROUTER = "winback_router"
NOTIFIER = "winback_notifier"
REPORTING = "winback_reporting"
RETENTION = "winback_retention"
OWNER = "winback_owner"


def as_role(database_url: str, role: str) -> str:
    """``database_url`` whose connections act as ``role`` from the start."""
    return with_query(database_url, role=role)


async def migrate_as_owner(database_url: str) -> None:
    """Apply the migrations the way a deployment does before the services start.

    An empty schema is filled from the run's migrated template instead (the same catalog and
    rows, in one transaction: ``tests/schema_template.py``); one holding anything already is
    migrated for real, as a deployment would.
    """
    if await fill_from_template(database_url):
        return
    conn = await asyncpg.connect(database_url)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


async def service_env(infra_env: dict[str, object], role: str) -> dict[str, object]:
    """``infra_env`` for a service running as ``role``: the schema migrated first, as the owner."""
    database_url = str(infra_env["database_url"])
    await migrate_as_owner(database_url)
    return {**infra_env, "database_url": as_role(database_url, role)}
