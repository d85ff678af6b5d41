"""Zendesk's webhook signature, one home for both directions that meet it.

Zendesk signs each webhook request with the webhook's signing secret:
``X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, timestamp + raw body))`` where the
timestamp is ``X-Zendesk-Webhook-Signature-Timestamp``, ISO 8601 UTC (``2021-03-25T05:09:27Z``).
Ingest verifies it on satisfaction surveys posted by a Zendesk trigger; the notifier verifies it
on ticket changes posted by the helpdesk sync's trigger. The secret is used as the text Zendesk
shows (its bytes), not base64-decoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime

SIGNATURE_HEADER = "x-zendesk-webhook-signature"
TIMESTAMP_HEADER = "x-zendesk-webhook-signature-timestamp"
INVOCATION_HEADER = "x-zendesk-webhook-invocation-id"

_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$")


class BadTimestamp(ValueError):
    """The signature timestamp is not Zendesk's ISO 8601 form; the message says so."""


def sign(key: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Zendesk-Webhook-Signature`` value (senders in tests use it too)."""
    digest = hmac.new(key, timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_at(timestamp: str) -> float:
    """Seconds since the epoch of Zendesk's ISO 8601 signature timestamp."""
    if not _ISO_UTC.match(timestamp):
        raise BadTimestamp(
            "X-Zendesk-Webhook-Signature-Timestamp must be ISO 8601, like 2021-03-25T05:09:27Z"
        )
    try:
        parsed = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        raise BadTimestamp("X-Zendesk-Webhook-Signature-Timestamp is not a valid time") from None
    return parsed.astimezone(UTC).timestamp()


def timestamp_of(moment: datetime) -> str:
    """``moment`` as Zendesk writes the signature timestamp."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def matches(key: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is ``key``'s over ``timestamp + body`` (constant-time)."""
    return hmac.compare_digest(sign(key, timestamp, body).encode(), signature.encode())
