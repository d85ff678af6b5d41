"""Later deliveries of the same response revise it: one case, updated in place, consoles told."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.support import Pipeline, eventually, group_caught_up, read_topic
from winback_shared.settings import KafkaTopics


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
    # Each entry says why the case has its priority at that point.
    whys = await pipeline.pool.fetch(
        "SELECT (data->'triggers')::text AS triggers FROM case_history ORDER BY seq"
    )
    opened_why, revised_why = (json.loads(row["triggers"]) for row in whys)
    assert opened_why == ["nps=3"]
    assert revised_why[:2] == ["nps=3", "reason=billing_error"]
    assert set(revised_why[1:]) == {f"reason={r['code']}" for r in case["reasons"]}
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


async def test_a_retry_of_an_older_delivery_leaves_the_newer_answer_in_place(
    pipeline: Pipeline, kafka_bootstrap: str, topics: KafkaTopics, unique: str
) -> None:
    first = {**pipeline.sample(nps=2), "updated_at": "2026-11-23T09:00:00Z"}
    changed = {
        **first,
        "updated_at": "2026-11-23T09:04:00Z",
        "scores": [{"kind": "nps", "value": 6}],
        "comment": "They called back and fixed it",
    }
    assert (await pipeline.post(first)).status_code == 202
    await eventually(lambda: pipeline.pool.fetchval("SELECT alerted_at FROM recovery_cases"))
    assert (await pipeline.post(changed)).status_code == 202
    await eventually(lambda: pipeline.pool.fetchval("SELECT seq FROM recovery_cases WHERE seq = 2"))
    assert (await pipeline.post(first)).status_code == 202  # the vendor retries the old one
    assert await eventually(
        lambda: group_caught_up(kafka_bootstrap, f"router-{unique}", topics.survey_responses)
    )

    stored = await pipeline.pool.fetchrow(
        "SELECT scores, comment, revision, vendor_updated_at FROM survey_responses"
        " WHERE response_id = $1",
        first["response_id"],
    )
    assert stored is not None
    assert [score["value"] for score in stored["scores"]] == [6]
    assert stored["comment"] == "They called back and fixed it"
    assert stored["revision"] == 2
    assert stored["vendor_updated_at"] == datetime(2026, 11, 23, 9, 4, tzinfo=UTC)
    assert await pipeline.pool.fetchval("SELECT max(seq) FROM recovery_cases") == 2
