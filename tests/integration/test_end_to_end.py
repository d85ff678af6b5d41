"""Signed webhook in → case in PostgreSQL → alert on a websocket, on real infrastructure."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.support import Pipeline, eventually

ALERT_TIMEOUT = 20


async def open_console(pipeline: Pipeline) -> tuple[ClientConnection, list[dict[str, Any]]]:
    """Connect and authenticate like the console does; return the socket and the snapshot."""
    socket = await connect(pipeline.websocket_url)
    await socket.send(json.dumps({"type": "auth", "token": pipeline.agent_token}))
    hello = json.loads(await socket.recv())
    assert hello["type"] == "hello"
    snapshot = json.loads(await socket.recv())
    assert snapshot["type"] == "snapshot"
    return socket, snapshot["cases"]


async def next_alert(socket: ClientConnection, timeout: float = ALERT_TIMEOUT) -> dict[str, Any]:
    """The next live message."""
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout))
    return message


async def test_detractor_response_becomes_case_and_live_alert(pipeline: Pipeline) -> None:
    socket, snapshot = await open_console(pipeline)
    assert snapshot == []
    payload = pipeline.sample(nps=2, reasons=["Agent lacked product knowledge"], comment="No idea")

    answer = await pipeline.post(payload)

    assert answer.status_code == 202
    receipt_id = answer.json()["receipt_id"]
    alert = await next_alert(socket)
    assert alert["type"] == "case.opened"
    case = alert["case"]
    assert case["response_id"] == payload["response_id"]
    assert case["seq"] == 1
    assert case["priority"] == 1
    assert [r["code"] for r in case["reasons"]] == ["product_knowledge"]
    assert case["reasons"][0]["evidence"] == "Agent lacked product knowledge"
    assert case["customer"]["name"] == "Dana Whitfield"
    assert case["comment"] == "No idea"
    row = await pipeline.pool.fetchrow(
        """SELECT c.id, c.status, c.alerted_at, r.receipt_id, r.needs_recovery
           FROM recovery_cases c JOIN survey_responses r ON r.id = c.survey_response_id
           WHERE r.response_id = $1""",
        payload["response_id"],
    )
    assert row is not None
    assert row["id"] == case["case_id"]
    assert row["status"] == "open"
    assert row["receipt_id"] == receipt_id
    assert row["needs_recovery"] is True
    # The router records the acknowledgement after Kafka confirms it; the console may be faster.
    alerted_at = await eventually(
        lambda: pipeline.pool.fetchval(
            "SELECT alerted_at FROM recovery_cases WHERE id = $1", case["case_id"]
        )
    )
    assert alerted_at is not None
    await socket.close()


async def test_promoter_is_stored_without_case_or_alert(pipeline: Pipeline) -> None:
    socket, _ = await open_console(pipeline)
    promoter = pipeline.sample(nps=10)
    marker = pipeline.sample(nps=0)  # posted after; its alert proves the promoter was processed

    assert (await pipeline.post(promoter)).status_code == 202
    assert (await pipeline.post(marker)).status_code == 202

    alert = await next_alert(socket)
    assert alert["case"]["response_id"] == marker["response_id"]
    stored = await pipeline.pool.fetchrow(
        "SELECT id, needs_recovery FROM survey_responses WHERE response_id = $1",
        promoter["response_id"],
    )
    assert stored is not None and stored["needs_recovery"] is False
    cases = await pipeline.pool.fetchval(
        "SELECT count(*) FROM recovery_cases WHERE survey_response_id = $1", stored["id"]
    )
    assert cases == 0
    await socket.close()


async def test_same_response_posted_twice_makes_one_case_and_one_alert(pipeline: Pipeline) -> None:
    socket, _ = await open_console(pipeline)
    payload = pipeline.sample(nps=3, reasons=["billing error"])
    marker = pipeline.sample(nps=1)

    first = await pipeline.post(payload)
    second = await pipeline.post(payload)  # a vendor retry: newly signed, same response
    assert (await pipeline.post(marker)).status_code == 202

    assert first.status_code == second.status_code == 202
    assert first.json()["receipt_id"] != second.json()["receipt_id"]
    alerts = [await next_alert(socket), await next_alert(socket)]
    assert [a["case"]["response_id"] for a in alerts] == [
        payload["response_id"],
        marker["response_id"],
    ]
    count = await pipeline.pool.fetchval(
        """SELECT count(*) FROM recovery_cases c JOIN survey_responses r
           ON r.id = c.survey_response_id WHERE r.response_id = $1""",
        payload["response_id"],
    )
    assert count == 1
    await socket.close()


async def test_console_connecting_later_gets_open_cases_in_snapshot(pipeline: Pipeline) -> None:
    first_console, _ = await open_console(pipeline)
    payload = pipeline.sample(nps=4, reasons=["long wait"])
    assert (await pipeline.post(payload)).status_code == 202
    alert = await next_alert(first_console)

    late_console, snapshot = await open_console(pipeline)

    assert [c["case_id"] for c in snapshot] == [alert["case"]["case_id"]]
    assert snapshot[0]["reasons"][0]["code"] == "long_wait"
    await first_console.close()
    await late_console.close()


@pytest.mark.parametrize("token", ["", "not-a-token"])
async def test_console_with_bad_token_is_closed_4401(pipeline: Pipeline, token: str) -> None:
    socket = await connect(pipeline.websocket_url)
    await socket.send(json.dumps({"type": "auth", "token": token}))
    await socket.wait_closed()
    assert socket.close_code == 4401


async def test_case_api_requires_token_and_lists_open_cases(pipeline: Pipeline) -> None:
    socket, _ = await open_console(pipeline)
    payload = pipeline.sample(nps=5, follow_up=True)
    assert (await pipeline.post(payload)).status_code == 202
    await next_alert(socket)

    anonymous = await pipeline.http.get(f"{pipeline.notifier_url}/api/cases")
    listed = await pipeline.http.get(
        f"{pipeline.notifier_url}/api/cases",
        headers={"Authorization": f"Bearer {pipeline.agent_token}"},
    )

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    assert listed.status_code == 200
    assert [c["response_id"] for c in listed.json()] == [payload["response_id"]]
    await socket.close()


async def test_every_service_reports_ready(pipeline: Pipeline) -> None:
    for url in (pipeline.ingest_url, pipeline.router_url, pipeline.notifier_url):
        health = await pipeline.http.get(f"{url}/healthz")
        ready = await pipeline.http.get(f"{url}/readyz")
        assert health.status_code == 200, url
        assert ready.status_code == 200, (url, ready.text)
        assert all(ready.json()["checks"].values())


async def test_console_page_is_served_with_a_strict_content_security_policy(
    pipeline: Pipeline,
) -> None:
    page = await pipeline.http.get(f"{pipeline.notifier_url}/")
    assert page.status_code == 200
    assert 'id="cases"' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
