"""The outbound tables (migration 0028): subscriptions, and the deliveries owed to each.

Every verb used by the admin API, the CLI, the intake and the sender is here, so the SQL of
outbound lives in one module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from winback_notifier.outbound.channels.base import Delivery
from winback_notifier.outbound.events import EventType, OutboundEvent
from winback_notifier.outbound.sealing import is_sealed, shown_url
from winback_notifier.outbound.subscriptions import Channel, Subscription, matches
from winback_shared.db import Connection

Executor: TypeAlias = "Connection | asyncpg.Pool"

_SUBSCRIPTION_COLUMNS = (
    "id, name, channel, url, event_types, queues, max_priority, secrets, max_in_flight, enabled,"
    " created_at, url_shown"
)


def _subscription(row: asyncpg.Record) -> Subscription:
    channel = Channel(row["channel"])
    return Subscription(
        id=row["id"],
        name=row["name"],
        channel=channel,
        url=row["url"],
        url_shown=row["url_shown"] or shown_url(channel, row["url"]),
        event_types=frozenset(EventType(kind) for kind in row["event_types"]),
        created_at=row["created_at"],
        queues=frozenset(row["queues"]),
        max_priority=row["max_priority"],
        secrets=tuple(row["secrets"]),
        max_in_flight=row["max_in_flight"],
        enabled=row["enabled"],
    )


class DuplicateName(ValueError):
    """A subscription of that name exists."""


async def create_subscription(
    db: Executor,
    *,
    name: str,
    channel: Channel,
    url: str,
    event_types: Iterable[EventType],
    queues: Iterable[str] = (),
    max_priority: int | None = None,
    secrets: Iterable[str] = (),
    max_in_flight: int = 4,
    url_shown: str | None = None,
) -> Subscription:
    """Store a new subscription (the URL must have passed ``check_endpoint``; ``url`` and
    ``secrets`` as sealed by ``service.subscribe``, ``url_shown`` what admins see of it)."""
    try:
        row = await db.fetchrow(
            f"""
            INSERT INTO outbound_subscriptions
                (name, channel, url, event_types, queues, max_priority, secrets, max_in_flight,
                 url_shown)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            RETURNING {_SUBSCRIPTION_COLUMNS}
            """,
            name,
            channel,
            url,
            sorted(str(kind) for kind in event_types),
            sorted(set(queues)),
            max_priority,
            list(secrets),
            max_in_flight,
            url_shown,
        )
    except asyncpg.UniqueViolationError:
        raise DuplicateName(f"a subscription named {name!r} exists") from None
    assert row is not None
    return _subscription(row)


async def list_subscriptions(db: Executor, *, enabled_only: bool = False) -> list[Subscription]:
    """Every subscription (or the enabled ones), by name."""
    rows = await db.fetch(
        f"SELECT {_SUBSCRIPTION_COLUMNS} FROM outbound_subscriptions"
        " WHERE enabled OR NOT $1 ORDER BY name",
        enabled_only,
    )
    return [_subscription(row) for row in rows]


async def find_subscription(db: Executor, name: str) -> Subscription | None:
    """The subscription called ``name``."""
    row = await db.fetchrow(
        f"SELECT {_SUBSCRIPTION_COLUMNS} FROM outbound_subscriptions WHERE name = $1", name
    )
    return None if row is None else _subscription(row)


async def set_enabled(db: Executor, name: str, enabled: bool) -> bool:
    """Pause or resume a subscription; ``False`` if there is none of that name.

    A paused subscription takes no new events; what it already owes is kept and sent once
    it is resumed.
    """
    status = await db.execute(
        "UPDATE outbound_subscriptions SET enabled = $2, updated_at = now() WHERE name = $1",
        name,
        enabled,
    )
    return status != "UPDATE 0"


async def delete_subscription(db: Executor, name: str) -> bool:
    """Remove a subscription and its deliveries; ``False`` if there is none of that name."""
    status = await db.execute("DELETE FROM outbound_subscriptions WHERE name = $1", name)
    return status != "DELETE 0"


async def add_secret(db: Executor, name: str, secret: str) -> bool:
    """Put ``secret`` first: deliveries are signed with it and the ones before it."""
    status = await db.execute(
        "UPDATE outbound_subscriptions SET secrets = array_prepend($2, secrets),"
        " updated_at = now() WHERE name = $1",
        name,
        secret,
    )
    return status != "UPDATE 0"


async def set_secrets(db: Executor, name: str, secrets: Iterable[str]) -> bool:
    """Replace a subscription's secrets (a Zendesk one: API token, webhook signing secret),
    as sealed by the caller (``service.set_zendesk_signing_secret`` seals them)."""
    status = await db.execute(
        "UPDATE outbound_subscriptions SET secrets = $2, updated_at = now() WHERE name = $1",
        name,
        list(secrets),
    )
    return status != "UPDATE 0"


async def retire_old_secrets(db: Executor, name: str) -> bool:
    """Keep only the newest secret (the rotation is over)."""
    status = await db.execute(
        "UPDATE outbound_subscriptions SET secrets = secrets[1:1], updated_at = now()"
        " WHERE name = $1",
        name,
    )
    return status != "UPDATE 0"


async def record(db: Executor, events: Iterable[OutboundEvent]) -> int:
    """Owe each event to each enabled subscription that takes it; returns rows added.

    A repeat of an event already owed adds nothing (unique on subscription and event key), so
    Kafka's redeliveries cost nothing and keep the first delivery's webhook id.
    """
    subscriptions = await list_subscriptions(db, enabled_only=True)
    rows = [
        (
            subscription.id,
            event.key,
            str(event.type),
            f"msg_{uuid.uuid4().hex}",
            event.case_id,
            event.payload,
        )
        for event in events
        for subscription in subscriptions
        if matches(subscription, event)
    ]
    if not rows:
        return 0
    inserted = await db.fetchval(
        """
        WITH added AS (
            INSERT INTO outbound_deliveries
                (subscription_id, event_key, event_type, webhook_id, case_id, payload)
            SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                                 $6::jsonb[])
            ON CONFLICT (subscription_id, event_key) DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM added
        """,
        *(list(column) for column in zip(*rows, strict=True)),
    )
    return int(inserted)


async def lease_due(
    db: Executor, subscription_id: int, limit: int, lease_seconds: float
) -> list[Delivery]:
    """Take up to ``limit`` due deliveries of one subscription, oldest first, for a while.

    Leasing moves ``next_attempt_at`` ``lease_seconds`` ahead: no other sender takes them
    meanwhile, and if this one dies they come due again by themselves (so a delivery is sent
    at least once, perhaps twice, never lost).
    """
    rows = await db.fetch(
        """
        UPDATE outbound_deliveries d
        SET next_attempt_at = now() + make_interval(secs => $3)
        FROM (
            SELECT id FROM outbound_deliveries
            WHERE subscription_id = $1 AND status = 'pending' AND next_attempt_at <= now()
            ORDER BY next_attempt_at, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ) due
        WHERE d.id = due.id
        RETURNING d.id, d.webhook_id, d.event_type, d.case_id, d.payload, d.attempts
        """,
        subscription_id,
        limit,
        lease_seconds,
    )
    return [
        Delivery(
            id=row["id"],
            webhook_id=row["webhook_id"],
            event_type=EventType(row["event_type"]),
            case_id=row["case_id"],
            payload=row["payload"],
            attempts=row["attempts"],
        )
        for row in sorted(rows, key=lambda row: int(row["id"]))
    ]


async def seconds_until_due(db: Executor, subscription_id: int) -> float | None:
    """How long until the subscription's next pending delivery is due (``None``: none)."""
    value = await db.fetchval(
        "SELECT greatest(0, extract(epoch FROM min(next_attempt_at) - now()))"
        " FROM outbound_deliveries WHERE subscription_id = $1 AND status = 'pending'",
        subscription_id,
    )
    return None if value is None else float(value)


