"""``python -m winback_notifier.agents``: manage agents, tokens and queues from a shell.

    issue-token --name NAME [--role ROLE] [--queue Q ...] [--lifetime-days N]
                                                            create the agent if new, print a token
    create-queue NAME [--description TEXT]
    set-queues --name NAME Q [Q ...]                        replace the agent's memberships
    set-role --name NAME ROLE
    disable --name NAME                                     the agent's token stops working
    list                                                    agents and queues

A token is printed once and never stored in clear. It works for ``--lifetime-days`` (default
``WINBACK_TOKEN_LIFETIME_DAYS``, 30; 0: for ever), then sign-in answers 401 ``token_expired``.
Works wherever the notifier image runs, e.g.
``docker compose run --rm notifier python -m winback_notifier.agents issue-token --name dana``.
The same operations are in the admin API (``/api/admin``) for admins with a token.

Only PostgreSQL is needed. Changes to an existing agent (queues, role, a new token, disable)
still reach its open consoles: triggers record them in the ``agent_changes`` outbox as they
commit, and the running notifiers announce it on Kafka within ``WINBACK_OUTBOX_INTERVAL_SECONDS``
(2 s by default). A console then gets its new queues and role, or is closed if its agent was
disabled or its token replaced.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta

from winback_notifier.settings import NotifierSettings
from winback_shared import agents
from winback_shared.agents import Role
from winback_shared.db import Connection, one_connection
from winback_shared.migrations import apply_migrations
from winback_shared.settings import CommonSettings


class CommandError(Exception):
    """A command that cannot be carried out; its message is printed, exit code 1."""


async def _issue_token(conn: Connection, args: argparse.Namespace) -> str:
    queues = args.queue or None
    if queues:
        await agents.ensure_queues(conn, queues)
    lifetime = timedelta(days=args.lifetime_days) if args.lifetime_days else None
    agent, token = await agents.issue_token(
        conn, name=args.name, role=args.role, queues=queues, lifetime=lifetime
    )
    if queues and set(queues) != agent.queues:
        await agents.set_queues(conn, agent_id=agent.id, queues=queues)
    return token


async def _create_queue(conn: Connection, args: argparse.Namespace) -> str:
    if not await agents.create_queue(conn, name=args.queue_name, description=args.description):
        raise CommandError(f"queue {args.queue_name!r} exists")
    return f"queue {args.queue_name} created"


async def _named(conn: Connection, name: str) -> agents.Agent:
    agent = await agents.find_agent(conn, name)
    if agent is None:
        raise CommandError(f"there is no agent {name!r}")
    return agent


async def _set_queues(conn: Connection, args: argparse.Namespace) -> str:
    agent = await _named(conn, args.name)
    try:
        await agents.set_queues(conn, agent_id=agent.id, queues=args.queues)
    except agents.UnknownQueueError as exc:
        raise CommandError(str(exc)) from None
    return f"{agent.name}: {', '.join(sorted(set(args.queues)))}"


async def _set_role(conn: Connection, args: argparse.Namespace) -> str:
    agent = await _named(conn, args.name)
    await agents.set_role(conn, agent_id=agent.id, role=args.role_value)
    return f"{agent.name}: {args.role_value}"


async def _disable(conn: Connection, args: argparse.Namespace) -> str:
    agent = await _named(conn, args.name)
    await agents.disable_agent(conn, agent_id=agent.id)
    return f"{agent.name} disabled"


async def _list(conn: Connection, args: argparse.Namespace) -> str:
    lines = ["agents:"]
    for agent in await agents.list_agents(conn):
        lines.append(f"  {agent.name} ({agent.role}): {', '.join(sorted(agent.queues)) or '-'}")
    lines.append("queues:")
    for name, description, members in await agents.list_queues(conn):
        about = f" - {description}" if description else ""
        lines.append(f"  {name}{about}: {', '.join(members) or '-'}")
    return "\n".join(lines)


Command = Callable[[Connection, argparse.Namespace], Awaitable[str]]


async def _run(settings: CommonSettings, command: Command, args: argparse.Namespace) -> str:
    async with one_connection(settings.database_url) as conn:
        await apply_migrations(conn)
        return await command(conn, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winback_notifier.agents",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    roles = list(Role)

    issue = commands.add_parser("issue-token", help="create an agent or give it a new token")
    issue.add_argument("--name", required=True)
    issue.add_argument("--role", type=Role, choices=roles, default=Role.AGENT)
    issue.add_argument(
        "--queue", action="append", help="a queue to belong to (repeatable; default: default)"
    )
    issue.add_argument(
        "--lifetime-days",
        type=float,
        default=NotifierSettings().token_lifetime_days,
        help="how long the token works (default: WINBACK_TOKEN_LIFETIME_DAYS or 30; 0: for ever)",
    )
    issue.set_defaults(run=_issue_token)

    queue = commands.add_parser("create-queue", help="create a queue")
    queue.add_argument("queue_name", metavar="NAME")
    queue.add_argument("--description", default="")
    queue.set_defaults(run=_create_queue)

    members = commands.add_parser("set-queues", help="replace an agent's queue memberships")
    members.add_argument("--name", required=True)
    members.add_argument("queues", nargs="+", metavar="QUEUE")
    members.set_defaults(run=_set_queues)

    role = commands.add_parser("set-role", help="change an agent's role")
    role.add_argument("--name", required=True)
    role.add_argument("role_value", type=Role, choices=roles, metavar="ROLE")
    role.set_defaults(run=_set_role)

    disable = commands.add_parser("disable", help="stop an agent's token from working")
    disable.add_argument("--name", required=True)
    disable.set_defaults(run=_disable)

    listing = commands.add_parser("list", help="agents and queues")
    listing.set_defaults(run=_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = _parser().parse_args(argv)
    try:
        output = asyncio.run(_run(CommonSettings(), args.run, args))
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(output)
    return 0
