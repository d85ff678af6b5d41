"""Text that UTF-8 can hold: lone surrogates become U+FFFD before anything stores them.

JSON may escape any UTF-16 code unit, so ``"\\ud83d"`` alone is valid JSON text (RFC 8259
only warns that readers differ). A vendor whose JavaScript cuts a comment at a fixed length in
UTF-16 units splits an emoji this way. Python's ``json`` reads it into a ``str`` holding a lone
surrogate, which PostgreSQL, Kafka keys and the sentence encoder all need as UTF-8 and cannot
encode: one such response stopped the router at every restart, and pydantic's own JSON parser
refused the whole delivery. The standard repair (WHATWG's, and Rust's ``from_utf16_lossy``) is
to replace each unpaired surrogate with U+FFFD, the replacement character: the rest of the
comment is kept and the customer still gets a case.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(
    r"\\\\"  # an escaped backslash: what follows it is not an escape
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # a surrogate pair
    r"|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"  # a surrogate alone
)
"""Scanned left to right, an escaped backslash is consumed whole, so ``\\\\ud800`` (a
backslash, then the letters ``ud800``) is never read as an escape."""


def _repair_escape(match: re.Match[str]) -> str:
    escape = match.group()
    return escape if len(escape) != 6 else "\\ufffd"


def json_without_lone_surrogates(text: str) -> str:
    """JSON ``text`` with each escape of an unpaired surrogate replaced by ``\\ufffd``; text
    without one comes back as it is (the same object: most bodies pay two substring scans)."""
    if "\\ud" not in text and "\\uD" not in text:
        return text
    return _ESCAPE.sub(_repair_escape, text)


def without_lone_surrogates(text: str) -> str:
    """``text`` with each unpaired surrogate replaced by U+FFFD (a high one followed by a low
    one is read as the pair it spells); text without one comes back as it is."""
    if text.isascii():
        return text
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text
