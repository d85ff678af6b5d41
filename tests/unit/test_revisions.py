"""Merging later deliveries of a response, as pure rules; the pipeline path is in
integration/test_revisions.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from winback_router.revisions import content_digest, merge_revision
from winback_shared.survey import SurveyResponse


def response(**changes: Any) -> SurveyResponse:
    base: dict[str, Any] = {
        "response_id": "r-1",
        "source": "s",
        "vendor": "delighted",
        "receipt_id": "first",
        "received_at": datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        "customer": {"email": "ana@example.com"},
        "scores": [{"kind": "nps", "value": 3}],
    }
    return SurveyResponse.model_validate({**base, **changes})


def test_a_later_comment_is_added_and_the_first_delivery_identity_kept() -> None:
    first = response()
    update = response(
        receipt_id="second",
        received_at=datetime(2026, 11, 23, 9, 5, tzinfo=UTC),
        comment="Waited 40 minutes",
        customer={"phone": "+34 600"},
    )

    merged = merge_revision(first, update)

    assert merged.comment == "Waited 40 minutes"
    assert merged.customer.email == "ana@example.com" and merged.customer.phone == "+34 600"
    assert merged.receipt_id == "first" and merged.received_at == first.received_at


def test_a_late_retry_of_the_first_delivery_erases_nothing() -> None:
    with_comment = response(comment="Rude agent", reasons=["Rude"], follow_up_requested=True)
    merged = merge_revision(with_comment, response(receipt_id="retry"))
    assert merged.comment == "Rude agent"
    assert merged.reasons == ["Rude"]
    assert merged.follow_up_requested
    assert content_digest(merged) == content_digest(with_comment)


def test_scores_merge_by_kind() -> None:
    merged = merge_revision(
        response(), response(scores=[{"kind": "nps", "value": 1}, {"kind": "csat", "value": 2}])
    )
    assert {(s.kind.value, s.value) for s in merged.scores} == {("nps", 1), ("csat", 2)}


def test_digest_ignores_which_delivery_carried_the_content() -> None:
    assert content_digest(response()) == content_digest(response(receipt_id="other"))
    assert content_digest(response()) != content_digest(response(comment="new"))
    later_clock = response(updated_at=datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    assert content_digest(later_clock) == content_digest(response())


T1 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


T2 = datetime(2026, 11, 23, 9, 4, tzinfo=UTC)


def test_an_older_delivery_arriving_late_never_undoes_a_newer_one() -> None:
    newer = response(
        updated_at=T2,
        scores=[{"kind": "nps", "value": 6}],
        comment="Sorted out in the end",
        reasons=["Billing error"],
    )
    older = response(
        receipt_id="retry",
        updated_at=T1,
        scores=[{"kind": "nps", "value": 2}, {"kind": "csat", "value": 1}],
        comment="Awful",
        reasons=["Rude"],
        customer={"phone": "+34 600"},
    )

    merged = merge_revision(newer, older)

    assert {(s.kind.value, s.value) for s in merged.scores} == {("nps", 6), ("csat", 1)}
    assert merged.comment == "Sorted out in the end" and merged.reasons == ["Billing error"]
    # What only the older delivery carried still fills the gaps.
    assert merged.customer.phone == "+34 600" and merged.customer.email == "ana@example.com"
    assert merged.updated_at == T2
    assert merged.receipt_id == "first"


def test_a_newer_delivery_wins_and_moves_the_clock_on() -> None:
    merged = merge_revision(
        response(updated_at=T1, scores=[{"kind": "nps", "value": 2}]),
        response(receipt_id="second", updated_at=T2, scores=[{"kind": "nps", "value": 6}]),
    )
    assert [(s.kind.value, s.value) for s in merged.scores] == [("nps", 6)]
    assert merged.updated_at == T2


@pytest.mark.parametrize(("stored_clock", "incoming_clock"), [(None, T1), (T2, None), (None, None)])
def test_without_both_clocks_the_last_arrival_wins(
    stored_clock: datetime | None, incoming_clock: datetime | None
) -> None:
    merged = merge_revision(
        response(updated_at=stored_clock, scores=[{"kind": "nps", "value": 2}]),
        response(updated_at=incoming_clock, scores=[{"kind": "nps", "value": 6}]),
    )
    assert [s.value for s in merged.scores] == [6]
    assert merged.updated_at == (stored_clock or incoming_clock)
