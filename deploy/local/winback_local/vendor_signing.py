"""Signing a body the way its source's vendor does, so ``winback send --file`` can post a
vendor's own example (``/docs``) to a source of that vendor without signing it by hand.

Each vendor's ``sign`` in ``winback_ingest.vendors`` is the one ingest verifies with; this module
only puts its value in the header (or form field) that vendor uses. It signs with the source's
first secret: ingest accepts any of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from winback_ingest.vendors import delighted, qualtrics, surveymonkey, typeform
from winback_local.signing import signed_headers
from winback_shared import zendesk_signatures
from winback_shared.sources import STANDARD_WEBHOOKS_VENDORS, SourceConfig, Vendor, WithSources

JSON = "application/json"
SOURCES_FILE = "WINBACK_SOURCES_FILE"


def vendor_request(
    source: SourceConfig, payload: dict[str, Any], body: bytes, *, now: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """The bytes to post and their headers, as ``source``'s vendor would send ``payload``
    (``body``: the same JSON as written, signed byte for byte)."""
    secret = source.secrets[0].get_secret_value()
    key = source.keys[0]
    vendor = source.vendor
    if vendor in STANDARD_WEBHOOKS_VENDORS:
        return body, signed_headers(secret, body)
    if vendor == Vendor.TYPEFORM:
        return body, {"content-type": JSON, typeform.SIGNATURE_HEADER: typeform.sign(key, body)}
    if vendor == Vendor.DELIGHTED:
        return body, {"content-type": JSON, delighted.SIGNATURE_HEADER: delighted.sign(key, body)}
    if vendor == Vendor.SURVEYMONKEY:
        return body, {"content-type": JSON, "sm-signature": surveymonkey.sign(key, body)}
    if vendor == Vendor.ZENDESK:
        stamp = zendesk_signatures.timestamp_of(now or datetime.now(UTC))
        return body, {
            "content-type": JSON,
            zendesk_signatures.TIMESTAMP_HEADER: stamp,
            zendesk_signatures.SIGNATURE_HEADER: zendesk_signatures.sign(key, stamp, body),
        }
    if vendor == Vendor.QUALTRICS:
        return qualtrics_request(payload, body, key, secret)
    raise SystemExit(f"winback send cannot sign for vendor {vendor} yet: see docs/sources.md")


def qualtrics_request(
    payload: dict[str, Any], body: bytes, key: bytes, secret: str
) -> tuple[bytes, dict[str, str]]:
    """An event subscription's body (``Topic`` and ``MSG``, the ``/docs`` example) goes as the
    form Qualtrics posts, its ``HMAC`` computed; any other object is a workflow task's JSON,
    which carries the shared secret as ``X-Winback-Token`` since Qualtrics cannot sign it."""
    msg = payload.get("MSG")
    if msg is None:
        return body, {"content-type": JSON, qualtrics.TOKEN_HEADER: secret}
    if not isinstance(msg, str):
        msg = json.dumps(msg, separators=(",", ":"))
    fields = {name: value for name, value in payload.items() if name not in ("MSG", "HMAC")}
    form = urlencode({**fields, "MSG": msg, "HMAC": qualtrics.sign(key, msg)})
    return form.encode(), {"content-type": "application/x-www-form-urlencoded"}


def configured_source(environ: Mapping[str, str], name: str) -> SourceConfig:
    """Source ``name`` as ``WINBACK_SOURCES`` / ``WINBACK_SOURCES_FILE`` in ``environ`` define
    it (the same variables ``make run`` served), or a clear exit saying what to set."""
    raw = environ.get("WINBACK_SOURCES") or ""
    try:
        sources = WithSources.model_validate(
            {"sources": json.loads(raw) if raw else {}, "sources_file": environ.get(SOURCES_FILE)}
        ).sources
    except ValueError as failure:  # bad JSON, a bad file, or a source that does not validate
        raise SystemExit(f"your WINBACK_SOURCES / {SOURCES_FILE} do not load: {failure}") from None
    if name not in sources:
        known = ", ".join(sorted(sources)) or "none"
        raise SystemExit(
            f"no source {name!r} in this shell's WINBACK_SOURCES / {SOURCES_FILE} (found:"
            f" {known}): export them here as for `make run`, or leave out --source to post to the"
            " demo source"
        )
    return sources[name]
