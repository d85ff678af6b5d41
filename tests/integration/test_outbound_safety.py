"""Outbound's safety rules on the real PostgreSQL: a host resolving inside our network is a dead
letter saying why; secrets rest sealed, rows from before sealing are read and then sealed by
``rotate-secrets``, keys rotate without downtime, and a process without the key refuses to
start rather than fail delivery by delivery."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from tests.outbound_fakes import WebhookReceiver, running
from tests.outbound_support import (
    CLI_RUN_SECONDS,
    LOOPBACK_HOSTS,
    LOOPBACK_NETWORKS,
    SEALED,
    breach,
    outbound,
    running_dispatcher,
    statuses,
)
from tests.role_support import NOTIFIER, as_role, migrate_as_owner, service_env
from tests.support import eventually
from winback_notifier.app import create_app as create_notifier_app
from winback_notifier.outbound import service, store
from winback_notifier.outbound.app import create_app
from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.sealing import SealError, SecretBox, is_sealed, new_key
from winback_notifier.outbound.settings import OutboundSettings
from winback_notifier.outbound.subscriptions import Channel
from winback_notifier.outbound.targets import IPAddress, TargetPolicy
from winback_notifier.settings import NotifierSettings
from winback_shared.db import create_pool

LOOPBACK_ENV = ",".join(LOOPBACK_HOSTS), ",".join(LOOPBACK_NETWORKS)


@pytest.fixture
async def pool(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool acting as the notifier's role, on a migrated schema."""
    await migrate_as_owner(schema_url)
    opened = await create_pool(as_role(schema_url, NOTIFIER), min_size=1, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()


async def internal_dns(host: str, port: int) -> list[IPAddress]:
    """A DNS that puts the CRM inside our network (as a rebinding or a mistake would)."""
    assert host == "crm.example.test"
    return [ipaddress.ip_address("10.0.0.5")]


async def test_a_host_resolving_inside_is_a_dead_letter_with_its_reason(
    pool: asyncpg.Pool,
) -> None:
    strict = TargetPolicy()
    await service.subscribe(
        pool,
        name="crm",
        channel=Channel.WEBHOOK,
        url="https://crm.example.test/hook",  # its text is fine: created
        event_types=[EventType.CASE_BREACHED],
        policy=strict,
        box=SEALED,
    )
    await store.record(pool, [breach()])
    async with running_dispatcher(pool, targets=strict, resolve=internal_dns):
        assert await eventually(lambda: _dead(pool))
    (row,) = await store.list_deliveries(pool, "crm")
    assert row.attempts == 1  # refused for good, not retried
    assert row.last_error is not None and row.last_error.startswith(
        "blocked: crm.example.test resolves to 10.0.0.5, a private address"
    )


async def _dead(pool: asyncpg.Pool) -> bool:
    return await statuses(pool, "crm") == ["dead"]


async def stored(pool: asyncpg.Pool, name: str) -> tuple[str, list[str]]:
    row = await pool.fetchrow(
        "SELECT url, secrets FROM outbound_subscriptions WHERE name = $1", name
    )
    assert row is not None
    return row["url"], list(row["secrets"])


async def cli(url: str, *args: str, keys: str | None) -> tuple[int, str]:
    hosts, networks = LOOPBACK_ENV
    return await outbound(
        url,
        *args,
        keys=keys,
        env={
            "WINBACK_OUTBOUND_HTTP_HOSTS": hosts,
            "WINBACK_OUTBOUND_ALLOWED_PRIVATE_NETWORKS": networks,
        },
    )


# Four CLI processes one after the other, and two senders.
@pytest.mark.timeout(5 * CLI_RUN_SECONDS)
async def test_clear_rows_are_read_then_sealed_and_keys_rotate_without_downtime(
    schema_url: str, pool: asyncpg.Pool
) -> None:
    url = as_role(schema_url, NOTIFIER)
    old, new = new_key(), new_key()
    async with running(WebhookReceiver()) as receiver:
        # Made before sealing existed (no key): stored in clear.
        code, out = await cli(
            url, "subscribe", "crm", "--channel", "webhook", "--url", receiver.url,
            "--event", "case.breached", keys=None,
        )  # fmt: skip
        assert code == 0, out
        match = re.search(r"whsec_\S+", out)
        assert match is not None
        secret = match.group(0)
        receiver.secrets.append(secret)
        assert await stored(pool, "crm") == (receiver.url, [secret])

        # A process with a key reads the clear row as it is.
        await store.record(pool, [breach()])
        async with running_dispatcher(pool, box=SecretBox([old])):
            assert await eventually(lambda: _delivered(pool, receiver, 1))

        code, out = await cli(url, "rotate-secrets", keys=old)
        assert code == 0 and "1 subscriptions sealed" in out and "(2 values were in clear)" in out
        sealed_url, sealed_secrets = await stored(pool, "crm")
        assert is_sealed(sealed_url) and all(is_sealed(s) for s in sealed_secrets)
        assert secret not in str(sealed_secrets) and receiver.url not in sealed_url

        # Rotation: NEW first, OLD after it, so both open; then everything moves to NEW.
        code, out = await cli(url, "rotate-secrets", keys=f"{new},{old}")
        assert code == 0 and "(0 values were in clear)" in out, out
        assert await service.check_keys(pool, SecretBox([new])) == 0
        with pytest.raises(SealError, match="not in WINBACK_OUTBOUND_SECRET_KEYS"):
            await service.check_keys(pool, SecretBox([old]))
        await store.record(pool, [breach()])
        async with running_dispatcher(pool, box=SecretBox([new])):
            assert await eventually(lambda: _delivered(pool, receiver, 2))

        # Without the key, the CLI stores nothing beside sealed rows.
        code, out = await cli(
            url, "subscribe", "x", "--channel", "webhook", "--url", receiver.url,
            "--event", "case.opened", keys=None,
        )  # fmt: skip
        assert code == 1 and "WINBACK_OUTBOUND_SECRET_KEYS is not set" in out, out
    assert len(receiver.accepted) == 2  # each verified with the secret made in clear


async def _delivered(pool: asyncpg.Pool, receiver: WebhookReceiver, wanted: int) -> bool:
    """``wanted`` deliveries taken by the receiver and marked delivered by the sender.

    Stopping the sender once the receiver has them is not enough: cancelled between the 2xx and
    its mark, it leaves the delivery leased, and the next sender sends it again once the lease
    (30 s) is over, as at-least-once delivery should. A loaded machine's two CLI runs between
    the senders outlast the lease, and the receiver counted a third request."""
    return (
        len(receiver.accepted) >= wanted and await statuses(pool, "crm") == ["delivered"] * wanted
    )


async def test_sealed_rows_without_their_key_stop_the_processes_at_start(
    infra_env: dict[str, Any], unique: str, pool: asyncpg.Pool
) -> None:
    await service.subscribe(
        pool,
        name="pager",
        channel=Channel.PAGERDUTY,
        url="https://events.pagerduty.com/v2/enqueue",
        event_types=[EventType.CASE_BREACHED],
        credential="routing-key-0123456789abcdef",
        policy=TargetPolicy(),
        box=SEALED,
    )
    env = await service_env(infra_env, NOTIFIER)
    for keys, reason in (([], "is not set"), ([SecretStr(new_key())], "not in")):
        outbound_settings = OutboundSettings(
            **env,  # type: ignore[arg-type]
            outbound_group=f"outbound-{unique}",
            outbound_secret_keys=keys,
        )
        app = create_app(outbound_settings)
        with pytest.raises(SealError, match=reason):
            async with app.router.lifespan_context(app):
                pass
    notifier = create_notifier_app(NotifierSettings(**env))  # type: ignore[arg-type]
    with pytest.raises(SealError, match="is not set"):
        async with notifier.router.lifespan_context(notifier):
            pass
