"""The run's own PostgreSQL server writes without waiting for the disk (``tests/run_servers.py``);
a server named by ``DATABASE_URL`` is someone else's and is left as it is."""

from __future__ import annotations

import os

import asyncpg
import pytest

from tests.run_servers import THROWAWAY_SERVER_SETTINGS
from tests.support import eventually


async def test_the_runs_own_server_does_not_wait_for_the_disk(database_url: str) -> None:
    if os.environ.get("DATABASE_URL"):
        pytest.skip("DATABASE_URL names a server this run did not start: its settings stay")

    async def settings() -> dict[str, str]:
        conn = await asyncpg.connect(database_url)  # a new session reads the reloaded file
        try:
            return {name: await conn.fetchval(f"SHOW {name}") for name in THROWAWAY_SERVER_SETTINGS}
        finally:
            await conn.close()

    async def applied() -> bool:
        return await settings() == THROWAWAY_SERVER_SETTINGS

    assert await eventually(applied), await settings()
