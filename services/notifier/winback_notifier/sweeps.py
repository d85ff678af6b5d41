"""Running an outbox sweep forever: the loop both outboxes (case changes, agent changes) share.

A sweep that fails (Kafka or PostgreSQL away) is logged and tried again next round: whatever it
did not send stays in its table, so waiting is always safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from aiokafka.errors import KafkaError

log = logging.getLogger("winback.notifier")

SWEEP_ERRORS = (TimeoutError, KafkaError, OSError, asyncpg.PostgresError)
"""What an outbox may meet when Kafka or PostgreSQL is unavailable; anything else is a bug."""


async def sweep_forever(sweep: Callable[[], Awaitable[int]], interval: float, *, what: str) -> None:
    """Call ``sweep`` every ``interval`` seconds until cancelled; ``what`` names it in logs."""
    while True:
        await asyncio.sleep(interval)
        try:
            count = await sweep()
        except SWEEP_ERRORS as exc:
            log.warning(f"{what} sweep failed", extra={"fields": {"error": repr(exc)}})
            continue
        if count:
            log.info(f"{what} sent late", extra={"fields": {"count": count}})
