"""Regression tests from the independent coding review: sentences bound a rule, charges after
cancelling are billing errors, and a comment that asks to be contacted is a follow-up request."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from winback_router.coding import code_response
from winback_router.coding.rules import FoldedText
from winback_router.decision import decide
from winback_shared.folding import split_words
from winback_shared.survey import Score, ScoreKind, SurveyResponse
from winback_shared.taxonomy import ASKS_CONTACT, load_taxonomy

TAXONOMY = load_taxonomy()


def survey(comment: str, nps: int | None = None) -> SurveyResponse:
    return SurveyResponse(
        response_id="r-1",
        comment=comment,
        scores=[] if nps is None else [Score(kind=ScoreKind.NPS, value=nps)],
        source="s",
        vendor="generic",
        receipt_id="x",
        received_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC),
    )


def codes(comment: str) -> list[str]:
    return [reason.code for reason in code_response(survey(comment), TAXONOMY)]


def test_sentences_are_numbered_at_full_stops_not_inside_numbers() -> None:
    words = split_words("Waited 1.5 hours. Again! Then e-mail")
    assert [(w.text, w.sentence) for w in words] == [
        ("waited", 0), ("1", 0), ("5", 0), ("hours", 0), ("again", 1), ("then", 2),
        ("e", 2), ("mail", 2),
    ]  # fmt: skip


def test_a_keyword_never_reads_across_a_sentence_end() -> None:
    assert "repeat_contact" not in codes("Nobody called. Again.")
    assert "repeat_contact" in codes("Nobody called again")


def test_a_pattern_never_reads_across_a_sentence_end_unless_it_says_so() -> None:
    folded = FoldedText.of("Nobody called. Again.")
    assert folded.padded == " nobody called . again "
    assert folded.joined == " nobody called again "
    # slow_response#4 opts in with (?#across sentences): a promise, then how late it came
    assert "slow_response" in codes("Chat said an agent would reply shortly. It took two weeks.")


@pytest.mark.parametrize(
    "comment",
    [
        "charging for a subscription I cancelled",
        "They keep billing me after I closed the account",
        "still charging me even though I cancelled in March",
    ],
)
def test_charges_after_cancelling_are_billing_errors_not_price(comment: str) -> None:
    found = codes(comment)
    assert "billing_error" in found and "price_value" not in found


def test_a_fee_to_cancel_is_about_price_not_a_wrong_charge() -> None:
    assert "billing_error" not in codes("Expensive, and you charge a fee to cancel.")


@pytest.mark.parametrize(
    ("comment", "asked"),
    [
        ("please call me back", "please call me back"),
        ("I want to talk to a manager about this.", "I want to talk"),
        ("I'd like someone to contact me", "contact me"),
        ("Could someone give me a ring tomorrow?", "give me a ring"),
        ("Rappelez-moi s'il vous plaît.", "Rappelez-moi"),
        ("Llámenme por favor", "Llámenme"),
        ("Bitte um Rückruf.", "Bitte um Rückruf"),
        ("Richiamatemi, grazie", "Richiamatemi"),
        ("Bel me terug a.u.b.", "Bel me terug"),
        ("Me liguem amanhã", "Me liguem"),
    ],
)
def test_a_comment_that_asks_to_be_contacted_is_coded_with_the_asking_words(
    comment: str, asked: str
) -> None:
    reasons = {reason.code: reason for reason in code_response(survey(comment), TAXONOMY)}
    request = reasons[ASKS_CONTACT]
    assert request.span is not None
    assert comment[request.span[0] : request.span[1]] == asked
    assert asked in request.evidence and request.evidence_source == "comment"


@pytest.mark.parametrize(
    "comment",
    [
        "They said they would call me back. Nobody did.",
        "Nobody called me back",
        "Please do not call me, email is fine.",
        "No need for a callback, it's resolved.",
        "Your contact us form is broken.",
        "I need to call you every week about this bill.",
    ],
)
def test_reports_denials_and_page_names_are_not_requests(comment: str) -> None:
    assert ASKS_CONTACT not in codes(comment)


def test_a_request_in_words_opens_a_case_even_for_a_passive_score() -> None:
    response = survey("All fine really. Please call me about upgrading though.", nps=8)
    reasons = code_response(response, TAXONOMY)
    decision = decide(response, reasons)
    assert decision.needs_recovery
    assert "follow_up_in_comment" in decision.triggers
    assert not any(trigger.startswith("reason=") for trigger in decision.triggers)


def test_a_request_alone_never_counts_as_a_dissatisfaction_reason() -> None:
    response = survey("Please call me back", nps=9)
    decision = decide(response, code_response(response, TAXONOMY))
    assert decision.priority == 3  # a follow-up request alone, as the structured field gives
