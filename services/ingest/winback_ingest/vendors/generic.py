"""The generic format: our canonical JSON, signed with Standard Webhooks."""

from __future__ import annotations

from typing import Any

from winback_ingest.vendors.base import Delivery, OneContentType, Signed, text_at
from winback_ingest.vendors.standard_webhooks import verify
from winback_shared.sources import SourceConfig

EXAMPLE: dict[str, Any] = {
    "response_id": "r-20261123-0042",
    "survey_id": "post-call-nps",
    "submitted_at": "2026-11-23T09:14:05Z",
    "customer": {"id": "C-88231", "name": "Ana Ruiz", "phone": "+34 600 123 456"},
    "interaction": {"id": "call-5521", "channel": "phone", "agent": "jmoreau", "team": "T2"},
    "scores": [{"kind": "nps", "value": 3}],
    "reasons": ["Agent lacked product knowledge"],
    "comment": "Nobody could explain why my plan changed.",
    "follow_up_requested": True,
}


class StandardWebhooksIntake(OneContentType):
    """Shared by every vendor that signs with Standard Webhooks (generic, Formbricks)."""

    key_path = "response_id"
    signing = (
        "Standard Webhooks: `webhook-id`, `webhook-timestamp` (5-minute window) and "
        "`webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`."
    )
    example = EXAMPLE

    def authenticate(self, source: SourceConfig, request: Signed) -> None:
        """Check ``webhook-signature`` over ``{id}.{timestamp}.{body}`` within the window."""
        verify(
            keys=source.keys,
            msg_id=request.headers.get("webhook-id"),
            timestamp=request.headers.get("webhook-timestamp"),
            signature_header=request.headers.get("webhook-signature"),
            body=request.body,
            now=request.now,
            tolerance_seconds=request.tolerance_seconds,
        )

    def inspect(self, source: SourceConfig, payload: dict[str, Any], request: Signed) -> Delivery:
        """Keyed by the response id; ``webhook-id`` names the delivery."""
        return Delivery(
            response_key=text_at(payload, self.key_path),
            delivery_id=request.headers.get("webhook-id"),
        )


GENERIC = StandardWebhooksIntake()
