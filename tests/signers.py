"""How each vendor signs a delivery, written from the vendors' documentation for the tests.

Kept independent of ingest's verification code on purpose: a test that signed with the code
under test would pass whatever that code did.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

from winback_local.signing import signed_headers
from winback_shared.sources import Vendor

Signer = Callable[[str, bytes], tuple[bytes, dict[str, str]]]
"""(secret, payload bytes) -> (body to post, headers). Vendors that sign a time take ``at``
(seconds since the epoch, default now) as a keyword, to sign a stale or early delivery."""


def _hmac(key: str, message: bytes, algorithm: str) -> bytes:
    return hmac.new(key.encode(), message, algorithm).digest()


def standard_webhooks(
    secret: str, payload: bytes, *, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """Generic and Formbricks."""
    return payload, signed_headers(secret, payload, timestamp=None if at is None else int(at))


def typeform(secret: str, payload: bytes) -> tuple[bytes, dict[str, str]]:
    signature = base64.b64encode(_hmac(secret, payload, "sha256")).decode()
    return payload, {
        "content-type": "application/json",
        "typeform-signature": f"sha256={signature}",
    }


def delighted(secret: str, payload: bytes) -> tuple[bytes, dict[str, str]]:
    signature = _hmac(secret, payload, "sha256").hex()
    return payload, {
        "content-type": "application/json",
        "x-delighted-webhook-signature": f"sha256={signature}",
    }


def zendesk(
    secret: str, payload: bytes, *, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    sent_at = datetime.now(UTC) if at is None else datetime.fromtimestamp(at, UTC)
    timestamp = sent_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    signature = base64.b64encode(_hmac(secret, timestamp.encode() + payload, "sha256")).decode()
    return payload, {
        "content-type": "application/json",
        "x-zendesk-webhook-signature": signature,
        "x-zendesk-webhook-signature-timestamp": timestamp,
    }


def surveymonkey(secret: str, payload: bytes) -> tuple[bytes, dict[str, str]]:
    signature = base64.b64encode(_hmac(secret, payload, "sha1")).decode()
    return payload, {
        "content-type": "application/vnd.surveymonkey.response.v1+json",
        "sm-signature": signature,
    }


def qualtrics(secret: str, payload: bytes) -> tuple[bytes, dict[str, str]]:
    """Qualtrics posts a form: the event as JSON in ``MSG`` and its HMAC-SHA512 in ``HMAC``."""
    message = payload.decode("utf-8", errors="replace")
    try:
        topic = str(json.loads(message).get("Topic", "surveyengine.completedResponse"))
    except (ValueError, AttributeError):
        topic = "surveyengine.completedResponse"
    signature = _hmac(secret, message.encode(), "sha512").hex()
    body = urlencode({"Topic": topic, "MSG": message, "HMAC": signature}).encode()
    return body, {"content-type": "application/x-www-form-urlencoded"}


SIGNERS: dict[Vendor, Signer] = {
    Vendor.GENERIC: standard_webhooks,
    Vendor.FORMBRICKS: standard_webhooks,
    Vendor.TYPEFORM: typeform,
    Vendor.DELIGHTED: delighted,
    Vendor.ZENDESK: zendesk,
    Vendor.SURVEYMONKEY: surveymonkey,
    Vendor.QUALTRICS: qualtrics,
}
