"""Versioned SQL migrations, applied in order at service start-up.

Files are named ``NNNN_description.sql``; each runs once, in its own transaction, recorded in
``schema_migrations``. An advisory lock lets several services start at once.

Why not Alembic: it brings SQLAlchemy into every service only to run DDL; plain numbered SQL
files and this runner are the whole need, and they stay readable by any DBA.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

from winback_shared.db import Connection

log = logging.getLogger(__name__)

_LOCK_KEY = 0x77696E6261636B  # "winback"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """All migrations shipped with the package, in version order."""
    found = []
    for entry in resources.files(__name__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return found


async def apply_migrations(conn: Connection) -> list[int]:
    """Apply what is missing; returns the versions applied now.

    A session advisory lock serialises concurrent callers (even the bookkeeping table's
    ``CREATE TABLE IF NOT EXISTS`` races without it); each migration commits on its own.
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied_now = []
        for migration in available_migrations():
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied_now.append(migration.version)
            log.info("migration applied", extra={"fields": {"version": migration.version}})
        return applied_now
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
