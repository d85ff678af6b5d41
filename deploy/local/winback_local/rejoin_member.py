"""The consumer ``python -m winback_local.measure group-rejoin`` starts, kills and restarts.

Kept apart from ``measure`` so that it imports little: the figure is the group's rejoin, not
the interpreter's start-up. It is made by the router's own consumer factory, prints the moment
(``time.time()``) it read its first record, then idles until killed.

``python -m winback_local.rejoin_member BOOTSTRAP TOPIC GROUP [INSTANCE_ID]``
"""

from __future__ import annotations

import asyncio
import sys
import time

from winback_shared.kafka import manual_commit_consumer


async def consume(bootstrap: str, topic: str, group: str, instance: str | None) -> None:
    """Join, read one record, say when, idle."""
    member = manual_commit_consumer(bootstrap, topic, group_id=group, group_instance_id=instance)
    await member.start()
    while not await member.getmany(timeout_ms=100):
        pass
    print(f"{time.time():.3f}", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    bootstrap, topic, group, *instance = sys.argv[1:]
    asyncio.run(consume(bootstrap, topic, group, instance[0] if instance else None))
