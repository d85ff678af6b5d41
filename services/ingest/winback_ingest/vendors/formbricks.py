"""Formbricks: ``responseCreated`` / ``responseUpdated`` / ``responseFinished`` webhooks.

Confirmed against Formbricks' own documentation and source:

- https://formbricks.com/docs/xm-and-surveys/core-features/integrations/webhooks ("Webhook Security
  with Standard Webhooks", "Example Webhook Payloads");
- formbricks/formbricks ``apps/web/modules/integrations/webhooks/lib/send-signed-webhook.ts`` (every
  delivery, the "test endpoint" button included, is signed the Standard Webhooks way when the
  webhook has a secret; the message id is stable across retries, the timestamp is not) and
  ``apps/web/app/api/(internal)/pipeline/route.ts`` (the body is ``{webhookId, event, data}`` with
  ``data`` the response: ``id``, ``surveyId``, ``finished``, ``data`` keyed by question id with
  hidden fields merged in, ``contact``, ``contactAttributes``, ``meta``, ``variables`` ...).

The documentation shows the example bodies wrapped in a JSON array; the source posts the object
itself, which is what we accept.

Every delivery about one response is keyed by the Formbricks response id, so ``responseCreated``,
``responseUpdated`` and ``responseFinished`` reach the router in order on one partition and revise
one stored response.
"""

from __future__ import annotations

from typing import Any

from winback_ingest.vendors.generic import StandardWebhooksIntake

EXAMPLE: dict[str, Any] = {
    "webhookId": "cm4w1sbcj000108l8fo5l2x7d",
    "event": "responseFinished",
    "data": {
        "id": "cm4w1w0ez000508l84m0f7h3q",
        "createdAt": "2026-11-23T09:12:41.118Z",
        "updatedAt": "2026-11-23T09:13:58.402Z",
        "surveyId": "cm4w1p9gl000008l8a1b2c3d4",
        "finished": True,
        "data": {
            "nps": 3,
            "reason": ["Long wait time"],
            "comment": "I was on hold for forty minutes.",
            "customer_id": "C-88231",
            "phone": "+34 600 123 456",
            "agent": "jmoreau",
            "team": "Billing",
        },
        "contact": None,
        "contactAttributes": None,
        "meta": {"source": "email", "country": "ES"},
        "language": "default",
        "tags": [],
        "variables": {},
    },
}


class FormbricksIntake(StandardWebhooksIntake):
    """Standard Webhooks signatures (``whsec_`` secrets); keyed by the Formbricks response id."""

    key_path = "data.id"
    signing = (
        "Standard Webhooks, as Formbricks signs: `webhook-id`, `webhook-timestamp` (5-minute "
        "window) and `webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`; a "
        "retry keeps `webhook-id` and is signed again with a fresh timestamp."
    )
    example = EXAMPLE


FORMBRICKS = FormbricksIntake()
