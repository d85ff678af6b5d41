"""Qualtrics: event subscriptions (form-encoded, HMAC-SHA512) and workflow web-service tasks.

**Event subscriptions** (``POST /API/v3/eventsubscriptions`` with a ``sharedKey``; topic
``surveyengine.completedResponse.{SurveyID}``) post ``application/x-www-form-urlencoded``, not
JSON: ``Topic``, ``MSG`` (a JSON string: ``Status``, ``SurveyID``, ``ResponseID``,
``CompletedDate``, ``BrandID`` ...) and ``HMAC`` = hex HMAC-SHA512(sharedKey, MSG). Confirmed
against Qualtrics' API reference (https://api.qualtrics.com, "Create Subscription": the
publication URL "will be receiving x-www-form-urlencoded data not JSON"), a delivery quoted on
the Qualtrics XM Community ("HMAC signatures for webhook subscriptions": 128 hex digits, ``Topic``,
``HMAC``, ``MSG``) and an independent verifier (kyma-incubator/connector-tools
``qualtrics-event-gw/pkg/hmac/hmac.go``: HMAC-SHA512 keyed with the shared key's bytes, over the
form-decoded ``MSG``). The body carries only ids; the router fetches the response.

**Workflow web-service tasks** post whatever body the survey owner writes (Qualtrics support,
"Web Service Task": URL-encoded, XML, JSON or plain text bodies, custom headers, 16-second
timeout). We accept a JSON object, mapped with the source's field map. Qualtrics cannot compute a
signature over such a body: a task can only send fixed headers. So a workflow delivery must carry
the shared secret itself in ``X-Winback-Token``: it proves the sender knows the secret, but it
does not bind the body, so TLS protects it in transit and deduplication by response id is the
replay defence. Give workflow tasks their own source (and secret), apart from event
subscriptions, so a token exposed in a workflow's settings cannot forge HMACs.

Neither form signs a timestamp: deduplication by response id downstream is the replay defence.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

from winback_ingest.bodies import FORM
from winback_ingest.vendors.base import (
    Delivery,
    SignatureError,
    Signed,
    any_key_signed,
    text_at,
)
from winback_shared.sources import SourceConfig

JSON = "application/json"
TOKEN_HEADER = "x-winback-token"
WORKFLOW_RESPONSE_ID = "responseId"
"""Where a workflow body holds the response id unless the field map says otherwise; the router's
workflow defaults use the same path, so ingest keys deliveries by the id the router stores."""
MAX_FORM_FIELDS = 200

EXAMPLE_MSG = {
    "Status": "Complete",
    "SurveyID": "SV_3yQ8fZc1bK2mN0d",
    "ResponseID": "R_1aBcD2eFgH3iJkL",
    "CompletedDate": "2026-11-23 09:14:05",
    "BrandID": "acmecx",
}
EXAMPLE: dict[str, Any] = {
    "Topic": "acmecx.surveyengine.completedResponse.SV_3yQ8fZc1bK2mN0d",
    "MSG": json.dumps(EXAMPLE_MSG, separators=(",", ":")),
    "HMAC": "<hex HMAC-SHA512(sharedKey, MSG)>",
}


def sign(key: bytes, msg: str) -> str:
    """The ``HMAC`` field for a ``MSG``; used by tests and local senders."""
    return hmac.new(key, msg.encode(), hashlib.sha512).hexdigest()


def is_json_body(body: bytes) -> bool:
    """A workflow task's JSON object, as opposed to an event subscription's form."""
    return body.lstrip()[:1] == b"{"


def _form_fields(body: bytes) -> dict[str, str]:
    """The form's fields for authentication; a body that is no form cannot be authentic."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=MAX_FORM_FIELDS
        )
    except (UnicodeDecodeError, ValueError):
        raise SignatureError("body is not a form carrying MSG and HMAC") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields and name in ("MSG", "HMAC"):
            raise SignatureError(f"form field {name} is repeated")
        fields[name] = value
    return fields


def _response_id_in(msg: str) -> str | None:
    try:
        event = json.loads(msg)
    except (ValueError, RecursionError):
        return None
    return text_at(event, "ResponseID") if isinstance(event, dict) else None


class QualtricsIntake:
    """Event subscriptions (HMAC over ``MSG``) or workflow tasks (``X-Winback-Token``)."""

    signing = (
        "Event subscription (form-encoded): `Topic`, `MSG` (JSON) and `HMAC` = hex "
        "HMAC-SHA512(sharedKey, MSG). Workflow web-service task (a JSON object you design): "
        "header `X-Winback-Token: <shared secret>`, since Qualtrics cannot sign a task's body."
    )
    example = EXAMPLE

    content_type = FORM

    def content_type_for(self, request: Signed) -> str:
        """Form for event subscriptions, JSON for workflow tasks."""
        return JSON if is_json_body(request.body) else FORM

    def authenticate(self, source: SourceConfig, request: Signed) -> None:
        """Verify the event's ``HMAC`` over ``MSG``, or a workflow task's token."""
        if is_json_body(request.body):
            self._check_token(source, request)
            return
        fields = _form_fields(request.body)
        msg, mac = fields.get("MSG"), fields.get("HMAC")
        if not msg or not mac:
            raise SignatureError(
                "MSG and HMAC are required: create the event subscription with a sharedKey"
            )
        if not any_key_signed(
            source.keys, [mac.strip().lower().encode()], lambda key: sign(key, msg).encode()
        ):
            raise SignatureError("HMAC does not match MSG")

    @staticmethod
    def _check_token(source: SourceConfig, request: Signed) -> None:
        token = request.headers.get(TOKEN_HEADER)
        if not token:
            raise SignatureError(
                "a JSON body comes from a workflow task and needs the X-Winback-Token header"
            )
        if not any_key_signed(source.keys, [token.strip().encode()], lambda key: key):
            raise SignatureError("X-Winback-Token does not match")

    def inspect(self, source: SourceConfig, payload: dict[str, Any], request: Signed) -> Delivery:
        """Keyed by the Qualtrics response id, wherever this kind of body holds it."""
        if self.content_type_for(request) == FORM:
            msg = payload.get("MSG")
            return Delivery(response_key=_response_id_in(msg) if isinstance(msg, str) else None)
        locator = source.field_map.response_id or WORKFLOW_RESPONSE_ID
        return Delivery(response_key=text_at(payload, locator))


QUALTRICS = QualtricsIntake()
