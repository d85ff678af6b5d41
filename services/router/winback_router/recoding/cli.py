"""``python -m winback_router.recoding``: re-code past responses after a taxonomy change.

    [run] [--from-database] [--since WHEN] [--until WHEN] [--source S] [--dry-run] [--json]
        re-code the responses in the window with the taxonomy the routers use
        (WINBACK_TAXONOMY_PATH, or --taxonomy); from Kafka's survey-responses topic by
        default, from the stored responses with --from-database
    blind-spots [--since WHEN] [--until WHEN] [--source S] [--cases-only] [--recent N] [--json]
        how many responses matched no code, per source, with recent unmatched texts
        (--cases-only: among responses that needed recovery)
    runs [--limit N]            past runs, newest first
    show RUN [--limit N]        what one run changed, response by response

WHEN is an ISO date or time (UTC unless it says otherwise) or an age: 30m, 12h, 7d.

Re-coding updates each response's codes and, for an open case, records a 'recoded' entry in
its history, which the notifiers push to the consoles showing the case as a quiet update (no
pop-up). It never opens a case, never alerts and never changes a case's priority or queue;
running it twice with the same taxonomy changes nothing the second time. Progress goes
to stderr, the summary to stdout. Exit status 1 means some responses could not be read back
from their vendor's API: run again later.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from winback_router.adapters import AdapterContext
from winback_router.adapters.vendor_api import VendorApiClient
from winback_router.coding.compiler import load_and_compile
from winback_router.recoding.blind_spots import blind_spots
from winback_router.recoding.flow import recode
from winback_router.recoding.replay import KafkaReplay, Window
from winback_router.recoding.report import Summary
from winback_router.recoding.store import recent_runs, run_changes
from winback_router.settings import RouterSettings
from winback_shared.db import create_pool
from winback_shared.logs import configure_logging
from winback_shared.migrations import apply_migrations
from winback_shared.taxonomy import TaxonomyError

COMMANDS = ("run", "blind-spots", "runs", "show")
_AGE = re.compile(r"^(\d+)([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO date or time (naive means UTC), or an age such as ``7d`` before ``now``."""
    age = _AGE.match(text.strip())
    if age:
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[age[2]]: int(age[1])})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an ISO date/time nor an age like 30m, 12h, 7d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _progress(summary: Summary) -> None:
    replay = summary.replay
    unit = "records" if summary.replay_source == "kafka" else "responses"
    print(
        f"recode: {replay.records_read}/{replay.records_total} {unit} read,"
        f" {summary.responses_seen} responses seen,"
        f" {summary.responses_changed} {'would change' if summary.dry_run else 'changed'}",
        file=sys.stderr,
        flush=True,
    )


async def _recode(args: argparse.Namespace, settings: RouterSettings, pool: asyncpg.Pool) -> int:
    try:
        # The codes a response ends with: the refiner's model, not the router's fast one.
        model = None if args.no_model else settings.refine_model
        taxonomy = load_and_compile(args.taxonomy or settings.taxonomy_path, model)
    except TaxonomyError as exc:
        print(exc, file=sys.stderr)
        return 2
    window = Window(since=args.since, until=args.until, source=args.source)
    if not args.dry_run:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
    vendor_api = VendorApiClient()
    try:
        kafka = (
            None
            if args.from_database
            else KafkaReplay(
                bootstrap_servers=settings.kafka_bootstrap_servers,
                topic=settings.topics.survey_responses,
                sources=settings.sources,
                context=AdapterContext(api=vendor_api),
            )
        )
        summary = await recode(
            pool=pool,
            taxonomy=taxonomy,
            window=window,
            kafka=kafka,
            dry_run=args.dry_run,
            progress=_progress,
        )
    finally:
        await vendor_api.aclose()
    print(json.dumps(summary.as_json(), indent=2) if args.json else summary.render())
    return 1 if summary.replay.unresolved else 0


async def _blind_spots(args: argparse.Namespace, pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        await apply_migrations(conn)
        report = await blind_spots(
            conn,
            since=args.since,
            until=args.until,
            source=args.source,
            cases_only=args.cases_only,
            recent=args.recent,
        )
    print(json.dumps(report.as_json(), indent=2) if args.json else report.render())
    return 0


async def _runs(args: argparse.Namespace, pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        await apply_migrations(conn)
        if args.command == "runs":
            rows = await recent_runs(conn, limit=args.limit)
            print(
                f"{'run':>5}  {'started (UTC)':19}  {'status':8}  {'from':8}  taxonomy"
                f"          {'seen':>7} {'changed':>7} {'cases':>6}"
            )
            for row in rows:
                print(
                    f"{row['id']:>5}  {row['started_at']:%Y-%m-%d %H:%M:%S}  {row['status']:8}"
                    f"  {row['replay_source']:8}  {row['taxonomy_sha256'][:16]}"
                    f"  {row['responses_seen']:>7} {row['responses_changed']:>7}"
                    f" {row['cases_recoded']:>6}"
                )
            return 0
        changes = await run_changes(conn, args.run, limit=args.limit)
    for row in changes:
        case = f"case {row['case_id']}" if row["case_id"] is not None else "no case"
        print(
            f"{row['changed_at']:%Y-%m-%d %H:%M:%S}  {row['source']}/{row['response_id']}"
            f"  +{','.join(row['codes_added']) or '-'}  -{','.join(row['codes_removed']) or '-'}"
            f"  {case}"
        )
    if not changes:
        print(f"run {args.run} changed nothing (or does not exist)")
    return 0


async def run(argv: list[str], settings: RouterSettings) -> int:
    """Parse ``argv`` and do it against the infrastructure ``settings`` name."""
    args = parse_args(argv)
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        if args.command == "run":
            return await _recode(args, settings, pool)
        if args.command == "blind-spots":
            return await _blind_spots(args, pool)
        return await _runs(args, pool)
    finally:
        await pool.close()


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; ``run`` is the default command, so ``recode --dry-run`` works."""
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        argv = ["run", *argv]
    parser = argparse.ArgumentParser(
        prog="winback_router.recoding",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    recoding = commands.add_parser("run", help="re-code past responses (the default)")
    recoding.add_argument(
        "--from-database",
        action="store_true",
        help="re-code the stored responses instead of those on the Kafka topic",
    )
    recoding.add_argument("--dry-run", action="store_true", help="report, write nothing")
    recoding.add_argument(
        "--taxonomy", type=Path, help="taxonomy file (default: WINBACK_TAXONOMY_PATH)"
    )
    recoding.add_argument(
        "--no-model",
        action="store_true",
        help="code with the rules alone (a taxonomy with other codes than the model's needs it"
        " until the model is re-trained)",
    )
    for command in (recoding, commands.add_parser("blind-spots", help="unclassified counts")):
        command.add_argument("--since", type=parse_when, help="received at or after WHEN")
        command.add_argument("--until", type=parse_when, help="received before WHEN")
        command.add_argument("--source", help="only this source")
        command.add_argument("--json", action="store_true")
    spots = commands.choices["blind-spots"]
    spots.add_argument("--recent", type=int, default=20, help="how many recent texts to show")
    spots.add_argument(
        "--cases-only", action="store_true", help="only responses that needed recovery"
    )
    commands.add_parser("runs", help="past runs").add_argument("--limit", type=int, default=20)
    show = commands.add_parser("show", help="what one run changed")
    show.add_argument("run", type=int)
    show.add_argument("--limit", type=int, default=200)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    configure_logging("WARNING")
    return asyncio.run(run(sys.argv[1:] if argv is None else argv, RouterSettings()))
