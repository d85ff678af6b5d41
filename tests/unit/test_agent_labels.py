"""Agents' labels as data, without a database: which label a case's history gives, how full and
partial labels are scored, and what training reads of them."""

from __future__ import annotations

import pytest

from winback_router.coding.agent_labels import (
    AgentLabel,
    evaluate,
    format_agent_report,
    label_of,
    training_examples,
)
from winback_router.coding.compiler import load_and_compile

RULES = load_and_compile(model=None)
"""Rules alone: these comments are plain enough that the figures below are exact."""
CODES = [code.id for code in RULES.codes]
WAIT = "Waited 45 minutes on hold."


def label(
    case_id: int,
    comment: str | None,
    codes: set[str],
    *,
    partial: bool = False,
    follow_up: bool | None = False,
    answers: tuple[str, ...] = (),
    asked_in_survey: bool = False,
) -> AgentLabel:
    return AgentLabel(
        case_id=case_id,
        comment=comment,
        answers=answers,
        asked_in_survey=asked_in_survey,
        codes=frozenset(codes),
        follow_up=None if partial else follow_up,
        partial=partial,
    )


def test_a_review_is_a_full_label_and_the_latest_one_is_what_is_read() -> None:
    review = {"codes": ["long_wait", "rude"], "follow_up_requested": True}
    assert label_of(review, 5, None, None) == (frozenset({"long_wait", "rude"}), True, False)
    # a resolution before the review: the review already says everything
    assert label_of(review, 5, "billing_error", 4) == (
        frozenset({"long_wait", "rude"}),
        True,
        False,
    )


def test_a_root_cause_confirmed_after_the_review_joins_it() -> None:
    review = {"codes": ["long_wait"], "follow_up_requested": False}
    assert label_of(review, 5, "billing_error", 7) == (
        frozenset({"long_wait", "billing_error"}),
        False,
        False,
    )


def test_a_root_cause_alone_is_a_partial_label_and_nothing_is_no_label() -> None:
    assert label_of(None, None, "billing_error", 6) == (frozenset({"billing_error"}), None, True)
    assert label_of(None, None, None, None) is None


def test_full_labels_score_every_code_and_partial_ones_only_their_codes_recall() -> None:
    labels = [
        label(1, WAIT, {"long_wait"}),  # right
        label(2, WAIT, {"billing_error"}),  # corrected: long_wait extra, billing_error missed
        label(3, WAIT, {"long_wait"}, partial=True),  # found
        label(4, "n/a", {"product_knowledge"}, partial=True),  # missed
        label(5, WAIT, {"billing_error"}, partial=True),  # missed; long_wait is not held against
    ]
    result = evaluate(RULES, labels)
    rows = {row.code: row for row in result.report.codes}
    counts = {
        code: (row.true_positives, row.false_positives, row.false_negatives)
        for code, row in rows.items()
        if row.true_positives or row.false_positives or row.false_negatives
    }
    assert counts == {
        "long_wait": (2, 1, 0),
        "billing_error": (0, 0, 2),
        "product_knowledge": (0, 0, 1),
    }
    assert rows["long_wait"].precision == pytest.approx(2 / 3)
    assert rows["long_wait"].recall == 1.0
    assert (result.full, result.partial, result.report.examples) == (2, 3, 5)
    assert result.report.no_code.support == 0  # no full label says "no code"
    assert "case-2 missed=['billing_error'] extra=['long_wait']" in result.errors
    assert "case-5" not in result.errors  # partial labels are not listed as mistakes


def test_asked_to_be_contacted_is_the_survey_field_or_the_comment_against_the_agent() -> None:
    labels = [
        label(1, f"{WAIT} Please call me back.", {"long_wait"}, follow_up=True),  # in words
        label(2, WAIT, {"long_wait"}, follow_up=True, asked_in_survey=True),  # the field
        label(3, WAIT, {"long_wait"}, follow_up=True),  # asked on the phone: missed
        label(4, WAIT, {"long_wait"}, follow_up=False),
        label(5, WAIT, {"long_wait"}, partial=True),  # unknown: not scored
    ]
    follow = evaluate(RULES, labels).follow_up
    assert follow is not None
    assert (follow.true_positives, follow.false_positives, follow.false_negatives) == (2, 0, 1)


def test_chosen_answers_are_coded_as_the_router_codes_them() -> None:
    answered = label(1, None, {"long_wait"}, answers=("Long hold or wait",))
    rows = {row.code: row for row in evaluate(RULES, [answered]).report.codes}
    assert rows["long_wait"].true_positives == 1


def test_training_reads_full_labels_with_text_answers_first() -> None:
    labels = [
        label(1, "and nobody called back", {"long_wait", "gone"}, answers=("Long wait.",)),
        label(2, WAIT, {"long_wait"}, partial=True),
        label(3, None, set()),  # nothing to read
        label(4, "n/a", set()),
    ]
    examples = training_examples(labels, CODES)
    assert [(e.id, e.text, set(e.codes)) for e in examples] == [
        ("case-1", "Long wait. and nobody called back", {"long_wait"}),  # "gone" left the taxonomy
        ("case-4", "n/a", set()),
    ]


def test_the_report_says_what_the_labels_were() -> None:
    result = evaluate(RULES, [label(1, WAIT, {"long_wait"})])
    text = format_agent_report("rules alone, agent", result)
    assert text.startswith("rules alone, agent: 1 comments")
    assert "long_wait" in text and "macro-F1 1.000" in text
    assert "1 reviewed by an agent (full), 0 root cause at resolution only" in text
    assert "asks to be contacted P / R / F1 (full labels): 1.00 / 1.00 / 1.00 (0)" in text
