"""Which failures to store a batch one of its records causes by itself, so no retry can pass.

A value that cannot be stored (text UTF-8 cannot hold, a number out of a column's range, a check
the canonical model does not know) fails the batch's one transaction at every retry, and the
router stopped: at every restart it read the same batch again, so one record held back every
partition it owns. Three such values have been found and refused or repaired in normalising
(``1e999``, half an emoji, a date with no UTC time); this names the kind of failure so that the
next one, not yet known, is isolated and dead-lettered instead (``consumer.RecoveryRouter``).

The kinds are narrow on purpose: a lost connection or a transaction conflict is transient and
retried, and a missing table or column is the deploy's fault and must stop the router, not
dead-letter every record (the flood guard would stop that too, after fifty of them).
"""

from __future__ import annotations

from asyncpg.exceptions import CheckViolationError, DataError, NotNullViolationError
from pydantic_core import PydanticSerializationError

REFUSED_VALUES = (
    DataError,
    CheckViolationError,
    NotNullViolationError,
    UnicodeError,
    PydanticSerializationError,
)
"""SQLSTATE class 22 (data exception: asyncpg also raises it when it cannot encode a query
argument), a check or not-null violation, and a value that cannot be encoded before it is sent
(the store writes a case's summary as JSON, which fails first on text UTF-8 cannot hold)."""


def refused_for_its_values(error: BaseException) -> bool:
    """Whether ``error`` says a value in the batch was refused, rather than the database being
    away or the schema being wrong."""
    return isinstance(error, REFUSED_VALUES)
