"""The schema as it was before a migration: for tests that convert populated tables."""

from __future__ import annotations

import asyncpg
import pytest

from winback_shared import migrations
from winback_shared.migrations import apply_migrations


async def migrate_below(conn: asyncpg.Connection, version: int) -> None:
    """Apply the shipped migrations numbered below ``version`` (and nothing after them), so a
    test can fill the old tables and then watch ``version`` convert them.

    Without today's repeatable files: they define today's views and functions, for today's
    tables (``case_cards`` joins a response on ``response_received_at``, a column of migration
    0032), and a release that stopped before ``version`` never ran them. What the old
    migrations created themselves (views and functions up to 0007, the triggers' functions of
    later ones) stands in for that release's own; the full migration that follows runs today's
    files, as an upgrade does.
    """
    shipped = migrations.available_migrations()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            migrations,
            "available_migrations",
            lambda: [m for m in shipped if m.version < version],
        )
        await apply_migrations(conn, repeatables=[])
