"""Paging on PostgreSQL: a queue whose P1 cases wait with no console is paged once through a
PagerDuty-shaped server, and resolved once a console reports watching it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.case_support import open_case
from tests.outbound_fakes import PagerDutyEvents, running
from tests.outbound_support import LOOPBACK, SEALED, running_dispatcher
from tests.role_support import NOTIFIER, as_role, migrate_as_owner
from tests.support import eventually
from winback_notifier.live.presence import ConsolePresence
from winback_notifier.outbound import service, store
from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.floor_watch import FloorWatch
from winback_notifier.outbound.subscriptions import Channel
from winback_shared.db import create_pool


@pytest.fixture
async def pools(schema_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """The notifier role's pool, and the superuser's to open cases as the router would."""
    await migrate_as_owner(schema_url)
    notifier = await create_pool(as_role(schema_url, NOTIFIER), min_size=1, max_size=4)
    admin = await create_pool(schema_url, min_size=1, max_size=2)
    try:
        yield notifier, admin
    finally:
        await notifier.close()
        await admin.close()


async def test_an_unwatched_queue_is_paged_once_and_resolved_once_watched(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    pool, admin = pools
    watch = FloorWatch(pool, stale_seconds=45, waiting_after_seconds=0)
    async with running(PagerDutyEvents()) as pager:
        await service.subscribe(
            pool,
            name="on-call",
            channel=Channel.PAGERDUTY,
            url=pager.url,
            event_types=[EventType.QUEUE_UNWATCHED, EventType.QUEUE_WATCHED],
            credential=pager.routing_key,
            policy=LOOPBACK,
            box=SEALED,
        )
        await open_case(admin, queue="billing", priority=1)
        await open_case(admin, queue="billing", priority=1)
        await open_case(admin, queue="general", priority=2)  # not P1: pages nobody
        consoles: dict[str, int] = {}
        presence = ConsolePresence(pool, lambda queues: {q: consoles.get(q, 0) for q in queues})
        await presence.report()  # a notifier with no console on billing

        async with running_dispatcher(pool):
            assert await watch.check() == 1
            assert await watch.check() == 0  # still unwatched: one page, not one per round
            assert await eventually(lambda: _open(pager, {"winback/unwatched/billing"}))
            assert "2 P1 cases wait" in pager.open["winback/unwatched/billing"]

            consoles["billing"] = 1
            await presence.report()
            assert await watch.check() == 1
            assert await eventually(lambda: _open(pager, set()))
            assert await watch.check() == 0
    actions = [seen.json()["event_action"] for seen in pager.accepted]
    assert actions == ["trigger", "resolve"]
    rows = await store.list_deliveries(pool, "on-call")
    assert {row.status for row in rows} == {"delivered"} and len(rows) == 2


async def test_a_notifier_that_stopped_reporting_watches_nothing(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    pool, admin = pools
    await open_case(admin, queue="billing", priority=1)
    presence = ConsolePresence(pool, lambda queues: dict.fromkeys(queues, 3))
    await presence.report()
    assert await FloorWatch(pool, stale_seconds=45, waiting_after_seconds=0).check() == 0
    await admin.execute("UPDATE console_presence SET seen_at = now() - interval '1 minute'")
    assert await FloorWatch(pool, stale_seconds=45, waiting_after_seconds=0).check() == 1
    await presence.withdraw()
    assert await pool.fetchval("SELECT count(*) FROM console_presence") == 0


async def _open(pager: PagerDutyEvents, keys: set[str]) -> bool:
    return set(pager.open) == keys
