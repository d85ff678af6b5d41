"""Qualtrics' kit: event subscriptions, a form with HMAC-SHA512 over ``MSG``; the response read
from the API. (Workflow tasks, the other way Qualtrics delivers, are only in its own module.)"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests import signers
from tests.vendor_api_fakes import FakeQualtrics
from tests.vendor_kits.kit import (
    ANA_RUIZ_ON_CALL_5521,
    DATA,
    Posted,
    Refused,
    Sample,
    VendorApi,
    VendorKit,
)
from winback_ingest.bodies import FORM
from winback_ingest.vendors.qualtrics import QUALTRICS
from winback_shared.sources import Vendor

SHARED_KEY = "q-shared-key-5f0c9e1d7a2b"
OLD_KEY = "q-shared-key-retired-0a1b"
TOKEN_ENV = "WINBACK_TEST_QUALTRICS_TOKEN"
API_TOKEN = "qualtrics-api-token-77aa"
SURVEY_ID = "SV_3yQ8fZc1bK2mN0d"
FIELD_MAP = {
    "csat": "values.QID5",
    "reasons": ["QID2", "QID2_5_TEXT"],
    "comment": ["QID3_TEXT"],
    "follow_up": "QID4",
}


def load(name: str) -> dict[str, Any]:
    """A fixture, parsed."""
    loaded: dict[str, Any] = json.loads((DATA / "qualtrics" / name).read_bytes())
    return loaded


def msg_of(name: str) -> str:
    """An event fixture's ``MSG`` as Qualtrics serialises it: compact JSON."""
    return json.dumps(load(name)["MSG"], separators=(",", ":"))


def api_with_fixtures(token: str) -> FakeQualtrics:
    """The local Qualtrics API serving the three fixture responses."""
    fake = FakeQualtrics(token)
    for name in ("response_detractor.json", "response_promoter.json", "response_odd.json"):
        fake.add_response(SURVEY_ID, load(name))
    return fake


def response_path(response_id: str) -> str:
    """Where the API serves a response of the fixture survey."""
    return f"/API/v3/surveys/{SURVEY_ID}/responses/{response_id}"


def _form(msg: str, **fields: str) -> bytes:
    return urlencode({"Topic": "t", "MSG": msg, **fields}).encode()


def _misencode(payload: bytes, secret: str) -> Posted:
    digest = hmac.new(secret.encode(), payload, hashlib.sha512).digest()
    return _form(payload.decode(), HMAC=base64.b64encode(digest).decode()), {"content-type": FORM}


def _names_no_response(msg: str, message: str, label: str) -> Refused:
    mac = hmac.new(SHARED_KEY.encode(), msg.encode(), hashlib.sha512).hexdigest()
    return Refused(_form(msg, HMAC=mac), message, label)


KIT = VendorKit(
    vendor=Vendor.QUALTRICS,
    intake=QUALTRICS,
    secrets=(SHARED_KEY, OLD_KEY),
    payload=lambda name: msg_of(name).encode(),
    sign=lambda payload, secret: signers.qualtrics(secret, payload),
    misencode=_misencode,
    tamper=lambda body: body.replace(b"R_1aBcD2eFgH3iJkL", b"R_1aBcD2eFgH3iJkX"),
    unsigned=lambda payload: (_form(payload.decode()), {"content-type": FORM}),
    no_match="does not match",
    missing="sharedKey",
    content_type=FORM,
    field_map=FIELD_MAP,
    api=VendorApi(
        token_env=TOKEN_ENV,
        token=API_TOKEN,
        build=api_with_fixtures,
        response_path=response_path,
    ),
    detractor=Sample(
        "event_detractor.json",
        response_id="R_1aBcD2eFgH3iJkL",
        holds={
            "response_id": "R_1aBcD2eFgH3iJkL",
            "survey_id": SURVEY_ID,
            "submitted_at": datetime(2026, 11, 23, 9, 14, 5, tzinfo=UTC),
            "scores": [("nps", 2, 0, 10), ("csat", 2, 1, 5)],
            "reasons": [
                "Long wait time",
                "Agent lacked product knowledge",
                "Other",
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
        "event_promoter.json",
        response_id="R_7zYxW6vUt5SrQpO",
        holds={
            "response_id": "R_7zYxW6vUt5SrQpO",
            "scores": [("nps", 10, 0, 10), ("csat", 5, 1, 5)],
            "reasons": [],
            "follow_up_requested": False,
            "customer.name": "Tom Becker",
            "customer.phone": None,
        },
    ),
    samples=(
        Sample(
            "event_odd.json",
            label="odd-has-no-nps-by-default",
            response_id="R_4mNoP5qRs6TuVwX",
            field_map={},
            holds={"scores": []},
        ),
        Sample(
            "event_odd.json",
            label="odd-scores-picked-by-the-field-map",
            response_id="R_4mNoP5qRs6TuVwX",
            field_map={"nps": "values.QID7", "csat": "values.QID6_1"},
            holds={
                "scores": [("nps", 4, 0, 10), ("csat", 1, 1, 5)],
                "response_id": "R_4mNoP5qRs6TuVwX",
                "customer.name": None,
                "customer.email": None,
                "interaction.agent": None,
            },
        ),
    ),
    invalid=(
        _names_no_response("not json", "not JSON", "not-json"),
        _names_no_response("[1]", "not a JSON object", "array"),
        _names_no_response(
            '{"SurveyID": "SV_1", "ResponseID": "../../users"}', "ResponseID", "response-id-a-path"
        ),
        _names_no_response('{"ResponseID": "R_1"}', "SurveyID", "no-survey-id"),
    ),
    case={
        "status": "open",
        "priority": 1,
        "customer.id": "C-88231",
        "reason_codes": ["long_wait", "product_knowledge", "broken_promise", "unclassified"],
    },
)
