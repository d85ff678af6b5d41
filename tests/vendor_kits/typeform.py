"""Typeform's kit: ``Typeform-Signature`` over the raw body, answers read by question ref."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from tests import signers
from tests.vendor_kits.kit import DATA, Posted, Refused, Sample, VendorKit
from winback_ingest.vendors.typeform import TYPEFORM
from winback_shared.sources import Vendor

SECRET = "tf_live_7c2e9a4f1b8d3e6a"
OLD_SECRET = "tf_live_0a5d8c3f6e1b9d2c"
COMMENT = "I was on hold for 40 minutes and then nobody could explain why my plan changed."


def _misencode(payload: bytes, secret: str) -> Posted:
    hex_digest = hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    return payload, {
        "content-type": "application/json",
        "typeform-signature": f"sha256={hex_digest}",
    }


def _promoter_changed(change: str) -> bytes:
    payload = json.loads((DATA / "typeform" / "promoter.json").read_bytes())
    form_response = payload["form_response"]
    if change == "no form_response":
        payload.pop("form_response")
    elif change == "no token":
        form_response.pop("token")
    else:
        form_response["answers"] = {"a": 1}
    return json.dumps(payload).encode()


KIT = VendorKit(
    vendor=Vendor.TYPEFORM,
    intake=TYPEFORM,
    secrets=(SECRET, OLD_SECRET),
    sign=lambda payload, secret: signers.typeform(secret, payload),
    misencode=_misencode,
    tamper=lambda body: body.replace(b"Long wait time", b"Short wait time"),
    unsigned=lambda payload: (payload, {"content-type": "application/json"}),
    no_match="no signature matches",
    missing="header is required",
    detractor=Sample(
        "detractor.json",
        response_id="9f3c2a71d0b84e6c5a1f7d2e8b4c6a90",
        delivery_id="01JDA6Q2W8N4T7Y1K3M5P9R0SB",
        holds={
            "response_id": "9f3c2a71d0b84e6c5a1f7d2e8b4c6a90",
            "survey_id": "Hq7RkP2x",
            "submitted_at": datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC),
            "source": "survey",
            "vendor": "typeform",
            "customer": {
                "id": "C-88231",
                "name": "Ana Ruiz",
                "email": "ana.ruiz@example.com",  # typed into the email question
                "phone": "+34 600 123 456",  # no phone question: the hidden field
                "segment": None,
                "lifetime_value": None,
            },
            "interaction": {
                "id": "call-5521",
                "channel": "phone",
                "agent": "jmoreau",
                "team": "Billing T2",
                "occurred_at": datetime(2026, 11, 23, 8, 52, tzinfo=UTC),  # hidden.interaction_at
            },
            "scores": [("nps", 2.0, 0.0, 10.0)],
            "reasons": ["Agent lacked product knowledge", "Long wait time"],
            "comment": COMMENT,
            "follow_up_requested": True,
        },
    ),
    promoter=Sample(
        "promoter.json",
        response_id="4e8a1c6f2b9d7e3a5c0f8b1d6e2a9c47",
        delivery_id="01JDA7B5C9E2G4J6L8N0Q2S4UV",
        holds={
            "response_id": "4e8a1c6f2b9d7e3a5c0f8b1d6e2a9c47",
            "scores": [("nps", 10.0, 0.0, 10.0)],
            "reasons": [],
            "comment": "Sam sorted it out in five minutes. Brilliant.",
            "follow_up_requested": False,
            "customer.id": "C-10442",
            "customer.email": None,
            "customer.phone": None,
            "interaction.agent": "sokafor",
            "interaction.team": "Retention",
        },
    ),
    samples=(
        Sample(
            "odd.json",
            response_id="c7d1e9a3f5b2c8e4a6d0f2b9e1c3a5d7",
            delivery_id="01JDA9X3Z5B7D9F1H3K5M7P9RT",
            field_map={
                "csat": {"from": "satisfaction", "min": 1, "max": 5},
                "reasons": ["Ee5Ff6Gg7Hh8"],  # a question id works as well as its ref
                "interaction_channel": "hidden.utm_source",
                "interaction_id": "delivery_date",
            },
            holds={
                "scores": [("csat", 1.0, 1.0, 5.0)],
                "reasons": ["Parcel left in the rain"],  # the "Other" text
                "customer.phone": "+447700900123",  # typed into the phone question
                "customer.email": None,
                "customer.id": "C-55017",  # the default still applies where not overridden
                "interaction.channel": "sms",
                "interaction.id": "2026-11-22",
                "comment": None,
                "follow_up_requested": False,
            },
        ),
        Sample(
            "detractor.json",
            label="variables-and-calculated-score",
            response_id="9f3c2a71d0b84e6c5a1f7d2e8b4c6a90",
            field_map={
                "customer_segment": "variables.segment",
                "customer_value": "calculated.score",
            },
            holds={"customer.segment": "gold", "customer.lifetime_value": 0.0},
        ),
    ),
    invalid=tuple(
        Refused(_promoter_changed(change), message, label=change)
        for change, message in [
            ("no form_response", "no 'form_response' object"),
            ("no token", "no response id"),
            ("answers not a list", "is not a list"),
        ]
    ),
    case={
        "source": "survey",
        "status": "open",
        "priority": 1,
        "reason_codes": ["product_knowledge", "long_wait"],
        "customer.phone": "+34 600 123 456",
        "interaction.agent": "jmoreau",
        "follow_up_requested": True,
        "comment": COMMENT,
    },
)
