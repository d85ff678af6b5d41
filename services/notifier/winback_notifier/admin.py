"""``python -m winback_notifier.admin issue-token --name NAME [--role ROLE]``.

Creates the agent if new and prints a fresh token (the only time it is shown). Works wherever
the notifier image runs, e.g. ``docker compose run --rm notifier python -m winback_notifier.admin
issue-token --name dana``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from winback_shared.agents import Role, issue_token
from winback_shared.db import create_pool
from winback_shared.migrations import apply_migrations
from winback_shared.settings import CommonSettings


async def _issue(settings: CommonSettings, name: str, role: Role) -> str:
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            _, token = await issue_token(conn, name=name, role=role)
        return token
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="winback_notifier.admin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue-token", help="create an agent or give it a new token")
    issue.add_argument("--name", required=True)
    issue.add_argument("--role", type=Role, choices=list(Role), default=Role.AGENT)
    args = parser.parse_args(argv)
    token = asyncio.run(_issue(CommonSettings(), args.name, args.role))
    print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
