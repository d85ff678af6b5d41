"""The run's own PostgreSQL server writes without waiting for the disk (``tests/run_servers.py``);
a server named by ``DATABASE_URL`` is someone else's and is left as it is."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import asyncpg
import pytest

from tests.run_servers import THROWAWAY_SERVER_SETTINGS
from tests.support import eventually
from winback_local.postgres import LocalPostgres


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


@pytest.mark.integration  # a server of its own, not the run's: no fixture marks it
def test_a_setting_the_server_refuses_fails_loudly(tmp_path: Path) -> None:
    server = LocalPostgres(tmp_path / "data", ephemeral=True)
    server.start()
    try:
        with pytest.raises(subprocess.CalledProcessError):
            server.set_system({"fsync": "off", "no_such_setting": "on"})
    finally:
        server.stop()
