"""The ops page's tiles follow the SLA timers live: a supervisor watching the floor sees a new P1
case become "at risk" when its warning fires and "breached" when its deadline passes, without
reloading (real Chromium, a real notifier with short targets, Kafka and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import Window
from tests.case_support import publish_opened, running_desk
from winback_shared.agents import Role

pytestmark = pytest.mark.browser

TIMER = 20_000  # ms a timer's effect may take to show (the timers themselves take seconds)


async def test_the_tiles_show_a_case_going_at_risk_then_breached_live(
    browser: Browser, infra_env: dict[str, Any]
) -> None:
    settings = {
        "contact_target_minutes": {1: 0.15, 2: 15, 3: 60, 4: 240},  # P1: 9 seconds
        "sla_warning_seconds": 5.0,
    }
    async with running_desk(infra_env, **settings) as desk:
        sue_token = await desk.agent("sue", Role.SUPERVISOR, queues=[])
        sue = await Window.open(browser, desk.url, sue_token)
        try:
            await sue.page.goto(f"{desk.url}/ops")
            await expect(sue.page.locator("#status")).to_have_text("live", timeout=TIMER)
            at_risk = sue.page.locator("[data-tile='at-risk'] .tile-value")
            breached = sue.page.locator("[data-tile='breached'] .tile-value")
            await expect(at_risk).to_have_text("0", timeout=TIMER)
            await expect(breached).to_have_text("0")

            case_id = await desk.case(name="Lena Ortiz", priority=1)
            kafka = str(infra_env["kafka_bootstrap_servers"])
            await publish_opened(desk, kafka, infra_env["topics"].recovery_alerts, case_id)

            await expect(at_risk).to_have_text("1", timeout=TIMER)  # the warning fired
            await expect(breached).to_have_text("1", timeout=TIMER)  # the deadline passed
            await expect(at_risk).to_have_text("0")  # a breached case is no longer "at risk"
            chase = sue.page.locator(f".chase-item[data-case-id='{case_id}']")
            await expect(chase).to_contain_text("Breached")
            assert not sue.errors, sue.errors
        finally:
            await sue.context.close()
