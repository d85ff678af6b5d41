"""E-mail digests against a local SMTP server (aiosmtpd) on the real PostgreSQL: one message for
what was owed, retried after a temporary refusal, dead after a permanent one and replayed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from tests.outbound_support import LOOPBACK, SEALED, breach, running_dispatcher, statuses
from tests.role_support import NOTIFIER, as_role, migrate_as_owner
from tests.support import eventually
from winback_local.kafka import free_port
from winback_notifier.outbound import service, store
from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.retry import RetryPolicy
from winback_notifier.outbound.subscriptions import Channel
from winback_shared.db import create_pool


class Mailbox:
    """An SMTP server's DATA handler: scripted replies first, then 250 and the message kept."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.received: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.pop(0)
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler = Mailbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
async def pool(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    await migrate_as_owner(schema_url)
    opened = await create_pool(as_role(schema_url, NOTIFIER), min_size=1, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()


async def subscribe(pool: asyncpg.Pool, port: int) -> None:
    url = f"smtp://127.0.0.1:{port}?from=winback@example.com&to=sup@example.com&to=lead@example.com"
    await service.subscribe(
        pool,
        name="supervisors",
        channel=Channel.EMAIL,
        url=url,
        event_types=[EventType.CASE_BREACHED],
        policy=LOOPBACK,
        box=SEALED,
    )


async def test_breaches_arrive_as_one_digest_after_a_temporary_refusal(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    handler, port = mailbox
    await subscribe(pool, port)
    handler.replies.append("451 4.3.0 try again later")
    events = [breach(queue="billing") for _ in range(3)]
    await store.record(pool, events)
    async with running_dispatcher(pool):
        assert await eventually(lambda: _all(pool, "delivered", 3), timeout=30)
    ((recipients, message),) = handler.received
    assert sorted(recipients) == ["lead@example.com", "sup@example.com"]
    assert message["Subject"] == "winback: 3 events for supervisors"
    body = message.get_payload()
    assert isinstance(body, str)
    for event in events:
        assert f"P1 case #{event.case_id} breached its contact deadline" in body
        assert f"/#case={event.case_id}" in body
    rows = await store.list_deliveries(pool, "supervisors")
    assert {row.attempts for row in rows} == {2}


async def test_a_permanent_refusal_is_dead_until_replayed(
    pool: asyncpg.Pool, mailbox: tuple[Mailbox, int]
) -> None:
    handler, port = mailbox
    await subscribe(pool, port)
    handler.replies.append("550 5.7.1 relaying denied")
    await store.record(pool, [breach()])
    async with running_dispatcher(pool, policy=RetryPolicy(0.01, 0.02, 5)):
        assert await eventually(lambda: _all(pool, "dead", 1))
        assert handler.received == []
        assert await store.replay_dead(pool, "supervisors") == 1
        assert await eventually(lambda: _all(pool, "delivered", 1))
    assert len(handler.received) == 1


async def _all(pool: asyncpg.Pool, status: str, count: int) -> bool:
    found = await statuses(pool, "supervisors")
    return len(found) == count and set(found) == {status}
