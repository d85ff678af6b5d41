"""Coding responses: chosen answers, free-text rules, negation, evidence and ``unclassified``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from winback_router.coding import code_chosen_reasons, code_response
from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy, load_taxonomy

TAXONOMY = load_taxonomy()
RECEIVED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def response(
    comment: str | None = None, reasons: list[str] | None = None, vendor: str = "generic"
) -> SurveyResponse:
    return SurveyResponse(
        response_id="r-1",
        comment=comment,
        reasons=reasons or [],
        source="s",
        vendor=vendor,
        receipt_id="x",
        received_at=RECEIVED,
    )


def codes(comment: str, taxonomy: Taxonomy = TAXONOMY) -> list[str]:
    return [reason.code for reason in code_response(response(comment), taxonomy)]


def by_code(reasons: list[CodedReason]) -> dict[str, CodedReason]:
    return {reason.code: reason for reason in reasons}


def test_chosen_reasons_are_coded_with_evidence_and_unknowns_kept() -> None:
    survey = response(reasons=["Long wait time", "long wait", "The weather"])
    coded = code_chosen_reasons(survey, TAXONOMY)
    assert [(r.code, r.evidence, r.method, r.evidence_source) for r in coded] == [
        ("long_wait", "Long wait time", "chosen_answer", "answer"),
        ("unclassified", "The weather", "no_match", "answer"),
    ]
    assert coded[1].confidence == 0.0


@pytest.mark.parametrize(
    ("vendor", "label", "expected"),
    [
        ("typeform", "Wait time", "long_wait"),
        ("qualtrics", "HOLD TIME!!", "long_wait"),
        ("surveymonkey", "Temps d'attente", "long_wait"),
        ("delighted", "Tiempo de espera", "long_wait"),
        ("zendesk", "Overcharged.", "billing_error"),
        ("formbricks", "Billing", "billing_error"),
        ("generic", "no follow-up", "broken_promise"),
        ("typeform", "Agent was rude", "rude"),
        ("qualtrics", "Staff Attitude", "rude"),
    ],
)
def test_vendor_labels_map_through_synonyms(vendor: str, label: str, expected: str) -> None:
    coded = code_response(response(reasons=[label], vendor=vendor), TAXONOMY)
    assert [(r.code, r.method, r.rule, r.confidence) for r in coded] == [
        (expected, "chosen_answer", "synonym", 1.0)
    ]


def test_an_answer_that_is_no_synonym_is_read_with_the_rules() -> None:
    coded = code_response(response(reasons=["Waited 40 minutes on hold"]), TAXONOMY)
    assert [(r.code, r.method, r.evidence) for r in coded] == [
        ("long_wait", "chosen_answer", "Waited 40 minutes on hold")
    ]
    assert coded[0].rule is not None and coded[0].confidence < 1.0


def test_a_comment_with_several_reasons_gets_every_code() -> None:
    comment = (
        "Great product. But I was on hold for 40 minutes, then transferred twice, "
        "and the second agent was rude."
    )
    assert codes(comment) == ["long_wait", "transferred", "rude"]


def test_evidence_quotes_the_sentence_and_locates_the_words() -> None:
    comment = "Lovely shop. The agent was rude to me! Otherwise fine."
    reason = by_code(code_response(response(comment), TAXONOMY))["rude"]
    assert reason.evidence == "The agent was rude to me!"
    assert reason.evidence_source == "comment"
    assert reason.method == "rule"
    assert reason.rule == "keyword:rude"
    assert reason.span is not None
    assert comment[reason.span[0] : reason.span[1]] == "rude"


def test_evidence_of_a_pattern_names_it_by_position() -> None:
    reason = by_code(code_response(response("Stuck in the queue for 1h20."), TAXONOMY))["long_wait"]
    assert reason.rule is not None and reason.rule.startswith("pattern:long_wait#")


def test_a_long_sentence_is_cut_around_the_hit() -> None:
    filler = " ".join(["and then something else happened"] * 12)
    comment = f"{filler} and the agent was rude about it {filler}."
    reason = by_code(code_response(response(comment), TAXONOMY))["rude"]
    assert reason.evidence.startswith("…") and reason.evidence.endswith("…")
    assert "the agent was rude about it" in reason.evidence
    assert len(reason.evidence) <= 160


def test_two_rules_agreeing_raise_confidence() -> None:
    one = by_code(code_response(response("The agent was rude."), TAXONOMY))["rude"]
    two = by_code(code_response(response("Rude and condescending."), TAXONOMY))["rude"]
    assert 0 < one.confidence < two.confidence < 1


def test_a_chosen_answer_is_kept_as_evidence_over_the_comment() -> None:
    survey = response("I waited on hold for an hour.", reasons=["Long wait"])
    coded = code_response(survey, TAXONOMY)
    assert [(r.code, r.evidence, r.method) for r in coded] == [
        ("long_wait", "Long wait", "chosen_answer")
    ]


@pytest.mark.parametrize(
    "comment",
    [
        "Agent was not rude at all, very patient actually.",
        "The agent wasn't rude.",
        "Nobody was rude to me.",
        "I was never put on hold, which was refreshing.",
        "No wait, picked up straight away.",
        "I wasn't transferred once.",
        "Not once was I transferred.",
        "I didnt have to repeat myself.",
        "No problems with the delivery, it came early.",
        "I was not charged twice this time.",
    ],
)
def test_denied_complaints_are_not_coded(comment: str) -> None:
    assert codes(comment) == ["unclassified"]


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("Not happy with the long wait.", ["long_wait"]),
        ("No one answered for 40 minutes.", ["long_wait"]),
        ("No, the wait time was a joke.", ["long_wait"]),
        ("Not rude, but the hold time was ridiculous.", ["long_wait"]),
        ("The agent was not rude. The next one was rude.", ["rude"]),
        ("Couldn't reach a real person.", ["no_human"]),
        ("They never called me back.", ["broken_promise"]),
        ("No reply to my emails.", ["slow_response"]),
        # a stressed count is not a denial
        ("I have called on no fewer than five occasions about this.", ["repeat_contact"]),
        ("He was no less rude than the last one.", ["rude"]),
    ],
)
def test_negation_stays_in_its_scope(comment: str, expected: list[str]) -> None:
    assert codes(comment) == expected


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("tranfered to 5 diferent people", "transferred"),
        ("the guy didnt no anything about the product", "product_knowledge"),
        ("El agente fue muy grosero conmigo.", "rude"),
        ("J'ai attendu plus d'une heure au téléphone.", "long_wait"),
        ("Die Rechnung ist falsch.", "billing_error"),
        ("Oh great, another price rise. Love that.", "price_value"),
    ],
)
def test_misspelled_foreign_and_sarcastic_comments(comment: str, expected: str) -> None:
    assert codes(comment) == [expected]


def test_a_comment_that_matches_nothing_is_explicitly_unclassified() -> None:
    comment = "The music in the shop is far too loud."
    coded = code_response(response(comment), TAXONOMY)
    assert [(r.code, r.evidence, r.method, r.confidence) for r in coded] == [
        ("unclassified", comment, "no_match", 0.0)
    ]


@pytest.mark.parametrize("comment", [None, "", "  ", "n/a", "-", "No comment."])
def test_an_empty_comment_is_not_a_blind_spot(comment: str | None) -> None:
    assert code_response(response(comment), TAXONOMY) == []


def test_unknown_answer_and_coded_comment_both_show() -> None:
    survey = response("It arrived two weeks late.", reasons=["Something else"])
    coded = code_response(survey, TAXONOMY)
    assert [(r.code, r.evidence_source) for r in coded] == [
        ("delivery_problem", "comment"),
        ("unclassified", "answer"),
    ]


def test_coding_ignores_the_vendor_and_is_repeatable() -> None:
    comment = "Charged twice, and nobody replied to my email for two weeks."
    first = code_response(response(comment, vendor="typeform"), TAXONOMY)
    again = code_response(response(comment, vendor="qualtrics"), TAXONOMY)
    assert first == again
    assert [r.code for r in first] == ["billing_error", "slow_response"]


def taxonomy_from(tmp_path: Path, text: str) -> Taxonomy:
    path = tmp_path / "taxonomy.toml"
    path.write_text(text, encoding="utf-8")
    return load_taxonomy(path)


def test_keyword_gaps_stems_and_whole_words(tmp_path: Path) -> None:
    taxonomy = taxonomy_from(
        tmp_path,
        '[[codes]]\nid="callback"\nlabel="C"\nkeywords=["promised ... call* back"]\n'
        '[[codes]]\nid="hold"\nlabel="H"\npatterns=["hold"]\n',
    )
    assert codes("They promised to call back", taxonomy) == ["callback"]
    assert codes("They promised they would calll back", taxonomy) == ["callback"]
    assert codes("They promised to call me back", taxonomy) == ["unclassified"]
    assert codes("promised that one day maybe someone would call back", taxonomy) == [
        "unclassified"
    ]
    assert codes("The household was quiet", taxonomy) == ["unclassified"]
    assert codes("I was on hold", taxonomy) == ["hold"]


def test_the_weight_is_the_one_in_force_when_the_response_arrived(tmp_path: Path) -> None:
    taxonomy = taxonomy_from(
        tmp_path,
        '[[codes]]\nid="rude"\nlabel="Rude"\nweight=1.2\nkeywords=["rude"]\n'
        '[[boosts]]\ncode="rude"\nfactor=2\nstarts=2026-05-01\nends=2026-07-01\n',
    )
    inside = code_response(response("so rude"), taxonomy)
    august = response("so rude").model_copy(
        update={"received_at": datetime(2026, 8, 1, tzinfo=UTC)}
    )
    later = code_response(august, taxonomy)
    assert inside[0].weight == pytest.approx(2.4)
    assert later[0].weight == pytest.approx(1.2)
