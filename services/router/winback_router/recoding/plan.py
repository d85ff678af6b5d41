"""What re-coding one stored response would change. Pure functions, no I/O.

The same code path serves a dry run and a real run, so a dry run reports exactly what the real
run then writes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from winback_router.coding import code_response
from winback_router.decision import decide
from winback_shared.case_vocabulary import FINISHED_STATUSES, CaseStatus
from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy


@dataclass(frozen=True)
class StoredCoding:
    """A stored response, the codes it carries now, and its case if it has one."""

    row_id: int
    response: SurveyResponse
    codes: list[Any]
    case_id: int | None = None
    case_status: CaseStatus | None = None
    case_priority: int | None = None


@dataclass(frozen=True)
class ResponseChange:
    """New codes for one response, compared with what it carries now.

    ``added`` and ``removed`` are code ids; both are empty when only the details changed (a
    weight, an evidence quote, a rule name). ``recoded_priority`` is what the new codes would
    give (None: no recovery needed); the case keeps ``case_priority``.
    """

    row_id: int
    source: str
    response_id: str
    codes_before: list[Any]
    codes_after: list[dict[str, Any]]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    case_id: int | None
    case_open: bool
    case_priority: int | None
    recoded_priority: int | None
    cause: str = "a taxonomy change"
    """Why the codes changed, in the case history's words ("Reasons re-coded after ...")."""

    @property
    def codes_differ(self) -> bool:
        """Whether a code was added or removed, not just its details."""
        return bool(self.added or self.removed)


def taxonomy_digest(taxonomy: Taxonomy) -> str:
    """SHA-256 of the taxonomy's content, blind to the file's comments and layout."""
    content = json.dumps(taxonomy.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()


def _canonical(codes: Sequence[Any]) -> list[dict[str, Any]] | None:
    """Stored codes as the router would write them today; None if they no longer parse."""
    try:
        return [CodedReason.model_validate(code).model_dump(mode="json") for code in codes]
    except ValidationError:
        return None


def code_ids(codes: Sequence[Any]) -> set[str]:
    """The code ids of stored (JSON) or dumped codes."""
    return {str(code["code"]) for code in codes if isinstance(code, dict) and "code" in code}


def plan_change(stored: StoredCoding, taxonomy: Taxonomy) -> ResponseChange | None:
    """The change re-coding ``stored`` with ``taxonomy`` makes, or None if it makes none.

    Codes compare in full and in order (the card shows them in order, with their evidence), so
    a run with the taxonomy the response was coded with changes nothing: that is what makes
    running twice harmless.
    """
    reasons = code_response(stored.response, taxonomy)
    after = [reason.model_dump(mode="json") for reason in reasons]
    if _canonical(stored.codes) == after:
        return None
    return change_to(stored, reasons)


def change_to(
    stored: StoredCoding, reasons: Sequence[CodedReason], *, cause: str = "a taxonomy change"
) -> ResponseChange:
    """The change that gives ``stored`` these ``reasons`` instead of the codes it carries."""
    after = [reason.model_dump(mode="json") for reason in reasons]
    decision = decide(stored.response, list(reasons))
    before_ids, after_ids = code_ids(stored.codes), code_ids(after)
    return ResponseChange(
        row_id=stored.row_id,
        source=stored.response.source,
        response_id=stored.response.response_id,
        codes_before=list(stored.codes),
        codes_after=after,
        added=tuple(sorted(after_ids - before_ids)),
        removed=tuple(sorted(before_ids - after_ids)),
        case_id=stored.case_id,
        # A finished case keeps its history as it was: re-coding changes only the response.
        case_open=stored.case_id is not None and stored.case_status not in FINISHED_STATUSES,
        case_priority=stored.case_priority,
        recoded_priority=decision.priority if decision.needs_recovery else None,
        cause=cause,
    )


def history_note(change: ResponseChange) -> str:
    """What the case history says about a re-coding, in an agent's words."""
    parts = []
    if change.added:
        parts.append("added " + ", ".join(change.added))
    if change.removed:
        parts.append("removed " + ", ".join(change.removed))
    what = "; ".join(parts) if parts else "evidence or weights updated"
    note = f"Reasons re-coded after {change.cause}: {what}."
    if change.recoded_priority != change.case_priority:
        would = (
            "no case" if change.recoded_priority is None else f"priority {change.recoded_priority}"
        )
        note += f" Priority stays {change.case_priority} (the new codes alone would give {would})."
    return note
