"""The Zendesk sync under outbound's two safety rules, on the real PostgreSQL: its account URL
is judged by the target policy at creation (422) and at delivery (a dead letter saying why, no
request made), and its two secrets (the API token, the webhook's signing secret) rest sealed
like every other, are opened to send and to verify the inbound signature, are never shown, and
are sealed again by ``rotate-secrets``."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from tests.case_support import open_case, running_desk
from tests.outbound_support import (
    LOOPBACK,
    SAFETY_SETTINGS,
    SEALED,
    outbound,
    running_dispatcher,
    statuses,
)
from tests.role_support import NOTIFIER, as_role, migrate_as_owner
from tests.support import eventually
from tests.zendesk_fake import running_zendesk
from winback_notifier.outbound import service, store
from winback_notifier.outbound.events import EventType, OutboundEvent, from_alert
from winback_notifier.outbound.retry import RetryPolicy
from winback_notifier.outbound.sealing import SealError, SecretBox, is_sealed, new_key
from winback_notifier.outbound.subscriptions import Channel
from winback_notifier.outbound.targets import BlockedTarget, IPAddress, TargetPolicy
from winback_shared.agents import Role
from winback_shared.db import create_pool
from winback_shared.events.recovery_alerts import CaseSummary, RecoveryCaseOpened
from winback_shared.zendesk_signatures import sign, timestamp_of

TOKEN = "zd-api-token-kept-sealed"
SIGNING = "zd-signing-secret-kept-sealed"
EVENTS = [EventType.CASE_OPENED, EventType.CASE_RESOLVED]
QUICK = RetryPolicy(base_seconds=0.01, cap_seconds=0.05, max_attempts=6)
BASE = "/api/admin/outbound/subscriptions"


@pytest.fixture
async def owner(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The superuser on a migrated schema: seeds cases as the router would."""
    await migrate_as_owner(schema_url)
    opened = await create_pool(schema_url, min_size=1, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def pool(owner: asyncpg.Pool, schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The notifier's role: the outbound process and the admin verbs."""
    opened = await create_pool(as_role(schema_url, NOTIFIER), min_size=1, max_size=4)
    try:
        yield opened
    finally:
        await opened.close()


async def opened(db: asyncpg.Pool, case_id: int) -> OutboundEvent:
    """The case's ``case.opened``, as the router's alert carries it."""
    row = await db.fetchrow("SELECT * FROM case_summaries WHERE case_id = $1", case_id)
    assert row is not None
    return from_alert(RecoveryCaseOpened(case=CaseSummary.model_validate(dict(row))))


async def stored_secrets(db: asyncpg.Pool, name: str) -> list[str]:
    """A subscription's secrets as the table holds them (raw, not opened)."""
    row = await db.fetchrow("SELECT secrets FROM outbound_subscriptions WHERE name = $1", name)
    assert row is not None
    return list(row["secrets"])


def signed(body: dict[str, Any], secret: str) -> dict[str, Any]:
    """A ticket change as a Zendesk webhook signs it with ``secret``."""
    raw = json.dumps(body).encode()
    stamp = timestamp_of(datetime.now(UTC))
    headers = {
        "content-type": "application/json",
        "x-zendesk-webhook-signature": sign(secret.encode(), stamp, raw),
        "x-zendesk-webhook-signature-timestamp": stamp,
    }
    return {"content": raw, "headers": headers}


async def zendesk_dns(host: str, port: int) -> list[IPAddress]:
    """A DNS that puts the Zendesk account inside our network (a rebinding or a mistake)."""
    assert host == "acme.zendesk.test"
    return [ipaddress.ip_address("10.0.0.5")]


async def test_a_zendesk_account_at_an_internal_host_is_refused_at_creation(
    infra_env: dict[str, Any], pool: asyncpg.Pool
) -> None:
    async with running_desk(infra_env, **SAFETY_SETTINGS) as desk:
        admin = await desk.agent("ada", Role.ADMIN)
        for host, kind in (
            ("169.254.169.254", "link-local"),
            ("10.1.2.3", "private"),
            ("localhost", "this machine"),
            ("[fd00::1]", "private"),
        ):
            body = {
                "name": "helpdesk",
                "channel": "zendesk",
                "url": f"https://{host}/?email=bot@acme.test",
                "event_types": ["case.opened"],
                "credential": TOKEN,
            }
            refused = await desk.call("POST", BASE, admin, body)
            assert refused.status_code == 422, (host, refused.text)
            error = refused.json()["error"]
            assert error["code"] == "bad_endpoint" and kind in error["message"], error
        listed = await desk.call("GET", BASE, admin)
        assert listed.json() == []
    with pytest.raises(BlockedTarget, match="private address"):
        await service.subscribe(
            pool,
            name="helpdesk",
            channel=Channel.ZENDESK,
            url="https://192.168.1.20/?email=bot@acme.test",
            event_types=EVENTS,
            credential=TOKEN,
            policy=TargetPolicy(),
            box=SEALED,
        )


async def test_a_zendesk_account_inside_is_a_dead_letter_at_delivery(
    owner: asyncpg.Pool, pool: asyncpg.Pool
) -> None:
    strict = TargetPolicy()
    # Its text is fine (created), but its name resolves inside when delivering.
    await service.subscribe(
        pool,
        name="helpdesk",
        channel=Channel.ZENDESK,
        url="https://acme.zendesk.test/?email=bot@acme.test",
        event_types=EVENTS,
        credential=TOKEN,
        policy=strict,
        box=SEALED,
    )
    # Made while loopback was allowed; the policy is stricter now.
    await service.subscribe(
        pool,
        name="old-helpdesk",
        channel=Channel.ZENDESK,
        url="https://127.0.0.1:9/?email=bot@acme.test",
        event_types=EVENTS,
        credential=TOKEN,
        policy=LOOPBACK,
        box=SEALED,
    )
    case_id = await open_case(owner)
    await store.record(pool, [await opened(owner, case_id)])
    async with running_dispatcher(pool, policy=QUICK, targets=strict, resolve=zendesk_dns):
        assert await eventually(lambda: _both_dead(pool))
    (resolved,) = await store.list_deliveries(pool, "helpdesk")
    assert resolved.attempts == 1  # refused for good, not retried
    assert resolved.last_error is not None and resolved.last_error.startswith(
        "blocked: acme.zendesk.test resolves to 10.0.0.5, a private address"
    )
    (literal,) = await store.list_deliveries(pool, "old-helpdesk")
    assert literal.attempts == 1
    assert literal.last_error is not None and literal.last_error.startswith(
        "blocked: 127.0.0.1 is a loopback address"
    )
    assert await pool.fetchval("SELECT count(*) FROM helpdesk_links") == 0


async def _both_dead(pool: asyncpg.Pool) -> bool:
    return [await statuses(pool, name) for name in ("helpdesk", "old-helpdesk")] == [
        ["dead"],
        ["dead"],
    ]


async def test_zendesk_secrets_rest_sealed_and_the_signature_still_verifies(
    infra_env: dict[str, Any],
) -> None:
    async with (
        running_desk(infra_env, **SAFETY_SETTINGS) as desk,
        running_zendesk() as zd,
    ):
        admin = await desk.agent("ada", Role.ADMIN)
        body = {
            "name": "helpdesk",
            "channel": "zendesk",
            "url": f"{zd.url}/?email={zd.email}",
            "event_types": ["case.opened"],
            "credential": zd.token,
            "signing_secret": SIGNING,
        }
        created = await desk.call("POST", BASE, admin, body)
        assert created.status_code == 201, created.text
        raw = await stored_secrets(desk.pool, "helpdesk")
        assert len(raw) == 2 and all(is_sealed(value) for value in raw)
        assert zd.token not in str(raw) and SIGNING not in str(raw)
        assert [SEALED.open(value) for value in raw] == [zd.token, SIGNING]

        # Replaced through the admin API: sealed too, and the token stays what it was.
        rotated_signing = "zd-signing-secret-rotated-in-zendesk"
        put = await desk.call(
            "PUT", f"{BASE}/helpdesk/signing-secret", admin, {"signing_secret": rotated_signing}
        )
        assert put.status_code == 200, put.text
        raw = await stored_secrets(desk.pool, "helpdesk")
        assert all(is_sealed(value) for value in raw) and rotated_signing not in str(raw)
        assert [SEALED.open(value) for value in raw] == [zd.token, rotated_signing]

        shown = [created.json(), put.json()]
        shown.append((await desk.call("GET", BASE, admin)).json())
        shown.append((await desk.call("GET", f"{BASE}/helpdesk", admin)).json())
        for hidden in (zd.token, SIGNING, rotated_signing, "fernet:"):
            assert hidden not in str(shown), hidden
        assert put.json()["secrets"] == 2

        # The inbound route opens the sealed signing secret to verify.
        hook = f"{desk.url}/webhooks/zendesk/helpdesk"
        change = {"ticket_id": "4242", "status": "solved", "assignee_email": "",
                  "updated_by": "lead@acme.test"}  # fmt: skip
        verified = await desk.http.post(hook, **signed(change, rotated_signing))
        assert verified.status_code == 200, verified.text
        assert verified.json()["ignored"] == ["no case has Zendesk ticket #4242"]
        stale = await desk.http.post(hook, **signed(change, SIGNING))
        assert stale.status_code == 401
        assert (await desk.http.post(hook, **signed(change, raw[1]))).status_code == 401

        # The worker opens the sealed token to send: the ticket is made (a wrong one is a 401).
        case_id = await desk.case()
        await store.record(desk.pool, [await opened(desk.pool, case_id)])
        async with running_dispatcher(desk.pool, policy=QUICK, box=SEALED):
            assert await eventually(lambda: _delivered(desk.pool))
        assert len(zd.tickets) == 1


async def _delivered(pool: asyncpg.Pool) -> bool:
    return await statuses(pool, "helpdesk") == ["delivered"]


async def test_rotate_secrets_seals_zendesks_two_secrets_again(
    schema_url: str, pool: asyncpg.Pool
) -> None:
    old, new = new_key(), new_key()
    for name, box in (("helpdesk", SecretBox([old])), ("clear-helpdesk", SecretBox())):
        await service.subscribe(
            pool,
            name=name,
            channel=Channel.ZENDESK,
            url="https://acme.zendesk.test/?email=bot@acme.test",
            event_types=EVENTS,
            credential=TOKEN,
            signing_secret=SIGNING,
            policy=TargetPolicy(),
            box=box,
        )
    assert await stored_secrets(pool, "clear-helpdesk") == [TOKEN, SIGNING]  # from before keys
    with pytest.raises(SealError, match="is not set"):  # check_keys covers Zendesk's rows
        await service.check_keys(pool, SecretBox())

    code, out = await outbound(as_role(schema_url, NOTIFIER), "rotate-secrets", keys=f"{new},{old}")
    assert code == 0, out

    for name in ("helpdesk", "clear-helpdesk"):
        raw = await stored_secrets(pool, name)
        assert all(is_sealed(value) for value in raw), name
        assert [SecretBox([new]).open(value) for value in raw] == [TOKEN, SIGNING]
        with pytest.raises(SealError, match="not in WINBACK_OUTBOUND_SECRET_KEYS"):
            SecretBox([old]).open(raw[0])
    assert await service.check_keys(pool, SecretBox([new])) == 0
    with pytest.raises(SealError, match="not in WINBACK_OUTBOUND_SECRET_KEYS"):
        await service.check_keys(pool, SecretBox([old]))

    # The CLI's signing-secret command seals too, and refuses without the key.
    url = as_role(schema_url, NOTIFIER)
    code, out = await outbound(url, "zendesk-signing-secret", "helpdesk", "zd-next", keys=None)
    assert code == 1 and "WINBACK_OUTBOUND_SECRET_KEYS is not set" in out, out
    code, out = await outbound(url, "zendesk-signing-secret", "helpdesk", "zd-next", keys=new)
    assert code == 0, out
    raw = await stored_secrets(pool, "helpdesk")
    assert all(is_sealed(value) for value in raw)
    assert [SecretBox([new]).open(value) for value in raw] == [TOKEN, "zd-next"]
