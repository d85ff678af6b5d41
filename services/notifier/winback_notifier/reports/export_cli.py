"""``python -m winback_notifier.reports export``: the BI export to a file, with a progress bar.

    export --format csv|parquet --out FILE [--since T] [--until T] [--queue Q ...] [--reason R ...]

The same rows and columns as ``GET /api/ops/export``, read from ``DATABASE_URL``. The bar is
``tqdm``'s (one small pure-Python wheel, on stderr, quiet when stderr is not a terminal unless
asked): a hand-written one would need its own rate and ETA arithmetic, and ``rich`` brings a
rendering engine (and two more packages) for one line of text. Its total is counted first, so a
case opened during the export can take the bar a little past 100%.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg
from tqdm import tqdm

from winback_notifier.reports.export import (
    DEFAULT_BATCH_ROWS,
    build_filter,
    case_batches,
    count_cases,
    filter_problems,
)
from winback_notifier.reports.export_formats import ExportFormat, encode
from winback_notifier.settings import NotifierSettings
from winback_shared.db import create_pool
from winback_shared.taxonomy import load_taxonomy


def add_export_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    moment: Callable[[str], datetime],
) -> None:
    """Add ``export`` to the reports CLI."""
    export = commands.add_parser(
        "export", help="cases with timings, reasons and resolution as CSV or Parquet"
    )
    export.add_argument("--format", type=ExportFormat, choices=list(ExportFormat), default="csv")
    export.add_argument("--out", type=Path, required=True, help="file to write ('-': stdout)")
    export.add_argument("--since", type=moment, help="cases opened from (default: 30 days ago)")
    export.add_argument("--until", type=moment, help="cases opened before (default: now)")
    export.add_argument("--queue", action="append", default=[], help="only this queue (repeat)")
    export.add_argument("--reason", action="append", default=[], help="only this coded reason")
    export.add_argument(
        "--batch-rows", type=int, default=DEFAULT_BATCH_ROWS, help=argparse.SUPPRESS
    )
    export.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the bar (default: when stderr is a terminal)",
    )


class _Progress:
    """Counts rows as batches pass, and moves the bar (a disabled tqdm counts nothing)."""

    def __init__(self, bar: tqdm[Any]) -> None:
        self.bar = bar
        self.rows = 0

    async def count(
        self, batches: AsyncIterator[list[asyncpg.Record]]
    ) -> AsyncIterator[list[asyncpg.Record]]:
        async for rows in batches:
            self.rows += len(rows)
            self.bar.update(len(rows))
            yield rows


async def run_export(args: argparse.Namespace, settings: NotifierSettings, out: BinaryIO) -> str:
    """Write the export to ``out``; return a one-line summary (raises ``ValueError`` on a bad
    filter)."""
    where = build_filter(args.since, args.until, args.queue, args.reason)
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        problems = await filter_problems(pool, where, load_taxonomy(settings.taxonomy_path))
        if problems:
            raise ValueError("; ".join(problems))
        total = await count_cases(pool, where)
        show = sys.stderr.isatty() if args.progress is None else args.progress
        with tqdm(total=total, unit="case", disable=not show, file=sys.stderr) as bar:
            progress = _Progress(bar)
            batches = progress.count(case_batches(pool, where, batch_rows=args.batch_rows))
            async for chunk in encode(args.format, batches):
                out.write(chunk)
    finally:
        await pool.close()
    window = f"{where.since:%Y-%m-%d %H:%M} to {where.until:%Y-%m-%d %H:%M} UTC"
    return f"{progress.rows} cases opened {window} written as {args.format.value}"


def export_to(args: argparse.Namespace, settings: NotifierSettings) -> int:
    """Run ``export``: the file, then a summary on stderr; exit status 2 on a bad filter."""
    try:
        if str(args.out) == "-":
            summary = asyncio.run(run_export(args, settings, sys.stdout.buffer))
        else:
            with args.out.open("wb") as out:
                summary = asyncio.run(run_export(args, settings, out))
    except ValueError as error:
        if str(args.out) != "-":
            args.out.unlink(missing_ok=True)  # no empty file that looks like a quiet month
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary, file=sys.stderr)
    return 0
