"""PostgreSQL connection pools.

Every pool gets ``search_path`` from the URL's query (asyncpg passes unknown query parameters as
server settings), which is how tests give each test its own schema.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
"""A connection, bare or borrowed from a pool; service functions accept either."""


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Decode jsonb as Python objects so callers never juggle JSON strings."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """No reset query on release (asyncpg itself still rolls back an open transaction)."""


async def create_pool(
    database_url: str, *, min_size: int = 1, max_size: int = 10, reset_session: bool = True
) -> asyncpg.Pool:
    """Open a pool with the project's codecs.

    ``reset_session=False`` skips asyncpg's reset query on every release (advisory locks
    released, cursors closed, ``UNLISTEN *``, ``RESET ALL``): one round trip each time a
    connection goes back. Only for a pool whose users never leave session state behind, such
    as the router's batch store (transactions and plain statements only).
    """
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=None if reset_session else _keep_session,
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def one_connection(database_url: str) -> AsyncIterator[PoolConnectionProxy[asyncpg.Record]]:
    """One connection set up as the services' are (the JSON codecs), for a command's run.

    The command-line tools each need a single connection for a few statements; this is their
    one way to get it and to close it, whatever the command does in between.
    """
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            yield conn
    finally:
        await pool.close()
