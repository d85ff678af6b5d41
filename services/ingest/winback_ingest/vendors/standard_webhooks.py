"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The signed content is ``{webhook-id}.{webhook-timestamp}.{raw body}``; the header lists one or
more ``v1,<base64 HMAC-SHA256>`` entries separated by spaces. Every candidate is compared in
constant time against every configured key, so rotation needs no downtime. Signing itself
lives in :mod:`winback_shared.standard_webhooks`, shared with the outbound deliveries.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from winback_ingest.vendors.base import SignatureError
from winback_shared.standard_webhooks import sign

__all__ = ["SignatureError", "sign", "verify"]


def verify(
    *,
    keys: Iterable[bytes],
    msg_id: str | None,
    timestamp: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    tolerance_seconds: int,
) -> None:
    """Raise ``SignatureError`` unless one signature matches one key within the time window."""
    if not msg_id or not timestamp or not signature_header:
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError("webhook-timestamp must be integer seconds since the epoch") from None
    if abs(now - sent_at) > tolerance_seconds:
        raise SignatureError("webhook-timestamp is outside the accepted window")
    candidates = [
        part.removeprefix("v1,").encode()
        for part in signature_header.split()
        if part.startswith("v1,")
    ]
    if not candidates:
        raise SignatureError("webhook-signature has no v1 signature")
    matched = False
    for key in keys:
        expected = sign(key, msg_id, sent_at, body).removeprefix("v1,").encode()
        for candidate in candidates:
            # No early exit: how many keys/candidates we tried must not leak through timing.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no signature matches")
