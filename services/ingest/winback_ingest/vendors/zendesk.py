"""Zendesk: satisfaction ratings posted by a trigger webhook whose JSON body the admin writes.

Confirmed against Zendesk's developer documentation:

- https://developer.zendesk.com/documentation/webhooks/verifying/ : the signature is
  ``base64(HMAC-SHA256(signing secret, timestamp + body))`` in ``X-Zendesk-Webhook-Signature``,
  with the timestamp in ``X-Zendesk-Webhook-Signature-Timestamp``;
- https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/ : the
  timestamp is ISO 8601 UTC (``2021-03-25T05:09:27Z``) and ``X-Zendesk-Webhook-Invocation-Id``
  names the delivery.

The timestamp is signed, so a delivery outside the replay window (``Signed.tolerance_seconds``)
is refused; inside it, deduplication by response id makes a replay harmless. Because the body is
the admin's design, the response key is read at the source's ``field_map.response_id`` (a dotted
path), defaulting to the path used by the body template in ``docs/vendors/zendesk.md``.
"""

from __future__ import annotations

from typing import Any

from winback_ingest.vendors.base import (
    Delivery,
    OneContentType,
    SignatureError,
    Signed,
    any_key_signed,
    text_at,
)
from winback_shared.sources import SourceConfig
from winback_shared.zendesk_signatures import INVOCATION_HEADER as INVOCATION_HEADER
from winback_shared.zendesk_signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, BadTimestamp
from winback_shared.zendesk_signatures import sign as sign
from winback_shared.zendesk_signatures import signed_at as zendesk_signed_at

DEFAULT_RESPONSE_KEY_PATH = "ticket.id"
"""Where the documented body template puts the ticket id; the router's default map agrees."""

EXAMPLE: dict[str, Any] = {
    "ticket": {
        "id": "48213",
        "via": "Phone call (incoming)",
        "group": "Billing",
        "assignee": "Jules Moreau",
        "updated_at": "2026-11-23T09:14:05Z",
        "requester": {
            "external_id": "C-88231",
            "name": "Ana Ruiz",
            "email": "ana.ruiz@example.com",
            "phone": "+34 600 123 456",
        },
    },
    "satisfaction": {
        "rating": "Bad, I'm unsatisfied",
        "comment": "Nobody could explain why my plan changed.",
    },
}


def signed_at(timestamp: str) -> float:
    """Seconds since the epoch of Zendesk's signature timestamp; a malformed one is a
    ``SignatureError``."""
    try:
        return zendesk_signed_at(timestamp)
    except BadTimestamp as exc:
        raise SignatureError(str(exc)) from None


class ZendeskIntake(OneContentType):
    """Zendesk's conventions: JSON, a timestamped HMAC, keyed where the field map says."""

    signing = (
        "`X-Zendesk-Webhook-Signature: base64(HMAC-SHA256(secret, timestamp + body))` with "
        "`X-Zendesk-Webhook-Signature-Timestamp` (ISO 8601, 5-minute window)."
    )
    example = EXAMPLE

    def authenticate(self, source: SourceConfig, request: Signed) -> None:
        """Check the signature over ``timestamp + body`` within the replay window."""
        signature = request.headers.get(SIGNATURE_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise SignatureError(
                "X-Zendesk-Webhook-Signature and X-Zendesk-Webhook-Signature-Timestamp are required"
            )
        if abs(request.now - signed_at(timestamp)) > request.tolerance_seconds:
            raise SignatureError(
                "X-Zendesk-Webhook-Signature-Timestamp is outside the accepted window"
            )
        if not any_key_signed(
            source.keys,
            [signature.encode()],
            lambda key: sign(key, timestamp, request.body).encode(),
        ):
            raise SignatureError("no signature matches")

    def inspect(self, source: SourceConfig, payload: dict[str, Any], request: Signed) -> Delivery:
        """Keyed by the value at the source's response id path; the invocation id names it."""
        path = source.field_map.response_id or DEFAULT_RESPONSE_KEY_PATH
        return Delivery(
            response_key=text_at(payload, path),
            delivery_id=request.headers.get(INVOCATION_HEADER),
        )


ZENDESK = ZendeskIntake()
