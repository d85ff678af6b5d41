"""Outbound senders on the real PostgreSQL, against local receivers: nothing lost through an
endpoint outage, the same webhook id on every retry, dead letters replayed once the endpoint is
fixed, and one dead endpoint never holding up a healthy one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.outbound_fakes import SlackWebhook, WebhookReceiver, running
from tests.outbound_support import LOOPBACK, SEALED, breach, running_dispatcher, statuses
from tests.role_support import NOTIFIER, as_role, migrate_as_owner
from tests.support import eventually
from winback_notifier.outbound import service, store
from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.retry import BreakerState, RetryPolicy
from winback_notifier.outbound.subscriptions import Channel, Subscription
from winback_shared.db import create_pool


@pytest.fixture
async def pool(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool acting as the notifier's role (the outbound process's), on a migrated schema."""
    await migrate_as_owner(schema_url)
    opened = await create_pool(as_role(schema_url, NOTIFIER), min_size=1, max_size=6)
    try:
        yield opened
    finally:
        await opened.close()


async def webhook(
    pool: asyncpg.Pool, name: str, url: str, max_in_flight: int = 4
) -> tuple[Subscription, str]:
    subscription, secret = await service.subscribe(
        pool,
        name=name,
        channel=Channel.WEBHOOK,
        url=url,
        event_types=[EventType.CASE_BREACHED],
        max_in_flight=max_in_flight,
        policy=LOOPBACK,
        box=SEALED,
    )
    assert secret is not None
    return subscription, secret


async def test_an_outage_loses_nothing_and_retries_carry_the_same_webhook_id(
    pool: asyncpg.Pool,
) -> None:
    async with running(WebhookReceiver()) as receiver:
        _, secret = await webhook(pool, "crm", receiver.url)
        receiver.secrets.append(secret)
        receiver.fail_next(503, 503, 500, 502, 503, 500, 503)  # down, then back
        events = [breach() for _ in range(5)]
        assert await store.record(pool, events) == 5
        assert await store.record(pool, events[:2]) == 0  # Kafka's redelivery adds nothing
        async with running_dispatcher(pool):
            assert await eventually(lambda: _all(pool, "crm", "delivered", 5), timeout=30)
    by_id: dict[str, set[str]] = defaultdict(set)
    for seen in receiver.seen:
        by_id[seen.headers["webhook-id"]].add(seen.json()["data"]["case"]["case_id"])
    assert len(receiver.seen) == 5 + 7  # each failure retried once more, nothing else
    assert all(len(cases) == 1 for cases in by_id.values())  # one id, one case, every retry
    rows = await store.list_deliveries(pool, "crm")
    assert sorted(by_id) == sorted(row.webhook_id for row in rows)
    accepted = [seen.headers["webhook-id"] for seen in receiver.accepted]
    assert sorted(accepted) == sorted(by_id)  # each taken exactly once after recovery


async def test_dead_letters_are_kept_then_replayed_with_their_ids(pool: asyncpg.Pool) -> None:
    policy = RetryPolicy(base_seconds=0.01, cap_seconds=0.02, max_attempts=3)
    async with running(SlackWebhook()) as slack, running(WebhookReceiver()) as hook:
        await service.subscribe(
            pool,
            name="floor",
            channel=Channel.SLACK,
            url=slack.url,
            event_types=[EventType.CASE_BREACHED],
            policy=LOOPBACK,
            box=SEALED,
        )
        _, secret = await webhook(pool, "crm", hook.url, max_in_flight=1)
        hook.secrets.append(secret)
        slack.fail_next(404)  # no_service: the webhook was revoked, refused at once
        hook.fail_next(500, 500, 500)  # attempts run out
        await store.record(pool, [breach()])
        async with running_dispatcher(pool, policy=policy):
            assert await eventually(lambda: _all(pool, "floor", "dead", 1))
            assert await eventually(lambda: _all(pool, "crm", "dead", 1))
            (dead,) = await store.list_deliveries(pool, "crm", status="dead")
            assert dead.attempts == 3 and dead.last_status == 500
            assert len(slack.seen) == 1  # a refusal is not retried
            assert await store.replay_dead(pool, "floor") == 1
            assert await store.replay_dead(pool, "crm") == 1
            assert await eventually(lambda: _all(pool, "floor", "delivered", 1))
            assert await eventually(lambda: _all(pool, "crm", "delivered", 1))
    assert len(slack.accepted) == 1
    assert {seen.headers["webhook-id"] for seen in hook.seen} == {dead.webhook_id}
    assert len(hook.seen) == 4


async def test_a_dead_endpoint_does_not_delay_a_healthy_one(pool: asyncpg.Pool) -> None:
    async with running(WebhookReceiver()) as dead, running(WebhookReceiver()) as healthy:
        await webhook(pool, "dead", dead.url, max_in_flight=2)
        _, secret = await webhook(pool, "healthy", healthy.url)
        healthy.secrets.append(secret)
        dead.hang()  # accepts the connection, never answers
        await store.record(pool, [breach() for _ in range(6)])
        # The attempt timeout is far longer than this test: had the healthy endpoint's
        # deliveries waited behind the dead one's, none could arrive before the test ends.
        async with running_dispatcher(pool, timeout=300):
            assert await eventually(lambda: _all(pool, "healthy", "delivered", 6), timeout=30)
            assert len(dead.seen) <= 2  # its own concurrency limit, still waiting
            rows = await store.list_deliveries(pool, "dead")
            assert all(row.status == "pending" and row.attempts == 0 for row in rows)


async def test_a_failing_endpoint_opens_its_circuit(pool: asyncpg.Pool) -> None:
    async with running(WebhookReceiver()) as receiver:
        await webhook(pool, "flaky", receiver.url, max_in_flight=1)
        receiver.fail_next(*[500] * 50)
        await store.record(pool, [breach() for _ in range(4)])
        async with running_dispatcher(pool, breaker_failures=3, breaker_cooldown=600) as sender:
            assert await eventually(
                lambda: _circuit(sender.circuits(), "flaky", BreakerState.OPEN), timeout=30
            )
            # Left alone while open: its three failures, then nothing, however many are due.
            assert len(receiver.seen) == 3
            assert await statuses(pool, "flaky") == ["pending"] * 4


async def _all(pool: asyncpg.Pool, name: str, status: str, count: int) -> bool:
    found = await statuses(pool, name)
    return len(found) == count and set(found) == {status}


async def _circuit(circuits: dict[str, BreakerState], name: str, state: BreakerState) -> bool:
    return circuits.get(name) is state
