"""``python -m winback_notifier.outbound``: run the outbound process, or manage subscriptions.

    (no command) | serve                                    run the outbound process
    subscribe NAME --channel webhook|slack|teams|pagerduty|email|zendesk --url URL
              --event TYPE [...] [--queue Q ...] [--max-priority N] [--max-in-flight N]
              [--credential C] [--signing-secret S]
                                                            prints the webhook's secret, once
    list                                                    subscriptions (never their secrets)
    rotate-secret NAME                                      add a new secret (prints it, once)
    retire-old-secrets NAME                                 keep only the newest secret
    zendesk-signing-secret NAME SECRET                      the Zendesk webhook's secret
    pause NAME | resume NAME | delete NAME
    rotate-secrets                                          seal every stored secret again with
                                                            the first WINBACK_OUTBOUND_SECRET_KEYS
    deliveries NAME [--status pending|delivered|dead]       newest first
    replay NAME [--id ID ...]                               dead deliveries sent again

Event types: case.opened, case.claimed, case.breached, case.resolved, case.closed,
case.recoded, and queue.unwatched / queue.watched (no console watches a queue while P1 cases
wait / it is covered again). Only PostgreSQL is needed for the management commands; the
running outbound process picks changes up within ``WINBACK_OUTBOUND_POLL_SECONDS``. The same
operations are in the notifier's admin API under ``/api/admin/outbound``. URLs are judged by
the target policy and secrets sealed with the keys of the ``WINBACK_OUTBOUND_*`` settings
(``docs/outbound.md``), as in the admin API.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

from winback_notifier.outbound import service, store
from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.sealing import SealError
from winback_notifier.outbound.settings import OutboundSettings
from winback_notifier.outbound.subscriptions import Channel, EndpointError
from winback_shared.db import Connection, one_connection


class CommandError(Exception):
    """A command that cannot be carried out; its message is printed, exit code 1."""


def _found(ok: bool, name: str, done: str) -> str:
    if not ok:
        raise CommandError(f"there is no subscription {name!r}")
    return f"{name}: {done}"


async def _subscribe(conn: Connection, args: argparse.Namespace) -> str:
    try:
        subscription, secret = await service.subscribe(
            conn,
            name=args.name,
            channel=args.channel,
            url=args.url,
            event_types=args.event,
            queues=args.queue or (),
            max_priority=args.max_priority,
            max_in_flight=args.max_in_flight,
            credential=args.credential,
            signing_secret=args.signing_secret,
            policy=args.settings.target_policy(),
            box=args.settings.secret_box(),
        )
    except (EndpointError, store.DuplicateName, ValueError) as exc:
        raise CommandError(str(exc)) from None
    lines = [f"subscription {subscription.name} created ({subscription.channel})"]
    if secret:
        lines.append(f"secret (shown once; the receiver verifies with it): {secret}")
    return "\n".join(lines)


async def _list(conn: Connection, args: argparse.Namespace) -> str:
    lines = []
    for subscription in await store.list_subscriptions(conn):
        shown = store.subscription_summary(subscription)
        state = "enabled" if shown["enabled"] else "paused"
        lines.append(
            f"{shown['name']} ({shown['channel']}, {state}) {shown['url']}\n"
            f"  events: {', '.join(shown['event_types'])}; queues: "
            f"{', '.join(shown['queues']) or 'all'}; max priority: "
            f"{shown['max_priority'] or 'any'}; secrets: {shown['secrets']}"
        )
    return "\n".join(lines) or "no subscriptions"


async def _rotate(conn: Connection, args: argparse.Namespace) -> str:
    try:
        secret = await service.rotate_secret(conn, args.name, args.settings.secret_box())
    except service.NotAWebhook as exc:
        raise CommandError(str(exc)) from None
    if secret is None:
        raise CommandError(f"there is no subscription {args.name!r}")
    return (
        f"{args.name}: new secret (shown once): {secret}\n"
        "deliveries now carry both signatures; once the receiver uses the new secret, run "
        f"retire-old-secrets {args.name}"
    )


async def _signing_secret(conn: Connection, args: argparse.Namespace) -> str:
    try:
        found = await service.set_zendesk_signing_secret(
            conn, args.name, args.secret, args.settings.secret_box()
        )
    except service.NotZendesk as exc:
        raise CommandError(str(exc)) from None
    return _found(found, args.name, "the Zendesk webhook's signing secret is kept")


async def _retire(conn: Connection, args: argparse.Namespace) -> str:
    try:
        found = await service.retire_old_secrets(conn, args.name)
    except service.NotAWebhook as exc:
        raise CommandError(str(exc)) from None
    return _found(found, args.name, "only the newest secret signs")


async def _pause(conn: Connection, args: argparse.Namespace) -> str:
    return _found(await store.set_enabled(conn, args.name, False), args.name, "paused")


async def _resume(conn: Connection, args: argparse.Namespace) -> str:
    return _found(await store.set_enabled(conn, args.name, True), args.name, "resumed")


async def _delete(conn: Connection, args: argparse.Namespace) -> str:
    return _found(await store.delete_subscription(conn, args.name), args.name, "deleted")


async def _deliveries(conn: Connection, args: argparse.Namespace) -> str:
    rows = await store.list_deliveries(conn, args.name, status=args.status)
    return (
        "\n".join(
            f"{row.id} {row.webhook_id} {row.event_type}"
            + (f" case {row.case_id}" if row.case_id is not None else "")
            + f": {row.status}, "
            f"{row.attempts} attempts" + (f", last: {row.last_error}" if row.last_error else "")
            for row in rows
        )
        or "no deliveries"
    )


async def _replay(conn: Connection, args: argparse.Namespace) -> str:
    count = await store.replay_dead(conn, args.name, args.id)
    return f"{args.name}: {count} dead deliveries queued again"


async def _reseal(conn: Connection, args: argparse.Namespace) -> str:
    try:
        subscriptions, were_clear = await service.reseal_all(conn, args.settings.secret_box())
    except SealError as exc:
        raise CommandError(str(exc)) from None
    return (
        f"{subscriptions} subscriptions sealed with the first key "
        f"({were_clear} values were in clear); keys after the first may now be dropped"
    )


Command = Callable[[Connection, argparse.Namespace], Awaitable[str]]


async def _run(settings: OutboundSettings, command: Command, args: argparse.Namespace) -> str:
    args.settings = settings
    async with one_connection(settings.database_url) as conn:
        if command in (_subscribe, _rotate, _signing_secret):  # they store secrets: as stored
            await service.check_keys(conn, settings.secret_box())
        return await command(conn, args)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    top = argparse.ArgumentParser(
        prog="winback_notifier.outbound",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the outbound process")

    sub = commands.add_parser("subscribe", help="create a subscription")
    sub.add_argument("name")
    sub.add_argument("--channel", type=Channel, choices=list(Channel), required=True)
    sub.add_argument("--url", required=True)
    sub.add_argument(
        "--event", type=EventType, choices=list(EventType), action="append", required=True
    )
    sub.add_argument("--queue", action="append", help="only this queue's cases (repeatable)")
    sub.add_argument("--max-priority", type=int, help="only cases this urgent or more (1: P1)")
    sub.add_argument("--max-in-flight", type=int, default=4)
    sub.add_argument(
        "--credential",
        help="PagerDuty: the routing key; e-mail: the SMTP user's password; Zendesk: API token",
    )
    sub.add_argument("--signing-secret", help="Zendesk: the signing secret of its webhook")
    sub.set_defaults(run=_subscribe)

    signing = commands.add_parser(
        "zendesk-signing-secret", help="keep a Zendesk webhook's signing secret"
    )
    signing.add_argument("name")
    signing.add_argument("secret")
    signing.set_defaults(run=_signing_secret)

    commands.add_parser("list", help="subscriptions").set_defaults(run=_list)
    commands.add_parser(
        "rotate-secrets",
        help="seal every stored secret and URL again with the first WINBACK_OUTBOUND_SECRET_KEYS"
        " key (clear rows too)",
    ).set_defaults(run=_reseal)
    for name, run, about in (
        ("rotate-secret", _rotate, "add a new secret; deliveries carry both signatures"),
        ("retire-old-secrets", _retire, "keep only the newest secret"),
        ("pause", _pause, "stop taking new events"),
        ("resume", _resume, "take events again"),
        ("delete", _delete, "remove the subscription and its deliveries"),
    ):
        command = commands.add_parser(name, help=about)
        command.add_argument("name")
        command.set_defaults(run=run)

    listing = commands.add_parser("deliveries", help="a subscription's deliveries")
    listing.add_argument("name")
    listing.add_argument("--status", choices=["pending", "delivered", "dead"])
    listing.set_defaults(run=_deliveries)

    replay = commands.add_parser("replay", help="send dead deliveries again")
    replay.add_argument("name")
    replay.add_argument("--id", type=int, action="append", help="only this delivery (repeatable)")
    replay.set_defaults(run=_replay)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parser().parse_args(argv)
    if args.command in (None, "serve"):
        # Imported here: the management commands need neither the process's app nor uvicorn
        # (about 0.25 s of a 3.3 s start-up; the rest is the settings, store and metrics).
        from winback_notifier.outbound.serve import serve

        serve()
        return 0
    try:
        output = asyncio.run(_run(OutboundSettings(), args.run, args))
    except (CommandError, SealError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(output)
    return 0
