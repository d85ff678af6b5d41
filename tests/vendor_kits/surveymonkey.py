"""SurveyMonkey's kit: ``Sm-Signature`` over a callback of ids; the response read from the API."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from tests import signers
from tests.vendor_api_fakes import FakeSurveyMonkey
from tests.vendor_kits.kit import (
    ANA_RUIZ_ON_CALL_5521,
    DATA,
    Posted,
    Refused,
    Sample,
    VendorApi,
    VendorKit,
)
from winback_ingest.vendors.surveymonkey import SURVEYMONKEY
from winback_shared.sources import Vendor

SECRET = "4f9aC2xT9zK1wQe&c41f0e8d9a2b7c6f5e4d3b2a1"
"""``{api_key}&{api_secret}`` of the SurveyMonkey app that owns the webhook."""
OLD_SECRET = "oldClientId01&0f1e2d3c4b5a69788796a5b4"
TOKEN_ENV = "WINBACK_TEST_SURVEYMONKEY_TOKEN"
TOKEN = "sm-access-token-2c9f41"
SURVEY_ID = "405812337"
FIELD_MAP = {
    "nps": "187654321",
    "stars": "187654325",
    "reasons": ["187654322"],
    "comment": ["187654323"],
    "follow_up": "187654324",
    "customer_name": "187654326.name",
    "customer_phone": "187654326.phone",
}


def load(name: str) -> dict[str, Any]:
    """A fixture, parsed."""
    loaded: dict[str, Any] = json.loads((DATA / "surveymonkey" / name).read_bytes())
    return loaded


def api_with_fixtures(token: str) -> FakeSurveyMonkey:
    """The local SurveyMonkey API serving the fixture survey and its three responses."""
    fake = FakeSurveyMonkey(token)
    fake.add_survey(load("survey_details.json"))
    for name in ("response_detractor.json", "response_promoter.json", "response_odd.json"):
        fake.add_response(load(name))
    return fake


def response_path(response_id: str) -> str:
    """Where the API serves a response of the fixture survey."""
    return f"/v3/surveys/{SURVEY_ID}/responses/{response_id}/details"


def _misencode(payload: bytes, secret: str) -> Posted:
    body, headers = signers.surveymonkey(secret, payload)
    hex_digest = hmac.new(secret.encode(), payload, hashlib.sha1).hexdigest()
    return body, {**headers, "sm-signature": hex_digest}


def _callback(change: dict[str, Any], message: str, label: str) -> Refused:
    return Refused(
        json.dumps({**load("callback_detractor.json"), **change}).encode(), message, label
    )


KIT = VendorKit(
    vendor=Vendor.SURVEYMONKEY,
    intake=SURVEYMONKEY,
    secrets=(SECRET, OLD_SECRET),
    sign=lambda payload, secret: signers.surveymonkey(secret, payload),
    misencode=_misencode,
    tamper=lambda body: body.replace(b"114875963501", b"114875963502"),
    unsigned=lambda payload: (
        payload,
        {"content-type": "application/vnd.surveymonkey.response.v1+json"},
    ),
    no_match="does not match",
    missing="required",
    field_map=FIELD_MAP,
    api=VendorApi(
        token_env=TOKEN_ENV,
        token=TOKEN,
        build=api_with_fixtures,
        response_path=response_path,
        options={"timeout_seconds": 5},
    ),
    detractor=Sample(
        "callback_detractor.json",
        response_id="114875963501",
        delivery_id="10390187224",
        holds={
            "response_id": "114875963501",
            "survey_id": SURVEY_ID,
            "submitted_at": datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC),
            "scores": [("nps", 2, 0, 10), ("stars", 1, 1, 5)],
            "reasons": [
                "Long wait time",
                "Agent lacked product knowledge",
                "Nobody called back as promised",
            ],
            "comment": (
                "I was on hold for forty minutes and the agent could not explain my new tariff."
            ),
            "follow_up_requested": True,
            **ANA_RUIZ_ON_CALL_5521,
        },
    ),
    promoter=Sample(
        "callback_promoter.json",
        response_id="114875963777",
        delivery_id="10390187390",
        holds={
            "response_id": "114875963777",
            "scores": [("nps", 10, 0, 10), ("stars", 5, 1, 5)],
            "reasons": [],
            "comment": "Sam sorted it out in five minutes.",
            "follow_up_requested": False,
            "customer.email": None,
            "interaction.team": "Retention",
        },
    ),
    samples=(
        Sample(
            "callback_odd.json",
            response_id="114875964002",
            delivery_id="10390188001",
            field_map={**FIELD_MAP, "customer_email": "187654326.email", "comment": ["187654399"]},
            holds={
                "response_id": "114875964002",
                "scores": [("stars", 2, 1, 5)],
                "reasons": ["The app logged me out twice"],
                "comment": "a question added after this survey was cached",
                "follow_up_requested": False,
                "customer.id": "C-77310",
                "customer.email": "j.ng@example.org",
                "interaction.agent": None,
            },
        ),
        Sample(
            "callback_detractor.json",
            label="without-a-field-map-only-ids-and-custom-variables",
            response_id="114875963501",
            field_map={},
            holds={
                "response_id": "114875963501",
                "scores": [],
                "reasons": [],
                "customer.id": "C-88231",
                "customer.email": "ana.ruiz@example.com",
            },
        ),
    ),
    invalid=(
        _callback({"event_type": None}, "event_type", "no-event-type"),
        _callback({"object_id": "../../users/me"}, "object_id", "object-id-a-path"),
        _callback({"object_id": None}, "object_id", "no-object-id"),
        _callback({"resources": {"survey_id": "405812337?x=1"}}, "survey_id", "survey-id-a-query"),
        _callback({"resources": "405812337"}, "survey_id", "resources-not-an-object"),
    ),
    skipped=tuple(
        _callback({"event_type": event_type}, "response_completed", event_type)
        for event_type in ("response_deleted", "response_disqualified")
    ),
    case={
        "status": "open",
        "priority": 1,
        "customer.phone": "+34 600 123 456",
        "reason_codes": ["long_wait", "product_knowledge", "broken_promise"],
    },
)
