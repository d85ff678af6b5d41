"""Changing a case from start to finish: commit the change, then publish it.

The order is the outbox's contract (see :mod:`winback_notifier.cases.publisher`): PostgreSQL
first, so a change is never announced that did not happen; Kafka after the commit, and if Kafka
fails the outbox sweep sends it later. Every writer in the notifier goes through here: the case
API for agents' actions, the SLA scheduler for timers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from winback_notifier.cases.publisher import CaseEventPublisher
from winback_notifier.cases.service import Change
from winback_shared.db import Connection

ChangeT = TypeVar("ChangeT", Change, Change | None)


async def commit_and_publish(
    pool: asyncpg.Pool,
    publisher: CaseEventPublisher,
    write: Callable[[Connection], Awaitable[ChangeT]],
) -> ChangeT:
    """Run ``write`` on a connection of ``pool`` (it commits its own transaction), then publish
    the change it made, if any. A refusal raised by ``write`` publishes nothing."""
    async with pool.acquire() as conn:
        change = await write(conn)
    if change is not None:
        await publisher.publish(change)
    return change
