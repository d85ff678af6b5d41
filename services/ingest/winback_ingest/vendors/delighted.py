"""Delighted: ``survey_response.created`` / ``survey_response.updated`` deliveries.

Confirmed against Delighted's API documentation, https://app.delighted.com/docs/api/webhooks:
``event_type``, ``event_id`` and ``event_data`` (the survey response: ``id``, ``person``,
``survey_type``, ``score``, ``comment``, Unix-second ``created_at``/``updated_at``,
``person_properties``, ``additional_answers``). ``created`` fires the moment a score is given and
rarely carries the comment; ``updated`` follows whenever the score or comment changes. Every
request carries ``X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256(API key, raw body)>``,
keyed with the account's (project's) private API key.

Both events of one response are keyed by the response id, so they land on one partition in
order and the router revises one case. Delighted signs no timestamp: deduplication by response
id is the replay defence (a replayed delivery revises nothing it has not already said).
"""

from __future__ import annotations

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

SIGNATURE_HEADER = "x-delighted-webhook-signature"
PREFIX = "sha256="
RESPONSE_KEY_PATH = "event_data.id"
"""The survey response id, the same in ``created`` and ``updated``."""

EXAMPLE: dict[str, Any] = {
    "event_type": "survey_response.updated",
    "event_id": "3f9c1e7a2b8d4c6e0a1f5b9d7c3e2a4b6d8f0e1c3a5b7d9f2e4c6a8b0d1f3e5a",
    "event_data": {
        "id": "771204",
        "person": {
            "id": "448120",
            "email": "ana.ruiz@example.com",
            "name": "Ana Ruiz",
            "phone_number": "+34600123456",
            "created_at": 1795338000,
        },
        "survey_type": "nps",
        "score": 3,
        "comment": "Nobody could explain why my plan changed.",
        "permalink": "https://app.delighted.com/r/Xb3kQ9mPz2LwT7vN",
        "created_at": 1795338845,
        "updated_at": 1795339020,
        "person_properties": {"Customer ID": "C-88231", "Agent": "jmoreau", "Team": "T2"},
        "notes": [],
        "tags": [],
        "additional_answers": [],
    },
}


def sign(key: bytes, body: bytes) -> str:
    """The ``X-Delighted-Webhook-Signature`` value for these bytes; used by senders and tests."""
    return PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


class DelightedIntake(OneContentType):
    """Delighted's conventions: JSON, one hex body HMAC keyed by the API key."""

    signing = (
        "`X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256(API key, raw body)>`; "
        "no timestamp."
    )
    example = EXAMPLE

    def authenticate(self, source: SourceConfig, request: Signed) -> None:
        """Check the hex signature over the raw body against every configured API key."""
        verify_prefixed_signature(
            source.keys,
            request.headers.get(SIGNATURE_HEADER),
            name="X-Delighted-Webhook-Signature",
            prefix=PREFIX,
            encoding="hex",
            expected_for=lambda key: sign(key, request.body).removeprefix(PREFIX),
            case_insensitive=True,  # hex; base64 lowered still matches nothing
        )

    def inspect(self, source: SourceConfig, payload: dict[str, Any], request: Signed) -> Delivery:
        """Keyed by the survey response id; ``event_id`` names the delivery."""
        return Delivery(
            response_key=text_at(payload, RESPONSE_KEY_PATH),
            delivery_id=text_at(payload, "event_id"),
        )


DELIGHTED = DelightedIntake()
