"""``python -m winback_shared.retention [--dry-run] [--keep-months N] [--archive-dir DIR]``.

Run it as a login in the role ``winback_retention`` (``DATABASE_URL``), daily from cron or a
Kubernetes CronJob; see docs/operations.md ("Retention"). Exit code 0 when every expired
month was archived and removed (or, with ``--dry-run``, listed), 1 when one was not.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Annotated

from pydantic import Field

from winback_shared.db import one_connection
from winback_shared.logs import configure_logging
from winback_shared.retention.job import Settings, run
from winback_shared.settings import CommonSettings


class RetentionSettings(CommonSettings):
    """``WINBACK_RETENTION_HISTORY_MONTHS``, ``WINBACK_RETENTION_ARCHIVE_DIR``."""

    retention_history_months: Annotated[int, Field(ge=1)] = 25
    """Full months of history kept before the current one (25: two years back, plus a month
    of margin for a complaint about the oldest of them)."""
    retention_archive_dir: Path | None = None


async def _run(database_url: str, settings: Settings) -> int:
    try:
        async with one_connection(database_url) as conn:
            await run(conn, settings)
    except Exception as error:  # one line for cron's mail, then exit 1
        print(f"retention stopped: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(
        prog="winback_shared.retention",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dry-run", action="store_true", help="list; archive and remove nothing")
    parser.add_argument("--keep-months", type=int, help="WINBACK_RETENTION_HISTORY_MONTHS")
    parser.add_argument("--archive-dir", type=Path, help="WINBACK_RETENTION_ARCHIVE_DIR")
    args = parser.parse_args(argv)
    env = RetentionSettings()
    configure_logging(env.log_level)
    settings = Settings(
        keep_months=args.keep_months or env.retention_history_months,
        archive_dir=args.archive_dir or env.retention_archive_dir,
        dry_run=args.dry_run,
    )
    return asyncio.run(_run(env.database_url, settings))


if __name__ == "__main__":
    sys.exit(main())
