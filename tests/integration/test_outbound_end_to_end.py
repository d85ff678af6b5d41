"""Outbound on the real broker and PostgreSQL: an SLA breach reaches a Slack-shaped server, a new
P1 case reaches a signed webhook, and admins manage subscriptions through the notifier's API.

The notifier fires the breach (its SLA timers, a P1 target of 6 seconds); the outbound process
reads it from ``case-events`` in its own consumer group and posts it. Nothing is faked but the
receiving vendor.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from tests.case_support import CaseDesk, publish_opened, running_desk
from tests.outbound_fakes import SlackWebhook, WebhookReceiver, running
from tests.outbound_support import SAFETY_SETTINGS
from tests.role_support import NOTIFIER, service_env
from tests.support import eventually, serve
from winback_notifier.outbound.app import create_app
from winback_notifier.outbound.settings import OutboundSettings
from winback_shared.agents import Role

FAST_SLA = {"contact_target_minutes": {1: 0.1, 2: 15, 3: 60, 4: 240}, "sla_warning_seconds": 0}


@asynccontextmanager
async def running_outbound(
    infra_env: dict[str, Any], unique: str, console_url: str
) -> AsyncIterator[str]:
    """The outbound process in-process, as the notifier's role, in this test's group."""
    settings = OutboundSettings(
        **await service_env(infra_env, NOTIFIER),  # type: ignore[arg-type]
        outbound_group=f"outbound-{unique}",
        console_url=console_url,
        outbound_poll_seconds=0.5,
        outbound_retry_base_seconds=0.05,
        **SAFETY_SETTINGS,
    )
    failures: list[BaseException] = []
    async with serve(create_app(settings, failures.append)) as url:
        yield url
    assert not failures, f"an outbound loop died: {failures!r}"


async def subscribe(desk: CaseDesk, admin: str, **body: Any) -> dict[str, Any]:
    response = await desk.call("POST", "/api/admin/outbound/subscriptions", admin, body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_p1_breach_reaches_slack_and_the_opening_a_signed_webhook(
    infra_env: dict[str, Any], unique: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        running_desk(infra_env, **FAST_SLA, **SAFETY_SETTINGS) as desk,
        running(SlackWebhook()) as slack,
        running(WebhookReceiver()) as hook,
        running_outbound(infra_env, unique, desk.url) as outbound,
    ):
        admin = await desk.agent("ada", Role.ADMIN)
        await subscribe(
            desk,
            admin,
            name="floor-slack",
            channel="slack",
            url=slack.url,
            event_types=["case.opened", "case.breached"],
            max_priority=1,
        )
        created = await subscribe(
            desk, admin, name="crm", channel="webhook", url=hook.url, event_types=["case.opened"]
        )
        hook.secrets.append(created["secret"])
        ready = await desk.http.get(f"{outbound}/readyz")
        assert ready.status_code == 200, ready.text

        kafka = str(infra_env["kafka_bootstrap_servers"])
        p1 = await desk.case(priority=1)
        p3 = await desk.case(priority=3)
        for case_id in (p1, p3):
            await publish_opened(desk, kafka, infra_env["topics"].recovery_alerts, case_id)

        async def breach_posted() -> Any:
            return next((s for s in slack.accepted if "breached" in s.json()["text"]), None)

        message = await eventually(breach_posted, timeout=60)
        arrived = datetime.now(UTC)
        assert message is not None, [s.json()["text"] for s in slack.seen]
        assert f"#{p1}" in message.json()["text"]
        assert f"{desk.url}/#case={p1}" in str(message.json()["blocks"])
        breached_at = await desk.pool.fetchval(
            "SELECT sla_breached_at FROM recovery_cases WHERE id = $1", p1
        )
        assert breached_at is not None
        logging.getLogger("test").info(
            "breach to Slack: %.2f s", (arrived - breached_at).total_seconds()
        )

        assert await eventually(lambda: _count(hook, 2), timeout=30)
        opened = sorted(seen.json()["data"]["case"]["case_id"] for seen in hook.accepted)
        assert opened == sorted([p1, p3])  # every priority: no filter on this one
        texts = [seen.json()["text"] for seen in slack.accepted]
        assert not any(f"#{p3}" in text for text in texts)  # Slack takes P1 only


async def _count(receiver: WebhookReceiver, wanted: int) -> bool:
    return len(receiver.accepted) >= wanted


async def test_admins_manage_subscriptions_through_the_api(infra_env: dict[str, Any]) -> None:
    async with running_desk(infra_env, **SAFETY_SETTINGS) as desk:
        admin = await desk.agent("ada", Role.ADMIN)
        base = "/api/admin/outbound/subscriptions"
        plain_http = {
            "name": "x",
            "channel": "webhook",
            "url": "http://example.com/hook",
            "event_types": ["case.closed"],
        }
        refused = await desk.call("POST", base, admin, plain_http)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "bad_endpoint"

        body = {**plain_http, "url": "https://example.com/hook"}
        created = await desk.call("POST", base, admin, body)
        assert created.status_code == 201
        assert created.json()["secret"].startswith("whsec_")
        again = await desk.call("POST", base, admin, body)
        assert again.status_code == 409

        listed = (await desk.call("GET", base, admin)).json()
        assert [s["name"] for s in listed] == ["x"] and listed[0]["secrets"] == 1
        assert "whsec_" not in str(listed)

        rotated = await desk.call("POST", f"{base}/x/secrets", admin)
        assert rotated.status_code == 201 and rotated.json()["secret"] != created.json()["secret"]
        assert (await desk.call("GET", f"{base}/x", admin)).json()["secrets"] == 2
        retired = await desk.call("DELETE", f"{base}/x/secrets/old", admin)
        assert retired.json()["secrets"] == 1

        paused = await desk.call("POST", f"{base}/x/pause", admin)
        assert paused.json()["enabled"] is False
        assert (await desk.call("POST", f"{base}/x/resume", admin)).json()["enabled"] is True
        assert (await desk.call("GET", f"{base}/x/deliveries?status=dead", admin)).json() == []
        replayed = await desk.call("POST", f"{base}/x/replay", admin, {})
        assert replayed.json() == {"replayed": 0}
        assert (await desk.call("POST", f"{base}/nope/replay", admin, {})).status_code == 404
        assert (await desk.call("DELETE", f"{base}/x", admin)).status_code == 204
        assert (await desk.call("GET", f"{base}/x", admin)).status_code == 404


async def test_the_admin_api_never_shows_a_secret_and_refuses_internal_hosts(
    infra_env: dict[str, Any],
) -> None:
    slack_url = "https://hooks.slack.com/services/T0001/B0002/a1b2c3d4e5f6a7b8c9d0e1f2"
    routing_key = "0123456789abcdef0123456789abcdef"
    async with running_desk(infra_env, **SAFETY_SETTINGS) as desk:
        admin = await desk.agent("ada", Role.ADMIN)
        base = "/api/admin/outbound/subscriptions"
        shown = [
            await subscribe(
                desk, admin, name="floor", channel="slack", url=slack_url,
                event_types=["case.breached"],
            ),
            await subscribe(
                desk, admin, name="pager", channel="pagerduty",
                url="https://events.pagerduty.com/v2/enqueue", event_types=["case.breached"],
                credential=routing_key,
            ),
        ]  # fmt: skip
        created = await subscribe(
            desk, admin, name="crm", channel="webhook", url="https://crm.example.com/h",
            event_types=["case.opened"],
        )  # fmt: skip
        secret = created["secret"]  # shown once, at creation
        rotated = (await desk.call("POST", f"{base}/crm/secrets", admin)).json()["secret"]
        shown.append(created["subscription"])
        shown.append((await desk.call("GET", base, admin)).json())
        for name in ("floor", "pager", "crm"):
            shown.append((await desk.call("GET", f"{base}/{name}", admin)).json())
        shown.append((await desk.call("POST", f"{base}/floor/pause", admin)).json())
        shown.append((await desk.call("DELETE", f"{base}/crm/secrets/old", admin)).json())
        text = str(shown)
        for hidden in ("B0002", "a1b2c3d4", routing_key, secret, rotated, "fernet:"):
            assert hidden not in text, hidden
        assert shown[0]["subscription"]["url"] == "https://hooks.slack.com/…"

        rows = await desk.pool.fetch("SELECT url, url_shown, secrets FROM outbound_subscriptions")
        at_rest = str([dict(row) for row in rows])
        for hidden in ("B0002", routing_key, secret, rotated):
            assert hidden not in at_rest, hidden  # sealed in the table too

        for url, kind in (
            ("https://169.254.169.254/latest/meta-data/", "link-local"),
            ("https://10.1.2.3/hook", "private"),
            ("https://localhost/hook", "this machine"),
            ("https://[fd00::1]/hook", "private"),
        ):
            body = {"name": "bad", "channel": "webhook", "url": url, "event_types": ["case.opened"]}
            refused = await desk.call("POST", base, admin, body)
            assert refused.status_code == 422, (url, refused.text)
            error = refused.json()["error"]
            assert error["code"] == "bad_endpoint" and kind in error["message"], error


async def test_a_notifier_reports_its_consoles_per_queue(infra_env: dict[str, Any]) -> None:
    async with running_desk(infra_env, floor_gauges_interval_seconds=0.2) as desk:
        token = await desk.agent("dana", queues=["billing"])

        async def consoles(queue: str) -> Any:
            return await desk.pool.fetchval(
                "SELECT sum(consoles) FROM console_presence WHERE queue = $1", queue
            )

        assert await eventually(lambda: _is(consoles("billing"), 0))
        async with desk.console(token):
            assert await eventually(lambda: _is(consoles("billing"), 1))
        assert await eventually(lambda: _is(consoles("billing"), 0))
    conn = await asyncpg.connect(str(infra_env["database_url"]))
    try:  # a clean shutdown withdrew the instance's rows
        assert await conn.fetchval("SELECT count(*) FROM console_presence") == 0
    finally:
        await conn.close()


async def _is(value: Any, expected: int) -> bool:
    return bool(await value == expected)
