"""The router with ``WINBACK_ROUTER_CODING_PROCESS`` on, through Kafka and PostgreSQL: cases
coded in the worker process as the thread codes them, dead letters and revisions as ever."""

from __future__ import annotations

import psutil
import pytest

from tests.integration.test_end_to_end import next_alert, open_console
from tests.support import Pipeline, eventually
from winback_router.coding import code_responses
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.learned import FAST_MODEL
from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import SurveyResponse

COMMENTS = [
    "I waited forty minutes on hold and nobody called me back. Please call me.",
    "The agent did not know the product and was rude",
    "Billing charged me twice and the refund never came",
]


@pytest.fixture
def router_overrides() -> dict[str, object]:
    return {"router_coding_process": True}


async def test_cases_are_coded_in_the_worker_as_in_the_thread(pipeline: Pipeline) -> None:
    assert any("spawn" in " ".join(child.cmdline()) for child in psutil.Process().children()), (
        "the router started its coding worker"
    )
    socket, _ = await open_console(pipeline)
    payloads = [pipeline.sample(nps=2, comment=comment) for comment in COMMENTS]
    payloads[0]["reasons"] = ["Long wait"]
    broken = {"survey_id": "no-response-id", "scores": [{"kind": "nps", "value": 1}]}
    for payload in (payloads[0], broken, *payloads[1:]):
        assert (await pipeline.post(payload)).status_code == 202

    alerts = {}
    for _ in payloads:
        case = (await next_alert(socket))["case"]
        alerts[case["response_id"]] = case
    assert set(alerts) == {payload["response_id"] for payload in payloads}

    taxonomy = load_and_compile(None, FAST_MODEL)  # the router's default model
    for payload in payloads:
        received_at = await pipeline.pool.fetchval(
            "SELECT received_at FROM survey_responses WHERE response_id = $1",
            payload["response_id"],
        )
        response = SurveyResponse.model_construct(
            comment=payload["comment"], reasons=payload["reasons"], received_at=received_at
        )
        [want] = code_responses([response], taxonomy)
        got = [
            CodedReason.model_validate(reason)
            for reason in alerts[payload["response_id"]]["reasons"]
        ]
        assert got == want and want

    assert await eventually(lambda: pipeline.pool.fetchval("SELECT count(*) FROM dead_letters"))
    revised = {**payloads[1], "comment": "Still waiting for the refund."}
    assert (await pipeline.post(revised)).status_code == 202
    update = await next_alert(socket)
    assert update["type"] == "case.updated"
    assert (update["case"]["seq"], update["case"]["comment"]) == (2, revised["comment"])
    assert update["case"]["reasons"]
    await socket.close()
