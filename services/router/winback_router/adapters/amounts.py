"""A customer's value as CRMs and survey hidden fields write it: ``$1,250.50``, ``€ 1.250,50``,
``1250 USD``, ``1 250,00``.

The value only raises a case's priority, yet an unreadable one costs the response a dead letter
(the field map names something that is not a number), and a source whose every value carries a
currency sign would dead-letter all its responses until the flood guard stops the router. So the
signs and codes around the number are dropped, and its separators read by the two conventions in
use; anything else is still refused, saying what it was.
"""

from __future__ import annotations

import re
import unicodedata

_CODE_AROUND = re.compile(r"^[A-Z]{1,3}(?=[-\d.])|(?<=[\d.])[A-Z]{3}$")
"""An ISO 4217 code written before or after the number (``USD 90``, ``90EUR``), or the letters
of a sign (``R$``, ``US$``)."""

_DECIMAL_COMMA = re.compile(r"-?\d{1,3}(?:\.\d{3})+,\d{1,2}|-?\d+,\d{1,2}")
"""``1.250,50`` or ``1250,5``: a comma followed by one or two digits at the end is the decimal
mark (nobody groups thousands in twos), and dots then group thousands."""


def as_amount(text: str) -> float:
    """The number in ``text``; ``ValueError`` if there is none to read."""
    bare = "".join(
        char for char in text if unicodedata.category(char) not in ("Sc", "Zs") and char != "\t"
    )
    bare = _CODE_AROUND.sub("", bare.upper())
    if _DECIMAL_COMMA.fullmatch(bare):
        return float(bare.replace(".", "").replace(",", "."))
    return float(bare.replace(",", ""))
