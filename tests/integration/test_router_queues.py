"""The router files each new case in the queue its configured rules choose."""

from __future__ import annotations

import pytest

from tests.support import Pipeline, eventually
from winback_router.queues import QueueRules


@pytest.fixture
def router_overrides() -> dict[str, object]:
    return {
        "queue_rules": QueueRules.model_validate(
            {
                "default": "general",
                "rules": [
                    {"queue": "billing", "reasons": ["billing_error"]},
                    {"queue": "vip", "segments": ["Gold"]},
                ],
            }
        )
    }


async def test_cases_land_in_the_queue_their_rules_choose(pipeline: Pipeline) -> None:
    billing = pipeline.sample(nps=2, reasons=["Billing error"])
    gold = pipeline.sample(nps=3)
    gold["customer"]["segment"] = "gold"
    plain = pipeline.sample(nps=4)

    for payload in (billing, gold, plain):
        assert (await pipeline.post(payload)).status_code == 202

    async def queues() -> dict[str, str]:
        rows = await pipeline.pool.fetch("SELECT response_id, queue FROM case_summaries")
        return {row["response_id"]: row["queue"] for row in rows} if len(rows) == 3 else {}

    assert await eventually(queues) == {
        billing["response_id"]: "billing",
        gold["response_id"]: "vip",
        plain["response_id"]: "general",
    }
