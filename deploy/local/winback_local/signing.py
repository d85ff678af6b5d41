"""Building signed sample deliveries, as a survey vendor would send them.

Light on purpose: ``winback send`` imports it on every call, so it signs with
:mod:`winback_shared.standard_webhooks` alone, not through ingest's vendor package (which
loads every vendor's intake, FastAPI and pydantic with it).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from winback_local.demo_customers import demo_customer
from winback_shared.standard_webhooks import decode_standard_webhooks_secret, new_secret, sign

__all__ = [
    "SAMPLE_CUSTOMER",
    "new_secret",
    "sample_response",
    "signed_headers",
    "signed_request",
]


SAMPLE_CUSTOMER = {
    "id": "c-1001",
    "name": "Dana Whitfield",
    "email": "dana@example.com",
    "phone": "+1 555 0100",
}
"""The one customer of every sample unless ``varied_customer``: tests look for her name, and the
benchmarks' and chaos runs' figures stay comparable with the earlier ones measured with her."""


def sample_response(
    *,
    nps: int,
    reasons: list[str],
    comment: str | None = None,
    follow_up: bool = False,
    varied_customer: bool = False,
) -> dict[str, Any]:
    """A generic-format survey response with a fresh response id; ``varied_customer``: from a
    customer drawn from that id (``winback send``, so a demo looks like many customers), else
    from :data:`SAMPLE_CUSTOMER`."""
    response_id = f"demo-{uuid4()}"
    return {
        "response_id": response_id,
        "survey_id": "demo-survey",
        "submitted_at": datetime.now(UTC).isoformat(),
        "customer": demo_customer(response_id) if varied_customer else dict(SAMPLE_CUSTOMER),
        "interaction": {"id": "call-77", "channel": "phone", "agent": "Sam", "team": "Billing"},
        "scores": [{"kind": "nps", "value": nps}],
        "reasons": reasons,
        "comment": comment,
        "follow_up_requested": follow_up,
    }


def signed_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Standard Webhooks headers for exactly these bytes (``timestamp`` defaults to now)."""
    msg_id = f"msg_{uuid4().hex}"
    sent_at = int(time.time()) if timestamp is None else timestamp
    signature = sign(decode_standard_webhooks_secret(secret), msg_id, sent_at, body)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(sent_at),
        "webhook-signature": signature,
    }


def signed_request(secret: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers for ``payload``."""
    body = json.dumps(payload).encode()
    return body, signed_headers(secret, body)
