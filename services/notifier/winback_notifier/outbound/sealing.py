"""Subscription secrets sealed at rest with Fernet keys from the environment.

What a subscription holds that would let anyone act in its name: a webhook's signing secrets
(forge deliveries a CRM trusts), PagerDuty's routing key (page the on-call), an SMTP password,
and the URL of a Slack or Teams webhook, which is itself the credential (whoever has it may
post to the channel). A database dump or a read-only replica must not hand those out, so they
are stored sealed: ``fernet:`` followed by a Fernet token (AES-128-CBC and HMAC-SHA256, from the
well-kept ``cryptography`` package), under keys the database never sees.

``WINBACK_OUTBOUND_SECRET_KEYS`` holds one or more keys: the **first seals**, **every one
opens** (``MultiFernet``), so a key is rotated without downtime: add the new key after the old
one everywhere, then put it first, run ``python -m winback_notifier.outbound rotate-secrets``
(every value is sealed again with the new key), then drop the old key. Values stored before
sealing existed (no ``fernet:`` prefix) are still read as they are, until that command seals
them.

Without any key, values are stored in clear as before (and the processes say so at start-up);
once a sealed value exists, a process without a key that opens it refuses to start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from winback_notifier.outbound.subscriptions import Channel, Subscription

PREFIX = "fernet:"
"""What marks a stored value as sealed (migration 0033 documents it on the columns)."""

SECRET_URL_CHANNELS = frozenset({Channel.SLACK, Channel.TEAMS})
"""Channels whose URL is the credential: it is never shown, only its host."""


class SealError(RuntimeError):
    """A sealed value that cannot be opened: no key configured, or none of them fits."""


def is_sealed(value: str) -> bool:
    """Whether ``value`` was stored sealed."""
    return value.startswith(PREFIX)


def new_key() -> str:
    """A fresh Fernet key (32 random bytes, URL-safe base64), for the settings."""
    return Fernet.generate_key().decode()


class SecretBox:
    """Seals with the first key and opens with any; with no key, stores in clear."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys]) if keys else None
        except ValueError as exc:
            raise ValueError(
                "WINBACK_OUTBOUND_SECRET_KEYS holds a value that is not a Fernet key "
                "(32 bytes, URL-safe base64)"
            ) from exc

    @property
    def has_keys(self) -> bool:
        """Whether values are sealed (else stored in clear)."""
        return self._fernet is not None

    def seal(self, value: str) -> str:
        """``value`` as stored: sealed with the first key, or as it is without keys."""
        if self._fernet is None or is_sealed(value):
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        """``value`` in clear (a clear value is returned as it is); ``SealError`` if sealed
        under no key we hold."""
        if not is_sealed(value):
            return value
        if self._fernet is None:
            raise SealError(
                "a subscription secret is sealed but WINBACK_OUTBOUND_SECRET_KEYS is not set"
            )
        try:
            return self._fernet.decrypt(value.removeprefix(PREFIX).encode()).decode()
        except InvalidToken:
            raise SealError(
                "a subscription secret is sealed with a key that is not in "
                "WINBACK_OUTBOUND_SECRET_KEYS (was an old key dropped before rotate-secrets?)"
            ) from None

    def reseal(self, value: str) -> str:
        """``value`` sealed with the first key, whatever it was stored as."""
        if self._fernet is None:
            raise SealError("sealing needs WINBACK_OUTBOUND_SECRET_KEYS")
        return self.seal(self.open(value))

    def seal_all(self, values: Iterable[str]) -> list[str]:
        """Each of ``values`` sealed."""
        return [self.seal(value) for value in values]

    def open_subscription(self, subscription: Subscription) -> Subscription:
        """``subscription`` with its URL and secrets in clear, to send with."""
        return dataclasses.replace(
            subscription,
            url=self.open(subscription.url),
            secrets=tuple(self.open(secret) for secret in subscription.secrets),
        )


def shown_url(channel: Channel, url: str) -> str:
    """The URL as admins see it: Slack's and Teams' only by their host (the rest is the
    credential), a sealed one we cannot show as ``(sealed)``, others as they are."""
    if is_sealed(url):
        return "(sealed)"
    if channel in SECRET_URL_CHANNELS:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}/…"
    return url
