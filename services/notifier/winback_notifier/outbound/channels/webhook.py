"""Signed webhooks: Standard Webhooks, the scheme ingest verifies inbound.

Headers ``webhook-id`` (the delivery's id: the same on every retry, so the receiver can drop a
repeat), ``webhook-timestamp`` (this attempt's time) and ``webhook-signature`` (one ``v1,``
signature per current secret: two during a rotation). The body is the event payload,
``{"type", "timestamp", "data": {"case", "change"}}``. Any 2xx is delivered; 410 Gone refuses
for good; every other answer is retried, since a receiver answering 4xx is most often
misconfigured for a while (a secret not yet rolled out), and the retries bridge that.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from winback_notifier.outbound.channels.base import (
    Context,
    Delivery,
    OutboundRequest,
    Outcome,
    judge_status,
)
from winback_shared.standard_webhooks import decode_standard_webhooks_secret, signature_header


class WebhookChannel:
    """Standard Webhooks deliveries."""

    def build(self, delivery: Delivery, context: Context) -> OutboundRequest:
        """The signed POST."""
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        timestamp = int(context.now.timestamp())
        keys = [decode_standard_webhooks_secret(s) for s in context.subscription.secrets]
        return OutboundRequest(
            url=context.subscription.url,
            body=body,
            headers={
                "content-type": "application/json",
                "webhook-id": delivery.webhook_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature_header(keys, delivery.webhook_id, timestamp, body),
            },
        )

    def judge(self, status: int, headers: Mapping[str, str], body: str) -> Outcome:
        """2xx delivered, 410 refused, anything else retried."""
        return judge_status(status, headers, body, client_errors_final=False)
