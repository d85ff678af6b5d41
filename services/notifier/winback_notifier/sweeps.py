"""Running an outbox sweep forever: the loop both outboxes (case changes, agent changes) share.

A sweep that fails transiently (Kafka or PostgreSQL away, see :mod:`winback_shared.transient`)
is logged as a warning and tried again next round: whatever it did not send stays in its table,
so waiting is always safe. Any other error is a bug that the next round would meet again, so it
ends the loop; the app's loop watch (:mod:`winback_shared.loops`) logs it at error and stops
the notifier rather than let it run on with an outbox nobody sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from winback_shared.transient import is_transient

log = logging.getLogger("winback.notifier")


async def sweep_forever(
    sweep: Callable[[], Awaitable[int]], interval: float, *, what: str, done: str = "sent late"
) -> None:
    """Call ``sweep`` every ``interval`` seconds until cancelled; ``what`` names it in logs,
    and ``done`` says what happened to the items a round counted (``"<what> <done>"``).

    Raises the first error that is not transient.
    """
    while True:
        await asyncio.sleep(interval)
        try:
            count = await sweep()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(f"{what} sweep failed", extra={"fields": {"error": repr(exc)}})
            continue
        if count:
            log.info(f"{what} {done}", extra={"fields": {"count": count}})
