"""With a recovery window set, answers that reach us long after the customer gave them are
stored and coded but open no case, unless the customer asked to be contacted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.test_metrics import scrape, value
from tests.support import Pipeline, eventually

PAST = "winback_router_past_window_total"


@pytest.fixture
def router_overrides() -> dict[str, object]:
    return {"recovery_window_hours": 72}


def answered_days_ago(payload: dict[str, Any], days: float) -> dict[str, Any]:
    payload["submitted_at"] = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    return payload


async def test_a_month_old_answer_is_stored_and_coded_but_opens_no_case(
    pipeline: Pipeline,
) -> None:
    before = await scrape(pipeline, pipeline.router_url)
    old = answered_days_ago(pipeline.sample(nps=1, comment="I waited an hour on hold."), 30)
    asked = answered_days_ago(pipeline.sample(nps=5, follow_up=True), 30)
    fresh = answered_days_ago(pipeline.sample(nps=1), 2)
    for payload in (old, asked, fresh):
        assert (await pipeline.post(payload)).status_code == 202

    async def stored() -> dict[str, Any]:
        rows = await pipeline.pool.fetch(
            "SELECT r.response_id, r.needs_recovery, r.codes::text AS codes, c.id AS case_id"
            " FROM survey_responses r LEFT JOIN recovery_cases c ON c.survey_response_id = r.id"
        )
        return {row["response_id"]: row for row in rows} if len(rows) == 3 else {}

    rows = await eventually(stored)
    assert not rows[old["response_id"]]["needs_recovery"]
    assert rows[old["response_id"]]["case_id"] is None
    assert "long_wait" in rows[old["response_id"]]["codes"]  # coded all the same, for trends
    assert rows[asked["response_id"]]["case_id"] is not None  # they asked: a case however late
    assert rows[fresh["response_id"]]["case_id"] is not None
    after = await scrape(pipeline, pipeline.router_url)
    by_source = {"source": pipeline.source}
    assert value(after, PAST, **by_source) - value(before, PAST, **by_source) == 1
