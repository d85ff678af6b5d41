"""Formbricks' kit: Standard Webhooks signatures, answers keyed by question id."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from tests import signers
from tests.vendor_kits.kit import ANA_RUIZ_ON_CALL_5521, DATA, Posted, Refused, Sample, VendorKit
from winback_ingest.vendors.formbricks import FORMBRICKS
from winback_local.signing import new_secret
from winback_shared.sources import Vendor, decode_standard_webhooks_secret

RESPONSE_ID = "cm4x8p2q5000308l7d0c2h1ab"


def _signed_at(payload: bytes, secret: str, at: float | None = None) -> Posted:
    return signers.standard_webhooks(secret, payload, at=at)


def _misencode(payload: bytes, secret: str) -> Posted:
    body, headers = _signed_at(payload, secret)
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + payload
    digest = hmac.new(decode_standard_webhooks_secret(secret), signed, hashlib.sha256)
    return body, {**headers, "webhook-signature": "v1," + digest.hexdigest()}


def _unsigned(payload: bytes) -> Posted:
    """A message id and a timestamp, but no signature."""
    _, headers = _signed_at(payload, new_secret())
    return payload, {name: value for name, value in headers.items() if name != "webhook-signature"}


KIT = VendorKit(
    vendor=Vendor.FORMBRICKS,
    intake=FORMBRICKS,
    secrets=(new_secret(), new_secret()),
    sign=_signed_at,
    signed_at=_signed_at,
    misencode=_misencode,
    tamper=lambda body: body.replace(b'"nps": 3', b'"nps": 9'),
    unsigned=_unsigned,
    no_match="no signature matches",
    missing="required",
    detractor=Sample(
        "detractor_finished.json",
        response_id=RESPONSE_ID,
        holds={
            "response_id": RESPONSE_ID,
            "survey_id": "cm4x7z1k0000008l7e6b0f9qd",
            "submitted_at": datetime(2026, 11, 23, 9, 12, 41, 118000, tzinfo=UTC),
            "scores": [("nps", 3, 0, 10)],
            "reasons": ["Long wait time", "Agent lacked product knowledge"],
            "comment": (
                "I was on hold for forty minutes and then nobody could explain my new tariff."
            ),
            "follow_up_requested": True,
            **ANA_RUIZ_ON_CALL_5521,
            "customer.segment": None,
            "source": "survey",
            "vendor": "formbricks",
        },
    ),
    promoter=Sample(
        "promoter_finished.json",
        response_id="cm4x9c1rw000a08l7a2f3g4hj",
        holds={
            "response_id": "cm4x9c1rw000a08l7a2f3g4hj",
            "scores": [("nps", 10, 0, 10)],
            "reasons": [],
            "comment": "Sam sorted it out in five minutes. Thank you!",
            "follow_up_requested": False,
            "customer.id": "C-10442",
            "customer.email": None,
            "interaction.channel": "chat",
        },
    ),
    samples=(
        Sample("detractor_created.json", response_id=RESPONSE_ID, holds={}),
        Sample(
            "odd_updated.json",
            label="odd-with-the-defaults",
            response_id="cm4xb5m2n000d08l7q1w2e3rt",
            holds={
                "response_id": "cm4xb5m2n000d08l7q1w2e3rt",
                "scores": [("stars", 4, 1, 5)],
                "reasons": [],
                "comment": None,
                "customer.id": None,
                "customer.email": None,
            },
        ),
        Sample(
            "odd_updated.json",
            label="odd-through-a-field-map",
            response_id="cm4xb5m2n000d08l7q1w2e3rt",
            field_map={
                "stars": {"from": "stars", "min": 1, "max": 10},
                "reasons": ["reason", "service_matrix.Speed"],
                "customer_id": "response.contact.userId",
                "customer_email": "response.contactAttributes.email",
                "customer_segment": "response.contactAttributes.plan",
            },
            holds={
                "scores": [("stars", 4, 1, 10)],
                "reasons": ["Poor"],
                "customer.id": "u-20931",
                "customer.email": "j.ng@example.org",
                "customer.segment": "gold",
                "interaction.agent": None,
            },
        ),
    ),
    invalid=tuple(
        Refused(body.encode(), message, label)
        for body, message, label in [
            ('{"data": {"id": "r1", "data": {"nps": 2}}}', "names no 'event'", "no-event"),
            ('{"event": "responseFinished"}', "no 'data' object", "no-data"),
            (
                '{"event": "responseFinished", "data": {"id": "r1", "data": ["x"]}}',
                "not an object",
                "answers-not-an-object",
            ),
            (
                '{"event": "responseFinished", "data": {"id": "r1", "data": {"nps": "great"}}}',
                "nps",
                "nps-not-a-number",
            ),
            (
                '{"event": "responseFinished", "data": {"data": {"nps": 2}}}',
                "no response id",
                "no-id",
            ),
            (
                '{"event": "responseFinished", "data": {"id": "r1", "data": {"nps": 11}}}',
                "outside",
                "nps-outside-its-scale",
            ),
            ("[1, 2]", "not a JSON object", "array"),
        ]
    ),
    skipped=(
        Refused(
            (DATA / "formbricks" / "test_endpoint.json").read_bytes(),
            "'test endpoint' request",
            "test-endpoint",
        ),
        Refused(
            b'{"event": "responseDeleted", "data": {"id": "r1"}}', "'responseDeleted'", "deleted"
        ),
    ),
    case={
        "status": "open",
        "priority": 1,
        "comment": "I was on hold for forty minutes and then nobody could explain my new tariff.",
        "reason_codes": ["long_wait", "product_knowledge"],
    },
)
