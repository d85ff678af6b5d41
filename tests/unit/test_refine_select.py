"""The refiner's choices without I/O: which full-model codes replace the fast ones, and when a
response locked for the write is no longer the one that was coded."""

from __future__ import annotations

from collections.abc import Sequence

from tests.recode_support import survey_response
from winback_router.coding import code_response
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL, load_model
from winback_router.recoding.plan import StoredCoding, history_note
from winback_router.refine.select import CAUSE, Pending, refinement, still_as_read
from winback_router.settings import RouterSettings
from winback_shared.case_vocabulary import CaseStatus
from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import load_taxonomy

RULES = load_taxonomy()
TWO_CODES = "nobody rings back ever"
"""The rules find nothing; the fast model reads repeat_contact and broken_promise, the full one
broken_promise alone (the pair re-trained at 16:20 on December 4 with 7,320 training comments;
"still nobody has called" did this for the pair of 15:00 with 6,540, on which "still nobody
calls back", the comment before, reads the same two codes with both models; the
pair of 07:20 on December 1 read repeat_contact alone with the full model; the pair of 04:23 read
repeat_contact and re_explain on it; "nobody ever calls back, again and again" did this for the
pair trained just before that, "nobody ever calls back again" for the pair of 01:27 with
broken_promise, "nobody ever calls back" for the November pair)."""


def reason(code: str, confidence: float = 0.9) -> CodedReason:
    return CodedReason(
        code=code,
        label=code,
        evidence="words",
        method="model",
        confidence=confidence,
        evidence_source="comment",
    )


def pending(
    codes: Sequence[CodedReason],
    *,
    reviewed: bool = False,
    revision: int = 1,
    response: SurveyResponse | None = None,
) -> Pending:
    stored = StoredCoding(
        row_id=7,
        response=response or survey_response(nps=3, comment=TWO_CODES),
        codes=[code.model_dump(mode="json") for code in codes],
        case_id=3,
        case_status=CaseStatus.OPEN,
        case_priority=2,
    )
    return Pending(stored, revision=revision, reviewed=reviewed)


def test_other_code_ids_are_a_refinement_with_its_own_history_note() -> None:
    change = refinement(
        pending([reason("re_explain"), reason("repeat_contact")]), [reason("re_explain")]
    )
    assert change is not None
    assert (change.added, change.removed, change.case_open) == ((), ("repeat_contact",), True)
    assert change.codes_after == [reason("re_explain").model_dump(mode="json")]
    assert change.cause == CAUSE
    assert history_note(change).startswith(f"Reasons re-coded after {CAUSE}: removed repeat")


def test_the_same_code_ids_are_left_alone_whatever_their_details() -> None:
    fast = [reason("long_wait", 0.61), reason("rude", 0.7)]
    assert refinement(pending(fast), [reason("rude", 0.95), reason("long_wait", 0.8)]) is None


def test_a_case_whose_reasons_an_agent_reviewed_keeps_them() -> None:
    assert refinement(pending([reason("price_value")], reviewed=True), [reason("rude")]) is None


def test_a_revision_or_another_writer_since_the_read_stops_the_write() -> None:
    read = pending([reason("long_wait")])
    assert still_as_read(read, pending([reason("long_wait")]))
    assert not still_as_read(read, None)  # refined meanwhile
    assert not still_as_read(read, pending([reason("long_wait")], revision=2))
    assert not still_as_read(read, pending([reason("rude")]))


def test_the_router_codes_with_the_fast_model_and_the_refiner_with_the_full_one() -> None:
    settings = RouterSettings(kafka_bootstrap_servers="x:1", database_url="postgresql://x/y")
    assert (settings.reason_model, settings.refine_model) == (FAST_MODEL, DEFAULT_MODEL)
    assert not load_model(FAST_MODEL).reads_vectors  # no encoder in the hot path
    assert load_model(DEFAULT_MODEL).reads_vectors
    rules_only = settings.model_copy(update={"use_reason_model": False})
    assert (rules_only.reason_model, rules_only.refine_model) == (None, None)


def test_the_shipped_models_disagree_on_a_known_comment() -> None:
    """The integration tests rely on this pair; a re-trained model may need another comment."""
    response = survey_response(nps=3, comment=TWO_CODES)
    fast = [r.code for r in code_response(response, load_and_compile(None, FAST_MODEL))]
    full = [r.code for r in code_response(response, load_and_compile(None, DEFAULT_MODEL))]
    assert (fast, full) == (["repeat_contact", "broken_promise"], ["broken_promise"])
    assert [r.code for r in code_response(response, RULES)] == ["unclassified"]
