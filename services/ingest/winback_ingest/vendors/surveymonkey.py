"""SurveyMonkey: webhook callbacks that carry only ids, signed with ``Sm-Signature``.

Confirmed against SurveyMonkey's API documentation (https://api.surveymonkey.com/v3/docs#webhooks,
source in SurveyMonkey/public_api_docs ``includes/_webhooks.md``): a callback is a small JSON
object (``event_type``, ``event_id``, ``object_type: "response"``, ``object_id`` = the response
id, ``event_datetime``, ``resources`` with ``survey_id``, ``collector_id``, ``respondent_id`` ...)
sent as ``application/vnd.surveymonkey.response.v1+json``, with ``Sm-Apikey`` and
``Sm-Signature: base64(HMAC-SHA1(key="{api_key}&{api_secret}", raw body))``; the subscription URL
must answer ``HEAD`` with 200 before SurveyMonkey posts to it (``app.py`` does).

No timestamp is signed, so a captured callback could be replayed at will: deduplication by
response id downstream is the replay defence, and a replayed callback can only make the router
fetch, from SurveyMonkey itself, a response it already stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from winback_ingest.vendors.base import (
    Delivery,
    OneContentType,
    SignatureError,
    Signed,
    any_key_signed,
    text_at,
)
from winback_shared.sources import SourceConfig

EXAMPLE: dict[str, Any] = {
    "name": "winback recovery",
    "filter_type": "survey",
    "filter_id": "405812337",
    "event_type": "response_completed",
    "event_id": "10390187224",
    "object_type": "response",
    "object_id": "114875963501",
    "event_datetime": "2026-11-23T09:14:05.118273+00:00",
    "resources": {
        "respondent_id": "114875963501",
        "recipient_id": "0",
        "collector_id": "432190775",
        "survey_id": "405812337",
        "user_id": "150003219",
    },
}


def sign(key: bytes, body: bytes) -> str:
    """The ``Sm-Signature`` value for these bytes; used by tests and local senders."""
    return base64.b64encode(hmac.new(key, body, hashlib.sha1).digest()).decode()


class SurveyMonkeyIntake(OneContentType):
    """The secret is ``"{api_key}&{api_secret}"`` of the app that owns the webhook."""

    signing = (
        '`Sm-Signature: base64(HMAC-SHA1(key="{api_key}&{api_secret}", raw body))`; the body '
        "(`application/vnd.surveymonkey.response.v1+json`) carries only ids; the subscription "
        "URL answers HEAD with 200."
    )
    example = EXAMPLE

    def authenticate(self, source: SourceConfig, request: Signed) -> None:
        """Check ``Sm-Signature`` over the raw body against every configured key."""
        header = request.headers.get("sm-signature")
        if not header:
            raise SignatureError("Sm-Signature header is required")
        if not any_key_signed(
            source.keys, [header.strip().encode()], lambda key: sign(key, request.body).encode()
        ):
            raise SignatureError("Sm-Signature does not match the body")

    def inspect(self, source: SourceConfig, payload: dict[str, Any], request: Signed) -> Delivery:
        """Keyed by the response id (``object_id``); ``event_id`` names the delivery."""
        return Delivery(
            response_key=text_at(payload, "object_id"), delivery_id=text_at(payload, "event_id")
        )


SURVEYMONKEY = SurveyMonkeyIntake()
