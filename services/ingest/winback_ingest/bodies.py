"""Parsing a delivery's body within limits, so hostile input costs little and never crashes.

Limits are checked on the parsed value rather than trusted to the parser: a body within the size
limit can still nest ten thousand levels deep or carry one enormous string.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from winback_shared.errors import ApiError

FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 200


def _check_shape(value: Any, *, max_depth: int, max_string_chars: int) -> None:
    """Walk the parsed value iteratively (no recursion to exhaust) checking depth and sizes."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        if depth > max_depth:
            raise ApiError(400, "too_deep", f"JSON nests deeper than {max_depth} levels")
        if isinstance(current, str) and len(current) > max_string_chars:
            raise ApiError(
                400, "field_too_long", f"a string value exceeds {max_string_chars} characters"
            )
        if isinstance(current, dict):
            for key, item in current.items():
                if len(key) > max_string_chars:
                    raise ApiError(
                        400, "field_too_long", f"a key exceeds {max_string_chars} characters"
                    )
                pending.append((item, depth + 1))
        elif isinstance(current, list):
            pending.extend((item, depth + 1) for item in current)


def _cannot_cross_limits(body: bytes, *, max_depth: int, max_string_chars: int) -> bool:
    """Whether the body is too small to cross either limit, so the walk can be skipped.

    A string or key never decodes to more characters than it takes bytes in the body (UTF-8
    and escapes only shrink it), and a value cannot nest deeper than one level more than the
    body has opening brackets (counting those inside strings only overestimates). Most
    deliveries are a few kilobytes with a handful of objects, and for them this costs a tenth
    of the walk (docs/performance.md, section 6).
    """
    return len(body) <= max_string_chars and body.count(b"{") + body.count(b"[") < max_depth


def _refuse_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON (RFC 8259), though Python's parser takes them."""
    raise ApiError(400, "invalid_json", f"body is not valid JSON: {name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
"""What ``json.loads(text, parse_constant=...)`` builds on every call, built once."""

_BOM = "\ufeff"


def _decode_json(text: str) -> Any:
    """``json.loads(text, parse_constant=_refuse_constant)``, the same answers and messages.

    orjson was measured too and not taken: it parses integers beyond 64 bits as floats, so a
    numeric response id that long would get another Kafka key than it had.
    """
    if text.startswith(_BOM):  # as json.loads refuses it
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _DECODER.decode(text)


def parse_json_object(body: bytes, *, max_depth: int, max_string_chars: int) -> dict[str, Any]:
    """The body as a JSON object within the limits, or a 400 saying why not."""
    try:
        parsed = _decode_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "body must be UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "too_deep", f"JSON nests deeper than {max_depth} levels") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_json", "body must be a JSON object")
    if not _cannot_cross_limits(body, max_depth=max_depth, max_string_chars=max_string_chars):
        _check_shape(parsed, max_depth=max_depth, max_string_chars=max_string_chars)
    return parsed


def parse_form(body: bytes, *, max_string_chars: int) -> dict[str, Any]:
    """A form-encoded body as a flat object; repeated or malformed fields are refused."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=MAX_FORM_FIELDS
        )
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_encoding", "body must be UTF-8") from None
    except ValueError as exc:
        raise ApiError(400, "invalid_form", f"body is not a valid form: {exc}") from None
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in fields:
            raise ApiError(400, "invalid_form", f"form field {name!r} is repeated")
        fields[name] = value
    _check_shape(fields, max_depth=2, max_string_chars=max_string_chars)
    return fields


def parse_body(
    body: bytes, content_type: str, *, max_depth: int, max_string_chars: int
) -> dict[str, Any]:
    """Parse per the vendor's content type."""
    if content_type == FORM:
        return parse_form(body, max_string_chars=max_string_chars)
    return parse_json_object(body, max_depth=max_depth, max_string_chars=max_string_chars)
