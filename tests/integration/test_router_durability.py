"""The router keeps its promises when things go wrong: nothing lost, nothing doubled."""

from __future__ import annotations

import json

from tests.integration.test_end_to_end import next_alert, open_console
from tests.support import Pipeline, eventually
from winback_notifier.cases.service import list_open_cases
from winback_router.store import mark_alerted


async def test_unnormalisable_payload_is_dead_lettered_and_the_stream_goes_on(
    pipeline: Pipeline,
) -> None:
    socket, _ = await open_console(pipeline)
    broken = {"survey_id": "no-response-id", "scores": [{"kind": "nps", "value": 42}]}
    good = pipeline.sample(nps=1)

    accepted = await pipeline.post(broken)
    assert (await pipeline.post(good)).status_code == 202

    assert accepted.status_code == 202  # authentic deliveries are never refused for content
    alert = await next_alert(socket)
    assert alert["case"]["response_id"] == good["response_id"]
    letter = await eventually(
        lambda: pipeline.pool.fetchrow("SELECT receipt_id, source, error, record FROM dead_letters")
    )
    assert letter["receipt_id"] == accepted.json()["receipt_id"]
    assert letter["source"] == "survey"
    assert "response_id" in letter["error"]
    assert json.loads(json.loads(letter["record"])["body"]) == broken
    await socket.close()


async def test_case_whose_alert_was_never_confirmed_is_alerted_on_redelivery(
    pipeline: Pipeline,
) -> None:
    socket, _ = await open_console(pipeline)
    payload = pipeline.sample(nps=2)
    assert (await pipeline.post(payload)).status_code == 202
    first = await next_alert(socket)
    case_id = first["case"]["case_id"]
    await eventually(
        lambda: pipeline.pool.fetchval(
            "SELECT alerted_at FROM recovery_cases WHERE id = $1", case_id
        )
    )
    # Simulate a crash after the database commit but before Kafka acknowledged the alert.
    await pipeline.pool.execute(
        "UPDATE recovery_cases SET alerted_at = NULL WHERE id = $1", case_id
    )

    assert (await pipeline.post(payload)).status_code == 202

    again = await next_alert(socket)
    assert again["case"]["case_id"] == case_id
    assert again["case"]["seq"] == first["case"]["seq"]  # same case, consoles dedupe it
    assert await pipeline.pool.fetchval("SELECT count(*) FROM recovery_cases") == 1
    await socket.close()


async def test_mark_alerted_only_touches_cases_not_yet_alerted(pipeline: Pipeline) -> None:
    socket, _ = await open_console(pipeline)
    assert (await pipeline.post(pipeline.sample(nps=0))).status_code == 202
    case_id = (await next_alert(socket))["case"]["case_id"]
    before = await eventually(
        lambda: pipeline.pool.fetchval(
            "SELECT alerted_at FROM recovery_cases WHERE id = $1", case_id
        )
    )

    async with pipeline.pool.acquire() as conn:
        await mark_alerted(conn, [case_id])

    after = await pipeline.pool.fetchval(
        "SELECT alerted_at FROM recovery_cases WHERE id = $1", case_id
    )
    assert after == before
    assert [c.case_id for c in await list_open_cases(pipeline.pool)] == [case_id]
    await socket.close()
