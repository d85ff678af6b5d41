"""Migrations apply once, in order, even when services start together."""

from __future__ import annotations

import asyncio

import asyncpg

from winback_shared.migrations import apply_migrations, available_migrations


async def test_migrations_apply_once_even_concurrently(schema_url: str) -> None:
    connections = [await asyncpg.connect(schema_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(c) for c in connections))
        again = await apply_migrations(connections[0])
        recorded = await connections[0].fetch("SELECT version FROM schema_migrations ORDER BY 1")
    finally:
        for conn in connections:
            await conn.close()
    versions = [m.version for m in available_migrations()]
    assert sorted(v for applied in results for v in applied) == versions
    assert again == []
    assert [r["version"] for r in recorded] == versions
