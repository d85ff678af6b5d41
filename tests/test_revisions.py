"""Later deliveries of the same response revise it: one case, updated in place, consoles told."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.support import Pipeline, eventually, read_topic
from winback_router.revisions import content_digest, merge_revision
from winback_shared.settings import KafkaTopics
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


async def alerts(kafka_bootstrap: str, topics: KafkaTopics) -> list[dict[str, Any]]:
    return [json.loads(v) for v in await read_topic(kafka_bootstrap, topics.recovery_alerts)]


async def test_update_revises_the_open_case_and_tells_the_consoles(
    pipeline: Pipeline, kafka_bootstrap: str, topics: KafkaTopics
) -> None:
    first = pipeline.sample(nps=3)
    assert (await pipeline.post(first)).status_code == 202
    await eventually(lambda: pipeline.pool.fetchval("SELECT alerted_at FROM recovery_cases"))
    update = {**first, "comment": "Still no refund", "reasons": ["Billing error"]}

    assert (await pipeline.post(update)).status_code == 202
    assert (await pipeline.post(update)).status_code == 202  # a plain retry changes nothing

    case = await eventually(
        lambda: pipeline.pool.fetchrow(
            "SELECT * FROM case_summaries WHERE comment IS NOT NULL AND seq = 2"
        )
    )
    assert case is not None, "the case was never revised"
    assert await pipeline.pool.fetchval("SELECT count(*) FROM recovery_cases") == 1
    assert await pipeline.pool.fetchval("SELECT revision FROM survey_responses") == 2
    # The revision was re-coded: the chosen answer and the new comment both carry the reason.
    assert "billing_error" in {r["code"] for r in case["reasons"]}
    assert "Billing error" in [r["evidence"] for r in case["reasons"]]
    history = await pipeline.pool.fetch("SELECT seq, kind, actor FROM case_history ORDER BY seq")
    assert [tuple(row) for row in history] == [(1, "opened", "router"), (2, "revised", "router")]
    published = await alerts(kafka_bootstrap, topics)
    assert [(a["type"], a["case"]["seq"]) for a in published] == [
        ("case.opened", 1),
        ("case.updated", 2),
    ]
    assert published[1]["case"]["comment"] == "Still no refund"


async def test_update_that_asks_for_follow_up_opens_a_case_for_a_promoter(
    pipeline: Pipeline, kafka_bootstrap: str, topics: KafkaTopics
) -> None:
    first = pipeline.sample(nps=9)
    assert (await pipeline.post(first)).status_code == 202
    await eventually(lambda: pipeline.pool.fetchval("SELECT count(*) FROM survey_responses"))
    assert await pipeline.pool.fetchval("SELECT count(*) FROM recovery_cases") == 0

    later = {**first, "follow_up_requested": True, "comment": "Please call me about the bill"}
    assert (await pipeline.post(later)).status_code == 202

    opened = await eventually(lambda: pipeline.pool.fetchrow("SELECT * FROM case_summaries"))
    assert opened is not None and opened["follow_up_requested"]
    published = await alerts(kafka_bootstrap, topics)
    assert [a["type"] for a in published] == ["case.opened"]