async def mark_delivered(db: Executor, delivery_id: int, status: int | None) -> None:
    """The endpoint took it."""
    await db.execute(
        "UPDATE outbound_deliveries SET status = 'delivered', delivered_at = now(),"
        " attempts = attempts + 1, last_status = $2, last_error = NULL WHERE id = $1",
        delivery_id,
        status,
    )


async def mark_failed(
    db: Executor,
    delivery_id: int,
    *,
    status: int | None,
    error: str,
    retry_in: float | None,
) -> None:
    """An attempt failed: retry in ``retry_in`` seconds, or (``None``) it is dead."""
    await db.execute(
        """
        UPDATE outbound_deliveries
        SET attempts = attempts + 1, last_status = $2, last_error = $3,
            status = CASE WHEN $4::float8 IS NULL THEN 'dead' ELSE 'pending' END,
            next_attempt_at = now() + make_interval(secs => coalesce($4::float8, 0))
        WHERE id = $1
        """,
        delivery_id,
        status,
        error[:1000],
        retry_in,
    )


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as admins list it."""

    id: int
    webhook_id: str
    event_type: str
    case_id: int | None
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime


async def list_deliveries(
    db: Executor, name: str, *, status: str | None = None, limit: int = 100
) -> list[DeliveryRow]:
    """A subscription's deliveries, newest first (``status``: only those)."""
    rows = await db.fetch(
        """
        SELECT d.id, d.webhook_id, d.event_type, d.case_id, d.status, d.attempts, d.last_status,
               d.last_error, d.created_at, d.delivered_at, d.next_attempt_at
        FROM outbound_deliveries d JOIN outbound_subscriptions s ON s.id = d.subscription_id
        WHERE s.name = $1 AND (d.status = $2 OR $2 IS NULL)
        ORDER BY d.id DESC LIMIT $3
        """,
        name,
        status,
        limit,
    )
    return [DeliveryRow(**dict(row)) for row in rows]


