"""Typeform: ``form_response`` deliveries signed with ``Typeform-Signature``.

Confirmed against Typeform's developer documentation:

- payload: https://www.typeform.com/developers/webhooks/example-payload/ (``event_id``,
  ``event_type``, ``form_response`` with ``token``, ``form_id``, ``submitted_at``, ``hidden``,
  ``answers`` typed by ``type`` and naming their question by ``field.id``/``field.ref``);
- signature: https://www.typeform.com/developers/webhooks/secure-your-webhooks/
  (``Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>``).

Typeform signs no timestamp, so a captured delivery verifies forever. The replay defence is
deduplication: the Kafka key and the router's unique key are the response ``token``, so a
replayed delivery can never open a second case. Typeform disables a webhook that answers 404 or
410; ingest answers those only for sources that are not configured at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from winback_ingest.vendors.base import (
    Delivery,
    OneContentType,
    Signed,
    text_at,
    verify_prefixed_signature,
)
from winback_shared.sources import SourceConfig

SIGNATURE_HEADER = "typeform-signature"
PREFIX = "sha256="
RESPONSE_KEY_PATH = "form_response.token"
"""The response token; the router's default ``response_id`` locator names the same value."""

EXAMPLE: dict[str, Any] = {
    "event_id": "01JD8W4Q7X3M2K9V5B6N1C0ZQF",
    "event_type": "form_response",
    "form_response": {
        "form_id": "Hq7RkP2x",
        "token": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
        "landed_at": "2026-11-23T09:12:41Z",
        "submitted_at": "2026-11-23T09:14:05Z",
        "hidden": {"customer_id": "C-88231", "agent": "jmoreau", "team": "T2"},
        "answers": [
            {
                "type": "number",
                "number": 3,
                "field": {"id": "kQ2mV9tLp0aZ", "type": "nps", "ref": "nps"},
            },
            {
                "type": "choice",
                "choice": {"label": "Agent lacked product knowledge"},
                "field": {"id": "Zr4nB8cWq1eX", "type": "multiple_choice", "ref": "reason"},
            },
            {
                "type": "text",
                "text": "Nobody could explain why my plan changed.",
                "field": {"id": "Pt6yH3jKd7sF", "type": "long_text", "ref": "comment"},
            },
        ],
    },
}


def sign(key: bytes, body: bytes) -> str:
    """The ``Typeform-Signature`` value for these bytes; used by senders and tests."""
    return PREFIX + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


class TypeformIntake(OneContentType):
    """Typeform's conventions: JSON, one body HMAC, keyed by the response token."""

    signing = "`Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, raw body)>`; no timestamp."
    example = EXAMPLE

    def authenticate(self, source: SourceConfig, request: Signed) -> None:
        """Check ``Typeform-Signature`` over the raw body against every configured secret."""
        verify_prefixed_signature(
            source.keys,
            request.headers.get(SIGNATURE_HEADER),
            name="Typeform-Signature",
            prefix=PREFIX,
            encoding="base64",
            expected_for=lambda key: sign(key, request.body).removeprefix(PREFIX),
        )

    def inspect(self, source: SourceConfig, payload: dict[str, Any], request: Signed) -> Delivery:
        """Keyed by the response token; ``event_id`` names the delivery."""
        return Delivery(
            response_key=text_at(payload, RESPONSE_KEY_PATH),
            delivery_id=text_at(payload, "event_id"),
        )


TYPEFORM = TypeformIntake()
