"""``python -m winback_router.dead_letters``: list, inspect and replay dead letters.

    list [--source S] [--all] [--json]   pending dead letters (with --all, replayed ones too)
    show ID                              one dead letter with its error and original body
    replay ID... | --source S            put them back on the input topic

Replay after fixing what made them fail (the adapter, or the source's field map in
``WINBACK_SOURCES_FILE``) and restarting the routers; a replay that fails again becomes a new
dead letter pointing at the old one. The same actions exist at the router's ``/ops`` endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from winback_router.dead_letters.store import (
    DeadLetter,
    get_dead_letter,
    list_dead_letters,
    replay_dead_letters,
)
from winback_shared.db import create_pool
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.kafka import reliable_producer
from winback_shared.migrations import apply_migrations
from winback_shared.settings import CommonSettings


def _table(letters: Sequence[DeadLetter]) -> str:
    if not letters:
        return "no dead letters"
    lines = [f"{'id':>6}  {'created (UTC)':19}  {'source':16}  {'vendor':12}  error"]
    for letter in letters:
        created = letter.created_at.strftime("%Y-%m-%d %H:%M:%S")
        replayed = " [replayed]" if letter.replayed_at else ""
        lines.append(
            f"{letter.id:>6}  {created:19}  {letter.source or '-':16.16}  "
            f"{letter.vendor or '-':12.12}  {letter.error[:90]}{replayed}"
        )
    return "\n".join(lines)


async def _run(args: argparse.Namespace, settings: CommonSettings) -> int:
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
        if args.command == "list":
            letters = await list_dead_letters(
                pool, pending_only=not args.all, source=args.source, limit=args.limit
            )
            print(
                json.dumps([letter.as_json() for letter in letters], indent=2)
                if args.json
                else _table(letters)
            )
            return 0
        if args.command == "show":
            found = await get_dead_letter(pool, args.id)
            if found is None:
                print(f"no dead letter {args.id}", file=sys.stderr)
                return 1
            letter, record = found
            print(json.dumps(letter.as_json(), indent=2))
            try:
                print("body:", SurveyReceived.from_bytes(record).body)
            except ValueError:
                print("record (not an envelope):", record.decode(errors="replace"))
            return 0
        ids = list(args.ids)
        if not ids:
            if args.source is None:
                print("give dead letter ids or --source", file=sys.stderr)
                return 2
            ids = [
                letter.id
                for letter in await list_dead_letters(pool, source=args.source, limit=100_000)
            ]
        producer = reliable_producer(settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            total = len(ids)
            replayed: list[int] = []
            for start in range(0, total, 500):
                replayed += await replay_dead_letters(
                    pool, producer, settings.topics.survey_responses, ids[start : start + 500]
                )
                print(f"replayed {len(replayed)}/{total}", file=sys.stderr)
        finally:
            await producer.stop()
        missing = sorted(set(ids) - set(replayed))
        print(
            f"replayed {len(replayed)} dead letter(s)"
            + (f"; not found: {missing}" if missing else "")
        )
        return 1 if missing else 0
    finally:
        await pool.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(
        prog="winback_router.dead_letters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="list dead letters, newest first")
    listing.add_argument("--source")
    listing.add_argument("--all", action="store_true", help="include replayed ones")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    show = commands.add_parser("show", help="one dead letter with its original body")
    show.add_argument("id", type=int)
    replay = commands.add_parser("replay", help="put dead letters back on the input topic")
    replay.add_argument("ids", type=int, nargs="*")
    replay.add_argument("--source", help="every pending dead letter of this source")
    args = parser.parse_args(argv)
    return asyncio.run(_run(args, CommonSettings()))