async def replay_dead(db: Executor, name: str, delivery_ids: Iterable[int] | None = None) -> int:
    """Send a subscription's dead deliveries again (all, or those ids); returns how many.

    Each keeps its webhook id, so a receiver that did take one before can still drop it.
    """
    ids: list[int] | None = None if delivery_ids is None else list(delivery_ids)
    status = await db.execute(
        """
        UPDATE outbound_deliveries d
        SET status = 'pending', attempts = 0, next_attempt_at = now()
        FROM outbound_subscriptions s
        WHERE s.id = d.subscription_id AND s.name = $1 AND d.status = 'dead'
          AND (d.id = ANY($2::bigint[]) OR $2 IS NULL)
        """,
        name,
        ids,
    )
    return int(status.split()[-1])


def subscription_summary(subscription: Subscription) -> dict[str, Any]:
    """A subscription as the API and CLI show it: never its secrets, only how many, and its URL
    as shown (a Slack or Teams URL is a credential)."""
    return {
        "name": subscription.name,
        "channel": str(subscription.channel),
        "url": subscription.url_shown,
        "event_types": sorted(str(kind) for kind in subscription.event_types),
        "queues": sorted(subscription.queues),
        "max_priority": subscription.max_priority,
        "max_in_flight": subscription.max_in_flight,
        "enabled": subscription.enabled,
        "secrets": len(subscription.secrets),
        "created_at": subscription.created_at.isoformat(),
    }


async def stored_values(db: Executor) -> list[str]:
    """Every stored URL and secret, as stored (sealed or clear): what the start-up check opens."""
    rows = await db.fetch("SELECT url, secrets FROM outbound_subscriptions ORDER BY id")
    return [value for row in rows for value in (row["url"], *row["secrets"])]


@dataclass(frozen=True)
class StoredCredentials:
    """A subscription's URL and secrets as stored, to seal again."""

    id: int
    channel: Channel
    url: str
    secrets: list[str]

    @property
    def in_clear(self) -> int:
        """How many of its values are not sealed."""
        return sum(not is_sealed(value) for value in (self.url, *self.secrets))


async def credentials_for_update(conn: Connection) -> list[StoredCredentials]:
    """Every subscription's stored URL and secrets, locked until the transaction ends."""
    rows = await conn.fetch(
        "SELECT id, channel, url, secrets FROM outbound_subscriptions ORDER BY id FOR UPDATE"
    )
    return [
        StoredCredentials(row["id"], Channel(row["channel"]), row["url"], list(row["secrets"]))
        for row in rows
    ]


async def set_credentials(
    conn: Connection, subscription_id: int, *, url: str, url_shown: str, secrets: list[str]
) -> None:
    """Store a subscription's URL and secrets sealed again (the same values in clear)."""
    await conn.execute(
        "UPDATE outbound_subscriptions SET url = $2, url_shown = $3, secrets = $4 WHERE id = $1",
        subscription_id,
        url,
        url_shown,
        secrets,
    )
