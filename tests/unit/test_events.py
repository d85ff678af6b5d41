"""Event contracts survive a Kafka round trip unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from winback_shared.case_vocabulary import CaseStatus, HistoryKind
from winback_shared.events.case_events import HistoryEntry
from winback_shared.events.recovery_alerts import CaseSummary, CodedReason, RecoveryCaseOpened
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.survey import Customer, Interaction, Score, ScoreKind


def test_survey_received_round_trip_keeps_the_raw_body() -> None:
    event = SurveyReceived(
        source="demo",
        vendor="generic",
        content_type="application/json",
        delivery_id="msg_1",
        body='{"a": "é\\u0000"}',
    )
    again = SurveyReceived.from_bytes(event.to_bytes())
    assert again == event
    assert again.receipt_id == event.event_id
    assert again.type == "survey.received"


def _summary() -> CaseSummary:
    now = datetime.now(UTC)
    return CaseSummary(
        case_id=7,
        seq=1,
        status=CaseStatus.OPEN,
        priority=1,
        queue="default",
        source="demo",
        response_id="r-7",
        customer=Customer(name="Ana"),
        interaction=Interaction(channel="chat"),
        scores=[Score(kind=ScoreKind.NPS, value=2)],
        reasons=[
            CodedReason(code="rude", label="Rude", evidence="rude agent", method="chosen_answer")
        ],
        comment="<b>hi</b>",
        follow_up_requested=True,
        submitted_at=None,
        received_at=now,
        opened_at=now,
    )


def test_recovery_case_opened_round_trip() -> None:
    event = RecoveryCaseOpened(case=_summary())
    assert RecoveryCaseOpened.from_bytes(event.to_bytes()) == event


def test_wrong_event_type_is_refused() -> None:
    raw = SurveyReceived(source="d", vendor="generic", content_type="x", body="{}").to_bytes()
    with pytest.raises(ValidationError):
        RecoveryCaseOpened.from_bytes(raw)


@pytest.mark.parametrize(("value", "low", "high"), [(11, None, None), (0, 1, 5), (3, 5, 5)])
def test_scores_outside_their_scale_are_refused(
    value: float, low: float | None, high: float | None
) -> None:
    with pytest.raises(ValidationError):
        Score(
            kind=ScoreKind.NPS if low is None else ScoreKind.CSAT,
            value=value,
            scale_min=low,
            scale_max=high,
        )


def test_statuses_and_history_kinds_travel_as_the_vocabulary_spells_them() -> None:
    entry = HistoryEntry.model_validate_json(
        '{"seq": 2, "kind": "claimed", "actor": "ana", "occurred_at": "2026-01-01T09:00:00Z"}'
    )
    assert entry.kind is HistoryKind.CLAIMED
    assert '"kind":"claimed"' in entry.model_dump_json()
    with pytest.raises(ValidationError):
        HistoryEntry.model_validate(
            {"seq": 2, "kind": "claimd", "actor": "ana", "occurred_at": "2026-01-01T09:00:00Z"}
        )
    summary = _summary()
    assert summary.status is CaseStatus.OPEN
    with pytest.raises(ValidationError):
        CaseSummary.model_validate({**summary.model_dump(), "status": "pending"})
