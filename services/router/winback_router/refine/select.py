"""Whether the full model's codes replace the fast ones: pure, no I/O.

The refiner re-codes a response only where the code *ids* differ (a code added or removed):
a confidence or an evidence quote that moved alone is no news to the agent working the case,
and a ``recoded`` history entry for it would be noise. A case whose reasons an agent already
reviewed keeps them: the agent's word is better evidence than any model's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from winback_router.recoding.plan import ResponseChange, StoredCoding, change_to, code_ids
from winback_shared.events.recovery_alerts import CodedReason

CAUSE = "refinement with the sentence-vector model"
"""The history note's "Reasons re-coded after ..."."""


@dataclass(frozen=True)
class Pending:
    """A stored response waiting for refinement, as read (or re-read under its lock)."""

    stored: StoredCoding
    revision: int
    """The response's revision when read: a later one brings fast codes again."""
    reviewed: bool
    """An agent has reviewed the reasons of its case (``reasons_reviewed`` in its history)."""


def refinement(pending: Pending, reasons: Sequence[CodedReason]) -> ResponseChange | None:
    """The re-code that gives ``pending`` the full model's ``reasons``, or None to leave it."""
    if pending.reviewed:
        return None
    if code_ids(pending.stored.codes) == {reason.code for reason in reasons}:
        return None
    return change_to(pending.stored, reasons, cause=CAUSE)


def still_as_read(read: Pending, locked: Pending | None) -> bool:
    """Whether the response locked for the write is the one the plan was made on: not gone,
    not revised since, its codes not changed by anyone else (a re-coding run), still pending."""
    return (
        locked is not None
        and locked.revision == read.revision
        and locked.stored.codes == read.stored.codes
    )
