"""SQL migrations, applied at service start-up: numbered ones once each, then repeatable ones.

**Numbered** files, ``NNNN_description.sql``, change the schema: each runs once, in order, in
its own transaction, recorded in ``schema_migrations``. Never edit one that has shipped.

**Repeatable** files, ``repeatable/<name>.sql``, define the views and SQL functions, each in
one place, so a change to a view is a diff of that view rather than a new full copy of it in a
new migration. Each file must be safe to run again (``DROP VIEW IF EXISTS`` then ``CREATE
VIEW``, ``CREATE OR REPLACE FUNCTION``). After the numbered migrations, all of them are run
again, in name order and in one transaction, when any file's content differs from the checksum
recorded in ``schema_repeatables`` (a file added, changed or removed) or a numbered migration
was just applied (it may have dropped a view to alter a table); otherwise nothing runs. Views
that depend on each other go in one file, since a view cannot be dropped under another.

What a numbered migration from 0008 on may not do is ``CREATE`` an object a repeatable file
defines: the repeatable file would overwrite it right after (a test checks this). Removing a
view or function is a numbered migration that drops it plus deleting its repeatable file.

A session advisory lock serialises every caller, so several services may start at once: the
first applies, the others find nothing left to do. A service whose code knows fewer numbered
migrations than the database has applied (an older release during a rolling upgrade) leaves the
repeatable files alone, so it never puts back views a newer release replaced.

**Who runs them**: from migration 0016 on, the schema belongs to the NOLOGIN role
``winback_owner`` (0016 creates the roles and hands every object over). Each later migration
and the repeatable files run under ``SET LOCAL ROLE winback_owner`` (once 0016 gave it the
schema), so whatever they create
is the owner's whoever logged in (a superuser, or a migration login that is a member of the
owner). A service role finds nothing pending and needs no DDL: the bookkeeping tables are only
created when missing, and reading them is granted to every role.

Why not Alembic: it brings SQLAlchemy into every service only to run DDL; plain SQL files and
this runner are the whole need, and they stay readable by any DBA.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from winback_shared.db import Connection
from winback_shared.db_roles import OWNER_ROLE, connected_role

log = logging.getLogger(__name__)

_LOCK_KEY = 0x77696E6261636B  # "winback"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_REPEATABLE_NAME = re.compile(r"^([a-z0-9_]+)\.sql$")
REPEATABLE_DIR = "repeatable"


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


@dataclass(frozen=True)
class Repeatable:
    """One repeatable SQL file: views or functions, re-applied when their definition changes."""

    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """What tells a changed file from the one last applied."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    """All numbered migrations shipped with the package, in version order."""
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


def available_repeatables() -> list[Repeatable]:
    """All repeatable files shipped with the package, in name order (the order they run in)."""
    found = []
    for entry in (resources.files(__name__) / REPEATABLE_DIR).iterdir():
        match = _REPEATABLE_NAME.match(entry.name)
        if match:
            found.append(Repeatable(match[1], entry.read_text()))
    return sorted(found, key=lambda r: r.name)


async def apply_migrations(
    conn: Connection, repeatables: Sequence[Repeatable] | None = None
) -> list[int]:
    """Apply the numbered migrations missing, then the repeatable files if they changed;
    returns the versions applied now.

    ``repeatables`` defaults to the shipped files (tests pass their own). A session advisory
    lock serialises concurrent callers (even the bookkeeping tables' ``CREATE TABLE IF NOT
    EXISTS`` races without it); each numbered migration commits on its own.
    """
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await _create_bookkeeping(conn)
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        shipped = available_migrations()
        applied_now = []
        for migration in shipped:
            if migration.version in done:
                continue
            async with conn.transaction():
                await _act_as_owner(conn)
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied_now.append(migration.version)
            log.info("migration applied", extra={"fields": {"version": migration.version}})
        unknown = sorted(done - {m.version for m in shipped})
        if unknown:
            log.warning(
                "the database has migrations this release does not know; repeatable files left"
                " as they are",
                extra={"fields": {"unknown_versions": unknown}},
            )
        else:
            wanted = available_repeatables() if repeatables is None else list(repeatables)
            await _apply_repeatables(conn, wanted, after_migration=bool(applied_now))
        return applied_now
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def pending_migrations(conn: Connection) -> list[str]:
    """What :func:`apply_migrations` would do now, without doing it: one entry per numbered
    version missing, plus ``"repeatables"`` when the shipped views and functions differ.

    Read-only, so a service role may ask; a deployment waits on it (``--wait``) until the
    migration job has run, instead of starting and failing on a schema it cannot migrate.
    """
    exists = await conn.fetchval(
        "SELECT to_regclass('schema_migrations') IS NOT NULL"
        " AND to_regclass('schema_repeatables') IS NOT NULL"
    )
    if not exists:
        return [f"{m.version:04d}" for m in available_migrations()] + ["repeatables"]
    done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    pending = [f"{m.version:04d}" for m in available_migrations() if m.version not in done]
    recorded = {
        r["name"]: r["checksum"]
        for r in await conn.fetch("SELECT name, checksum FROM schema_repeatables")
    }
    if recorded != {r.name: r.checksum for r in available_repeatables()}:
        pending.append("repeatables")
    return pending


async def _create_bookkeeping(conn: Connection) -> None:
    """Create the bookkeeping tables if missing: only then, so a role without DDL may call."""
    missing = await conn.fetchval(
        "SELECT to_regclass('schema_migrations') IS NULL"
        " OR to_regclass('schema_repeatables') IS NULL"
    )
    if missing:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE IF NOT EXISTS schema_repeatables (
                name text PRIMARY KEY,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )


async def _act_as_owner(conn: Connection) -> None:
    """Run the rest of this transaction as the owner role, so what it creates is the owner's.

    Only once migration 0016 has handed this schema's objects to the owner (the bookkeeping
    table is then the owner's; the role alone may exist already, made for another schema):
    before, and for a caller that is not a member, the caller goes on as itself.
    """
    owns_schema = await conn.fetchval(
        "SELECT pg_get_userbyid(relowner) = $1 FROM pg_class"
        " WHERE oid = to_regclass('schema_migrations')",
        OWNER_ROLE,
    )
    if owns_schema and (await connected_role(conn)).owner:
        await conn.execute(f"SET LOCAL ROLE {OWNER_ROLE}")


async def _apply_repeatables(
    conn: Connection, repeatables: list[Repeatable], *, after_migration: bool
) -> None:
    """Run every repeatable file if any changed (or a migration just ran), in one transaction."""
    recorded = {
        r["name"]: r["checksum"]
        for r in await conn.fetch("SELECT name, checksum FROM schema_repeatables")
    }
    if not after_migration and recorded == {r.name: r.checksum for r in repeatables}:
        return
    async with conn.transaction():
        await _act_as_owner(conn)
        for repeatable in repeatables:
            await conn.execute(repeatable.sql)
        await conn.execute("DELETE FROM schema_repeatables")
        await conn.executemany(
            "INSERT INTO schema_repeatables (name, checksum) VALUES ($1, $2)",
            [(r.name, r.checksum) for r in repeatables],
        )
    log.info(
        "repeatable migrations applied",
        extra={"fields": {"files": [r.name for r in repeatables]}},
    )
