"""Signing with Standard Webhooks (https://www.standardwebhooks.com/): one home for both sides.

Ingest verifies inbound deliveries with :func:`sign` (``winback_ingest.vendors.standard_webhooks``);
the outbound deliveries (``winback_notifier.outbound``) sign with it. The signed content is
``{webhook-id}.{webhook-timestamp}.{raw body}``, HMAC-SHA256 keyed with the bytes behind a
``whsec_`` secret, written ``v1,<base64>``. A header may carry several signatures separated by
spaces: that is how a secret is rotated without downtime (sign with old and new while receivers
switch).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one message for one key."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(keys: Iterable[bytes], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one ``v1,`` signature per key, space-separated."""
    signatures = [sign(key, msg_id, timestamp, body) for key in keys]
    if not signatures:
        raise ValueError("at least one key is needed to sign")
    return " ".join(signatures)


def decode_standard_webhooks_secret(secret: str) -> bytes:
    """The HMAC key behind a ``whsec_<base64>`` secret (the prefix is optional)."""
    encoded = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("secret must be 'whsec_' followed by base64") from exc
    if len(key) < 16:
        raise ValueError("secret key must be at least 16 bytes once decoded")
    return key


def new_secret() -> str:
    """A fresh secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
