"""Test schemas dropped behind the run rather than at each test's end.

``DROP SCHEMA ... CASCADE`` of a migrated schema (some two hundred tables, partitions,
functions and grants) keeps a test's teardown waiting on the server for about as long as
filling it did. Nothing a later test does depends on an earlier test's schema being gone (each
has its own, by a name never reused), so while a run has a :class:`SchemaDropper` the drops
are queued and done one after another on its loop while the next tests run. The run waits for
the last of them before it ends, and a drop that failed fails the run there, as it would have
failed its test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

_active: dict[str, SchemaDropper] = {}
"""The dropper of each database URL whose run has one."""


class SchemaDropper:
    """Drops the schemas it is given, in order, on the loop it was made on."""

    def __init__(self, database_url: str) -> None:
        """Drops go to ``database_url`` (the server's URL, as the tests' schemas are made)."""
        self._url = database_url
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._failures: list[tuple[str, BaseException]] = []
        self._worker = self._loop.create_task(self._drop_all())

    def takes_drops_here(self) -> bool:
        """Whether a drop asked for now would run (it runs only on the dropper's loop)."""
        try:
            return asyncio.get_running_loop() is self._loop and not self._worker.done()
        except RuntimeError:
            return False

    def drop_later(self, schema: str) -> None:
        """Queue ``schema`` to be dropped (``IF EXISTS``, with everything in it)."""
        self._queue.put_nowait(schema)

    async def close(self) -> None:
        """Wait for every queued drop; raise if any failed."""
        self._queue.put_nowait(None)
        await self._worker
        if self._failures:
            schema, error = self._failures[0]
            raise RuntimeError(
                f"{len(self._failures)} test schema(s) could not be dropped, {schema} first"
            ) from error

    async def _drop_all(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while (schema := await self._queue.get()) is not None:
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(self._url)
                    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                except Exception as error:  # kept for close() to raise; the next drops go on
                    self._failures.append((schema, error))
        finally:
            if conn is not None:
                await conn.close()


@asynccontextmanager
async def drops_behind(database_url: str) -> AsyncIterator[None]:
    """Inside, :func:`drop_schema` queues drops on ``database_url`` instead of waiting for them;
    on the way out, every queued drop is waited for."""
    dropper = SchemaDropper(database_url)
    _active[database_url] = dropper
    try:
        yield
    finally:
        del _active[database_url]
        await dropper.close()


async def drop_schema(database_url: str, schema: str) -> None:
    """Drop ``schema``: queued if the run drops behind on this loop, else at once."""
    dropper = _active.get(database_url)
    if dropper is not None and dropper.takes_drops_here():
        dropper.drop_later(schema)
        return
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()
