"""Zendesk's kit: a timestamped signature in a replay window; an admin-written body, read by
paths."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from tests import signers
from tests.vendor_kits.kit import DATA, Posted, Refused, Sample, VendorKit
from winback_ingest.vendors.zendesk import INVOCATION_HEADER, ZENDESK
from winback_shared.sources import Vendor

SECRET = "dGhpc19pc19hX3plbmRlc2tfdGVzdF9zZWNyZXQ="
OLD_SECRET = "b2xkX3plbmRlc2tfc2lnbmluZ19zZWNyZXQ="
INVOCATION_ID = "8350205582"

CUSTOM_BODY_MAP: dict[str, Any] = {
    "response_id": "ticket_id",
    "submitted_at": "rated_at",
    "csat": {
        "from": "rating.text",
        "min": 0,
        "max": 1,
        "values": {"Mauvais, je ne suis pas satisfait": 0, "Bon, je suis satisfait": 1},
    },
    "comment": ["rating.comment"],
    "reasons": ["contact_reason"],
    "customer_id": "customer.crm_id",
    "customer_name": "customer.full_name",
    "customer_email": "customer.email",
    "customer_phone": "customer.mobile",
    "customer_segment": "customer.tier",
    "interaction_id": "ticket_id",
    "interaction_agent": "handled_by.agent",
    "interaction_team": "handled_by.group",
}
"""An admin who wrote their own body (French account, a custom ticket field for the reason)."""


def _signed_at(payload: bytes, secret: str, at: float | None = None) -> Posted:
    """As Zendesk posts it: signed, with the invocation id that names the delivery."""
    body, headers = signers.zendesk(secret, payload, at=at)
    return body, {**headers, INVOCATION_HEADER: INVOCATION_ID}


def _misencode(payload: bytes, secret: str) -> Posted:
    body, headers = _signed_at(payload, secret)
    stamp = headers["x-zendesk-webhook-signature-timestamp"]
    digest = hmac.new(secret.encode(), stamp.encode() + payload, hashlib.sha256).hexdigest()
    return body, {**headers, "x-zendesk-webhook-signature": digest}


def _with_rating(rating: str) -> bytes:
    payload = json.loads((DATA / "zendesk" / "bad_rating.json").read_bytes())
    payload["satisfaction"]["rating"] = rating
    return json.dumps(payload).encode()


BAD_RATING_CUSTOMER = {
    "id": "C-88231",
    "name": "Ana Ruiz",
    "email": "ana.ruiz@example.com",
    "phone": "+34 600 123 456",
    "segment": None,
    "lifetime_value": None,
}

KIT = VendorKit(
    vendor=Vendor.ZENDESK,
    intake=ZENDESK,
    secrets=(SECRET, OLD_SECRET),
    sign=_signed_at,
    signed_at=_signed_at,
    misencode=_misencode,
    tamper=lambda body: body.replace(b"Bad, I'm", b"Good, I'm"),
    unsigned=lambda payload: (payload, {"content-type": "application/json"}),
    no_match="no signature matches",
    missing="are required",
    detractor=Sample(
        "bad_rating.json",
        response_id="48213",
        delivery_id=INVOCATION_ID,
        holds={
            "response_id": "48213",
            "survey_id": None,
            "submitted_at": datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC),
            "scores": [("csat", 0.0, 0.0, 1.0)],
            "comment": "Two calls and my refund still is not there. Nobody called back.",
            "reasons": [],
            "follow_up_requested": False,
            "customer": BAD_RATING_CUSTOMER,
            "interaction": {
                "id": "48213",
                "channel": "Phone call (incoming)",
                "agent": "Jules Moreau",
                "team": "Billing T2",
                "occurred_at": datetime(2026, 11, 22, 16, 3, 12, tzinfo=UTC),  # ticket.created_at
            },
        },
    ),
    promoter=Sample(
        "good_rating.json",
        response_id="48377",
        delivery_id=INVOCATION_ID,
        holds={
            "scores": [("csat", 1.0, 0.0, 1.0)],
            "comment": None,  # an empty placeholder is no comment
            "customer.id": None,
            "customer.phone": None,
            "customer.email": "m.chen@example.net",
            "interaction.channel": "Chat",
        },
    ),
    samples=(
        Sample(
            "custom_body.json",
            response_id="48299",  # a number in the body
            delivery_id=INVOCATION_ID,
            field_map=CUSTOM_BODY_MAP,
            holds={
                "response_id": "48299",
                "submitted_at": datetime(2026, 11, 23, 7, 55, 31, tzinfo=UTC),
                "scores": [("csat", 0.0, 0.0, 1.0)],
                "comment": "On m'a transféré trois fois.",
                "reasons": ["transferred"],
                "customer": {
                    "id": "FR-20931",
                    "name": "Claire Dubois",
                    "email": None,
                    "phone": "+33 6 12 34 56 78",
                    "segment": "gold",
                    "lifetime_value": None,
                },
                "interaction": {
                    "id": "48299",
                    "channel": None,
                    "agent": "Nadia Benali",
                    "team": "Facturation",
                    "occurred_at": None,
                },
            },
        ),
    ),
    invalid=(
        Refused(
            _with_rating("Schlecht, ich bin unzufrieden"),
            "not in the field map's 'values'",
            "rating-text-not-in-values",
        ),
        Refused(b"[1, 2]", "not a JSON object", "array"),
        Refused(b"not json", "not JSON", "not-json"),
        Refused(b'{"satisfaction": {"rating": "bad"}}', "no response id", "no-id"),
    ),
    case={
        "status": "open",
        "priority": 1,
        "scores": [{"kind": "csat", "value": 0.0, "scale_min": 0.0, "scale_max": 1.0}],
        "comment": "Two calls and my refund still is not there. Nobody called back.",
        "customer.phone": "+34 600 123 456",
        "interaction.team": "Billing T2",
    },
)
