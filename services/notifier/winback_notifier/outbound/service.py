"""The admin verbs, shared by the admin API and the CLI: subscribe, rotate a secret, seal.

Secrets are made here, never chosen by a caller: a webhook subscription gets a fresh ``whsec_``
secret, shown once to whoever subscribed (the receiver needs it to verify). Everything that
is a credential (secrets, routing key, SMTP password, the URL) is stored sealed when keys are
configured (:mod:`winback_notifier.outbound.sealing`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from winback_notifier.outbound import store
from winback_notifier.outbound.channels.pagerduty import PAGED_EVENTS
from winback_notifier.outbound.channels.zendesk import zendesk_config
from winback_notifier.outbound.digest import check_mail_endpoint
from winback_notifier.outbound.events import QUEUE_EVENTS, EventType
from winback_notifier.outbound.sealing import SealError, SecretBox, is_sealed, shown_url
from winback_notifier.outbound.store import Executor
from winback_notifier.outbound.subscriptions import Channel, Subscription, check_endpoint
from winback_notifier.outbound.targets import TargetPolicy
from winback_shared.db import Connection
from winback_shared.standard_webhooks import new_secret


async def subscribe(
    db: Executor,
    *,
    name: str,
    channel: Channel,
    url: str,
    event_types: Iterable[EventType],
    queues: Iterable[str] = (),
    max_priority: int | None = None,
    max_in_flight: int = 4,
    credential: str | None = None,
    signing_secret: str | None = None,
    policy: TargetPolicy,
    box: SecretBox,
) -> tuple[Subscription, str | None]:
    """Create a subscription; returns it and its secret (webhooks only; chat URLs are their
    own secret). ``credential`` is PagerDuty's routing key, or the SMTP password of an e-mail
    digest whose URL names a user, or Zendesk's API token (``signing_secret``: the Zendesk
    webhook's, for its changes coming back; it may be set later). ``policy`` judges the URL
    (a Zendesk account's too), ``box`` seals what is stored (Zendesk's token and signing
    secret too). Raises ``EndpointError`` (``BlockedTarget`` for an internal host),
    ``store.DuplicateName`` or ``ValueError``."""
    kinds = list(event_types)
    if not kinds:
        raise ValueError("name at least one event type")
    secret = new_secret() if channel is Channel.WEBHOOK else None
    secrets = [secret] if secret else []
    if channel is Channel.PAGERDUTY:
        if not credential:
            raise ValueError("a PagerDuty subscription needs its integration's routing key")
        unpaged = sorted(str(kind) for kind in set(kinds) - PAGED_EVENTS)
        if unpaged:
            raise ValueError(f"PagerDuty pages no {', '.join(unpaged)}")
        secrets = [credential]
    if channel is Channel.EMAIL:
        policy.check_host(check_mail_endpoint(url).host)
        secrets = [credential] if credential else []
    else:
        check_endpoint(url, policy)
    if channel is Channel.ZENDESK:
        secrets = zendesk_secrets(url, kinds, credential, signing_secret)
    subscription = await store.create_subscription(
        db,
        name=name,
        channel=channel,
        url=box.seal(url),
        url_shown=shown_url(channel, url),
        event_types=kinds,
        queues=queues,
        max_priority=max_priority,
        secrets=box.seal_all(secrets),
        max_in_flight=max_in_flight,
    )
    return subscription, secret


class NotAWebhook(ValueError):
    """Only webhook subscriptions have secrets."""


async def rotate_secret(db: Executor, name: str, box: SecretBox) -> str | None:
    """Add a new secret before the current one; ``None`` if there is no such subscription.

    From now on each delivery carries two signatures, the new secret's and the old one's, so
    the receiver may switch to the new secret whenever it likes; once it has, retire the old
    one (:func:`store.retire_old_secrets`).
    """
    subscription = await store.find_subscription(db, name)
    if subscription is None:
        return None
    if subscription.channel is not Channel.WEBHOOK:
        raise NotAWebhook(f"{name} is a {subscription.channel} subscription: it has no secret")
    secret = new_secret()
    await store.add_secret(db, name, box.seal(secret))
    return secret


def zendesk_secrets(
    url: str, kinds: Iterable[EventType], api_token: str | None, signing_secret: str | None
) -> list[str]:
    """A Zendesk subscription's secrets: its API token, then its webhook's signing secret.

    Raises ``ValueError`` for a URL without the API user, no token, or events about queues
    (a ticket is about a case)."""
    queue_events = sorted(str(kind) for kind in set(kinds) & QUEUE_EVENTS)
    if queue_events:
        raise ValueError(f"a Zendesk ticket is about a case, not {', '.join(queue_events)}")
    secrets = [api_token or ""] + ([signing_secret] if signing_secret else [])
    zendesk_config(url, tuple(secrets))
    return secrets


async def retire_old_secrets(db: Executor, name: str) -> bool:
    """Keep only a subscription's newest secret; ``False`` if there is no such subscription.

    A Zendesk subscription's two secrets are its API token and its webhook's signing secret,
    not a rotation: retiring would drop the second, so it is refused (``NotAWebhook``)."""
    subscription = await store.find_subscription(db, name)
    if subscription is None:
        return False
    if subscription.channel is Channel.ZENDESK:
        raise NotAWebhook(f"{name} is a Zendesk subscription: its secrets are not a rotation")
    return await store.retire_old_secrets(db, name)


class NotZendesk(ValueError):
    """Only a Zendesk subscription takes a webhook signing secret."""


async def set_zendesk_signing_secret(
    db: Executor, name: str, signing_secret: str, box: SecretBox
) -> bool:
    """Keep the Zendesk webhook's signing secret beside the API token (replacing an earlier
    one), sealed by ``box`` like every stored secret (a token still in clear is sealed on the
    way); ``False`` if there is no such subscription."""
    subscription = await store.find_subscription(db, name)
    if subscription is None:
        return False
    if subscription.channel is not Channel.ZENDESK:
        raise NotZendesk(f"{name} is a {subscription.channel} subscription, not a Zendesk one")
    token = box.seal(subscription.secrets[0])
    return await store.set_secrets(db, name, [token, box.seal(signing_secret)])


async def check_keys(db: Executor, box: SecretBox) -> int:
    """Open every stored secret with ``box``'s keys; returns how many are still in clear.

    Run at start-up by the notifier and the outbound process: sealed rows with no key (or only
    keys that do not fit) stop the process with ``SealError`` saying so, before any delivery
    or admin request would fail one by one.
    """
    values = await store.stored_values(db)
    sealed = [value for value in values if is_sealed(value)]
    for value in sealed:
        box.open(value)
    return len(values) - len(sealed)


async def check_at_start(db: Executor, box: SecretBox, log: logging.Logger) -> None:
    """The start-up check of the notifier and the outbound process: ``SealError`` (the process
    does not start) if a sealed secret opens with no configured key; a warning while some are
    still in clear."""
    in_clear = await check_keys(db, box)
    if in_clear:
        log.warning(
            "some outbound subscription secrets are stored in clear"
            + (
                "; run `python -m winback_notifier.outbound rotate-secrets` to seal them"
                if box.has_keys
                else ": set WINBACK_OUTBOUND_SECRET_KEYS, then run rotate-secrets"
            ),
            extra={"fields": {"values_in_clear": in_clear}},
        )


async def reseal_all(conn: Connection, box: SecretBox) -> tuple[int, int]:
    """Seal every subscription's URL and secrets again with the first key, in one
    transaction; returns (subscriptions, values that were in clear). Clear rows from before
    sealing become sealed; rows sealed with an older key move to the first one."""
    if not box.has_keys:
        raise SealError("rotate-secrets needs WINBACK_OUTBOUND_SECRET_KEYS")
    async with conn.transaction():
        rows = await store.credentials_for_update(conn)
        for row in rows:
            clear_url = box.open(row.url)
            await store.set_credentials(
                conn,
                row.id,
                url=box.reseal(row.url),
                url_shown=shown_url(row.channel, clear_url),
                secrets=[box.reseal(secret) for secret in row.secrets],
            )
    return len(rows), sum(row.in_clear for row in rows)
