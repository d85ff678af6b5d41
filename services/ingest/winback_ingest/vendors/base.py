"""What ingest needs from each vendor: how it signs, how its body parses, what keys it.

Ingest stays thin: it authenticates over the raw bytes, checks the body parses in the vendor's
content type within our limits, and picks the Kafka key. Turning the payload into a canonical
response is the router's job (``winback_router.adapters``), after the delivery is durable.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from winback_shared.lone_surrogates import without_lone_surrogates
from winback_shared.sources import SourceConfig


class SignatureError(Exception):
    """The delivery is not authentic; the message is safe to show the sender."""


@dataclass(frozen=True)
class Delivery:
    """What ingest learns from an authenticated body without normalising it.

    ``response_key`` orders and deduplicates: every delivery about one response lands on one
    partition, so a Delighted update never overtakes the response it updates.
    """

    response_key: str | None
    delivery_id: str | None = None

    def __post_init__(self) -> None:
        """Both come from the parsed body, where JSON can spell an unpaired surrogate that the
        Kafka key and the envelope (UTF-8) cannot hold: it becomes U+FFFD, as the router reads
        the same body (``lone_surrogates``), instead of a 500 at every retry."""
        for name in ("response_key", "delivery_id"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, without_lone_surrogates(value))


@dataclass(frozen=True)
class Signed:
    """The request as a vendor intake sees it: raw bytes and headers, never re-serialised."""

    headers: Mapping[str, str]
    body: bytes
    now: float
    tolerance_seconds: int


class VendorIntake(Protocol):
    """One vendor's webhook conventions."""

    content_type: str
    """The vendor's usual body type, shown at ``/docs``."""

    signing: str
    """How this vendor signs, for the OpenAPI description."""

    example: dict[str, Any]
    """A realistic body, shown at ``/docs``."""

    def content_type_for(self, request: Signed) -> str:
        """How this request's body must parse: ``application/json`` or the form type."""

    def authenticate(self, source: SourceConfig, request: Signed) -> None:
        """Raise ``SignatureError`` unless a configured secret signed these exact bytes."""

    def inspect(self, source: SourceConfig, payload: dict[str, Any], request: Signed) -> Delivery:
        """The response key and delivery id, from a body that already parsed."""


class OneContentType:
    """For vendors whose every delivery has the same body type (all but Qualtrics)."""

    content_type = "application/json"

    def content_type_for(self, request: Signed) -> str:
        """Always the vendor's one type."""
        return self.content_type


def text_at(payload: Any, dotted: str) -> str | None:
    """The scalar at a dotted path, as text; ``None`` when absent or not a scalar."""
    current = payload
    for part in dotted.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    if isinstance(current, bool) or current is None or isinstance(current, dict | list):
        return None
    text = str(current)
    return text if 0 < len(text) <= 200 else None


def any_key_signed(
    keys: list[bytes], candidates: list[bytes], expected_for: Callable[[bytes], bytes]
) -> bool:
    """Whether one candidate equals ``expected_for(key)`` for one key, in constant time.

    Every pair is compared with no early exit, so how many keys or candidates were tried does not
    leak through timing. ``expected_for`` encodes the signature exactly as the header carries it
    (base64 or hex), so a wrongly encoded signature simply matches nothing.
    """
    matched = False
    for key in keys:
        expected = expected_for(key)
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
    return matched


def verify_prefixed_signature(
    keys: list[bytes],
    header: str | None,
    *,
    name: str,
    prefix: str,
    encoding: str,
    expected_for: Callable[[bytes], str],
    case_insensitive: bool = False,
) -> None:
    """Check a ``<prefix><digest>`` header (Typeform's ``sha256=``, Delighted's) against keys.

    ``expected_for(key)`` gives the digest as the header carries it, without the prefix. Hex
    digests compare case-insensitively; a digest in the wrong encoding simply matches nothing.
    """
    if not header:
        raise SignatureError(f"{name} header is required")
    if not header.startswith(prefix):
        raise SignatureError(f"{name} must be '{prefix}' followed by {encoding}")
    candidate = header.removeprefix(prefix)
    if case_insensitive:
        candidate = candidate.lower()
    if not any_key_signed(keys, [candidate.encode()], lambda key: expected_for(key).encode()):
        raise SignatureError("no signature matches")
