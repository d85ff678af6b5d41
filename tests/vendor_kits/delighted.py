"""Delighted's kit: hex ``X-Delighted-Webhook-Signature``, person properties by field map."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from tests import signers
from tests.vendor_kits.kit import Posted, Refused, Sample, VendorKit
from winback_ingest.vendors.delighted import DELIGHTED
from winback_shared.sources import Vendor

API_KEY = "dl_9b3f7c1a5e8d2f6b4a0c"
OLD_API_KEY = "dl_2e6a0d4c8f1b5e9a3d7c"

CALL_CENTRE_MAP: dict[str, Any] = {
    "customer_id": "person_properties.Customer ID",
    "interaction_id": "person_properties.Interaction ID",
    "interaction_channel": "person_properties.Channel",
    "interaction_agent": "person_properties.Agent",
    "interaction_team": "person_properties.Team",
    "reasons": ["enum_k2Lm8N"],
    "follow_up": "enum_p4Qr6S",
}
"""How a call centre's Delighted project places its person properties and extra questions."""

UPDATED_COMMENT = "I was on hold for 40 minutes and the agent could not explain my new tariff."


def _misencode(payload: bytes, secret: str) -> Posted:
    digest = hmac.new(secret.encode(), payload, hashlib.sha256).digest()
    header = "sha256=" + base64.b64encode(digest).decode()
    return payload, {"content-type": "application/json", "x-delighted-webhook-signature": header}


def _refused(payload: dict[str, Any], message: str, label: str) -> Refused:
    return Refused(json.dumps(payload).encode(), message, label)


KIT = VendorKit(
    vendor=Vendor.DELIGHTED,
    intake=DELIGHTED,
    secrets=(API_KEY, OLD_API_KEY),
    sign=lambda payload, secret: signers.delighted(secret, payload),
    misencode=_misencode,
    tamper=lambda body: body.replace(b'"score": 3', b'"score": 9'),
    unsigned=lambda payload: (payload, {"content-type": "application/json"}),
    no_match="no signature matches",
    missing="header is required",
    field_map=CALL_CENTRE_MAP,
    detractor=Sample(
        "detractor_updated.json",
        response_id="771204",
        delivery_id="0b7e3c9a5f1d8b2e6c4a0f9d3b7e1c5a8f2d6b0e4c9a3f7d1b5e8c2a6f0d4b91",
        holds={
            "response_id": "771204",
            "submitted_at": datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC),
            "updated_at": datetime(2026, 11, 23, 9, 17, 40, tzinfo=UTC),
            "scores": [("nps", 3.0, 0.0, 10.0)],
            "comment": UPDATED_COMMENT,
            "reasons": ["Long wait time", "Agent lacked product knowledge"],
            "follow_up_requested": True,
            "customer.id": "C-88231",
            "customer.phone": "+34600123456",
            "interaction": {
                "id": "call-5521",
                "channel": "phone",
                "agent": "Jules Moreau",
                "team": "Billing T2",
                "occurred_at": None,  # Delighted has no default for it; this map names none
            },
        },
    ),
    promoter=Sample(
        "promoter.json",
        response_id="771390",
        delivery_id="a4c8e2f6b0d4a8c2e6f0b4d8a2c6e0f4b8d2a6c0e4f8b2d6a0c4e8f2b6d0a4c8",
        holds={
            "response_id": "771390",
            "scores": [("nps", 10.0, 0.0, 10.0)],
            "comment": "Quick and friendly, thank you!",
            "customer.id": None,  # mapped to a property this person does not have
            "customer.name": "Mei Chen",
            "customer.phone": None,
            "reasons": [],
            "follow_up_requested": False,
        },
    ),
    samples=(
        Sample(
            "detractor_created.json",
            label="created-without-field-map",
            response_id="771204",
            delivery_id="6d2f8a4c1e9b7d3f5a0c8e2b4d6f1a3c9e7b5d2f8a4c6e1b3d9f7a5c2e8b4d60",
            field_map={},
            holds={
                "response_id": "771204",
                "submitted_at": datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC),
                "scores": [("nps", 3.0, 0.0, 10.0)],
                "comment": None,  # the created event has the score and no comment yet
                "reasons": [],
                "follow_up_requested": False,
                "customer": {
                    "id": "448120",  # Delighted's person id, unless the source maps a property
                    "name": "Ana Ruiz",
                    "email": "ana.ruiz@example.com",
                    "phone": "+34600123456",
                    "segment": None,
                    "lifetime_value": None,
                },
                "interaction": dict.fromkeys(("id", "channel", "agent", "team", "occurred_at")),
            },
        ),
        Sample(
            "odd.json",
            response_id="772018",
            delivery_id="f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff01",
            field_map={
                "ces": "integer_Fg7Hj9",
                "comment": ["comment", "text_Rt5Yu7"],
                "reasons": ["enum_Unanswered"],
                "customer_id": "person_properties.Customer ID",
                "customer_segment": "person_properties.Plan",
                "customer_value": "person_properties.Lifetime value",
            },
            holds={
                "scores": [("csat", 2.0, 1.0, 5.0), ("ces", 6.0, 1.0, 7.0)],
                "comment": "Nobody called me back as promised.",  # the empty comment skipped
                "reasons": [],
                "customer": {
                    "id": "55017",
                    "name": None,
                    "email": None,
                    "phone": "+15550100777",
                    "segment": "Family 5G",
                    "lifetime_value": 1840.5,
                },
            },
        ),
    ),
    invalid=(
        _refused(
            {"event_type": "comment.created", "event_data": {"id": "1"}},
            "carries no survey response",
            "comment-event",
        ),
        _refused({"event_type": "survey_response.created"}, "no 'event_data' object", "no-data"),
        _refused(
            {"event_type": "survey_response.created", "event_data": {"score": 3}},
            "no response id",
            "no-id",
        ),
    ),
    skipped=(
        _refused(
            {"event_type": "unsubscribe.created", "event_data": {"person": {"id": "1"}}},
            "no survey response",
            "unsubscribe",
        ),
    ),
    case={
        "status": "open",
        "priority": 1,
        "comment": UPDATED_COMMENT,
        "reason_codes": ["long_wait", "product_knowledge"],
        "follow_up_requested": True,
        "customer.id": "C-88231",
        "interaction.agent": "Jules Moreau",
    },
)
