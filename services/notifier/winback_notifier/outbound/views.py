"""Admin API for outbound subscriptions, under ``/api/admin/outbound``. Admins only.

Mounted on the notifier, where admins already manage agents; it writes PostgreSQL only, and the
outbound process picks changes up within ``WINBACK_OUTBOUND_POLL_SECONDS``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from winback_notifier.agents.views import QueueName
from winback_notifier.deps import ServicesDep
from winback_notifier.outbound import service, store
from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.subscriptions import Channel, EndpointError, Subscription
from winback_shared.auth import CurrentAdmin
from winback_shared.errors import ApiError

router = APIRouter(
    prefix="/api/admin/outbound",
    tags=["admin", "outbound"],
    responses={
        401: {"description": "`unauthenticated`"},
        403: {"description": "`forbidden`: admins only"},
        404: {"description": "`subscription_not_found`"},
    },
)

SubscriptionName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]


class SubscriptionIn(BaseModel):
    """A subscription to create."""

    name: SubscriptionName
    channel: Channel
    url: Annotated[str, Field(max_length=2000, pattern=r"^(https?|smtps?)://\S+$")] = Field(
        description="https://... (http:// only to hosts in WINBACK_OUTBOUND_HTTP_HOSTS; "
        "internal addresses only when allowed, see docs/outbound.md); e-mail: "
        "smtp://[user@]host[:port]?from=...&to=...&to=... (STARTTLS; smtps:// for TLS); "
        "Zendesk: https://SUBDOMAIN.zendesk.com/?email=API_USER[&group_id=..][&brand_id=..]"
        "[&agent=NAME:EMAIL ...] (the same target policy)"
    )
    event_types: Annotated[list[EventType], Field(min_length=1)]
    queues: list[QueueName] = Field(default_factory=list, description="empty: every queue")
    max_priority: Annotated[int | None, Field(ge=1, le=4)] = Field(
        default=None, description="only cases at least this urgent (1: P1 only); null: all"
    )
    max_in_flight: Annotated[int, Field(ge=1, le=64)] = 4
    credential: Annotated[str | None, Field(max_length=200, pattern=r"^\S+$")] = Field(
        default=None,
        description="PagerDuty: the Events API v2 routing key; e-mail: the SMTP user's "
        "password; Zendesk: the API token",
    )
    signing_secret: Annotated[str | None, Field(max_length=200, pattern=r"^\S+$")] = Field(
        default=None, description="Zendesk: the signing secret of the webhook that posts back"
    )


class SigningSecretIn(BaseModel):
    """A Zendesk webhook's signing secret (Admin Center, the webhook's page)."""

    signing_secret: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^\S+$")]


class SubscriptionOut(BaseModel):
    """A subscription as admins see it: never its secrets, only how many sign."""

    name: str
    channel: Channel
    url: str = Field(description="Slack and Teams: the host only (the URL is the credential)")
    event_types: list[EventType]
    queues: list[str]
    max_priority: int | None
    max_in_flight: int
    enabled: bool
    secrets: int
    created_at: datetime


class CreatedSubscription(BaseModel):
    """A new subscription and, for a webhook, its secret, shown this once."""

    subscription: SubscriptionOut
    secret: str | None


class NewSecret(BaseModel):
    """A rotated-in secret, shown this once; deliveries now carry both signatures."""

    secret: str


class ReplayIn(BaseModel):
    """Which dead deliveries to send again (none named: all of them)."""

    ids: list[int] | None = None


class Replayed(BaseModel):
    """How many dead deliveries were queued again."""

    replayed: int


def _out(subscription: Subscription) -> SubscriptionOut:
    return SubscriptionOut.model_validate(store.subscription_summary(subscription))


def _not_found(name: str) -> ApiError:
    return ApiError(404, "subscription_not_found", f"there is no subscription {name!r}")


@router.get("/subscriptions", response_model=list[SubscriptionOut])
async def read_subscriptions(services: ServicesDep, admin: CurrentAdmin) -> list[SubscriptionOut]:
    """Every subscription."""
    return [_out(s) for s in await store.list_subscriptions(services.pool)]


@router.post(
    "/subscriptions", response_model=CreatedSubscription, status_code=status.HTTP_201_CREATED
)
async def create_subscription(
    services: ServicesDep, admin: CurrentAdmin, body: SubscriptionIn
) -> CreatedSubscription:
    """Subscribe an endpoint; 409 if the name is taken, 422 ``bad_endpoint`` for a URL we will
    not send to, ``bad_subscription`` for a PagerDuty one without routing key or with events it
    cannot page, or an e-mail digest without recipients."""
    try:
        subscription, secret = await service.subscribe(
            services.pool,
            name=body.name,
            channel=body.channel,
            url=body.url,
            event_types=body.event_types,
            queues=body.queues,
            max_priority=body.max_priority,
            max_in_flight=body.max_in_flight,
            credential=body.credential,
            signing_secret=body.signing_secret,
            policy=services.settings.target_policy(),
            box=services.settings.secret_box(),
        )
    except EndpointError as exc:
        raise ApiError(422, "bad_endpoint", str(exc)) from None
    except store.DuplicateName as exc:
        raise ApiError(409, "subscription_exists", str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, "bad_subscription", str(exc)) from None
    return CreatedSubscription(subscription=_out(subscription), secret=secret)


@router.get("/subscriptions/{name}", response_model=SubscriptionOut)
async def read_subscription(
    services: ServicesDep, admin: CurrentAdmin, name: str
) -> SubscriptionOut:
    """One subscription."""
    subscription = await store.find_subscription(services.pool, name)
    if subscription is None:
        raise _not_found(name)
    return _out(subscription)


@router.delete("/subscriptions/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(services: ServicesDep, admin: CurrentAdmin, name: str) -> None:
    """Remove a subscription and everything it was owed."""
    if not await store.delete_subscription(services.pool, name):
        raise _not_found(name)


async def _set_enabled(
    services: ServicesDep, admin: CurrentAdmin, name: str, enabled: bool
) -> SubscriptionOut:
    if not await store.set_enabled(services.pool, name, enabled):
        raise _not_found(name)
    return await read_subscription(services, admin, name)


@router.post("/subscriptions/{name}/pause", response_model=SubscriptionOut)
async def pause_subscription(
    services: ServicesDep, admin: CurrentAdmin, name: str
) -> SubscriptionOut:
    """Take no new events; what is already owed waits and goes out once resumed."""
    return await _set_enabled(services, admin, name, False)


@router.post("/subscriptions/{name}/resume", response_model=SubscriptionOut)
async def resume_subscription(
    services: ServicesDep, admin: CurrentAdmin, name: str
) -> SubscriptionOut:
    """Take events again (those that happened while paused are not sent)."""
    return await _set_enabled(services, admin, name, True)


@router.post("/subscriptions/{name}/secrets", response_model=NewSecret, status_code=201)
async def rotate_secret(services: ServicesDep, admin: CurrentAdmin, name: str) -> NewSecret:
    """Add a new secret: deliveries carry both signatures until the old one is retired."""
    try:
        secret = await service.rotate_secret(services.pool, name, services.settings.secret_box())
    except service.NotAWebhook as exc:
        raise ApiError(409, "no_secret", str(exc)) from None
    if secret is None:
        raise _not_found(name)
    return NewSecret(secret=secret)


@router.delete("/subscriptions/{name}/secrets/old", response_model=SubscriptionOut)
async def retire_old_secrets(
    services: ServicesDep, admin: CurrentAdmin, name: str
) -> SubscriptionOut:
    """Keep only the newest secret (the receiver has switched)."""
    try:
        found = await service.retire_old_secrets(services.pool, name)
    except service.NotAWebhook as exc:
        raise ApiError(409, "no_secret", str(exc)) from None
    if not found:
        raise _not_found(name)
    return await read_subscription(services, admin, name)


@router.put("/subscriptions/{name}/signing-secret", response_model=SubscriptionOut)
async def set_signing_secret(
    services: ServicesDep, admin: CurrentAdmin, name: str, body: SigningSecretIn
) -> SubscriptionOut:
    """Zendesk only: the signing secret of the Zendesk webhook that posts ticket changes to
    ``/webhooks/zendesk/{name}`` (409 ``not_zendesk`` for another channel)."""
    try:
        found = await service.set_zendesk_signing_secret(
            services.pool, name, body.signing_secret, services.settings.secret_box()
        )
    except service.NotZendesk as exc:
        raise ApiError(409, "not_zendesk", str(exc)) from None
    if not found:
        raise _not_found(name)
    return await read_subscription(services, admin, name)


@router.get("/subscriptions/{name}/deliveries", response_model=list[store.DeliveryRow])
async def read_deliveries(
    services: ServicesDep,
    admin: CurrentAdmin,
    name: str,
    delivery_status: Annotated[
        Literal["pending", "delivered", "dead"] | None, Query(alias="status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[store.DeliveryRow]:
    """A subscription's deliveries, newest first; ``?status=dead`` lists its dead letters."""
    return await store.list_deliveries(services.pool, name, status=delivery_status, limit=limit)


@router.post("/subscriptions/{name}/replay", response_model=Replayed)
async def replay(services: ServicesDep, admin: CurrentAdmin, name: str, body: ReplayIn) -> Replayed:
    """Send dead deliveries again (after the endpoint was fixed), each with its webhook id."""
    if await store.find_subscription(services.pool, name) is None:
        raise _not_found(name)
    return Replayed(replayed=await store.replay_dead(services.pool, name, body.ids))
