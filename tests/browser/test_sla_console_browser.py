"""SLA timers in real Chromium windows (Debian's, via Playwright) against a real notifier, Kafka
and PostgreSQL: the card counts down to the stored deadline, shows the warning and the breach,
a supervisor gets a pop-up for the breach, and a lapsed claim comes back to the queue's board.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import Window
from tests.browser.test_console_browser import XSS
from tests.case_support import publish_opened, running_desk
from winback_shared.agents import Role

pytestmark = pytest.mark.browser

TIMER = 20_000  # ms a timer's effect may take to show (the timers themselves take seconds)


async def test_breach_badges_a_supervisor_pop_up_and_a_lapsed_claim(
    browser: Browser, infra_env: dict[str, Any]
) -> None:
    settings = {
        "contact_target_minutes": {1: 0.15, 2: 15, 3: 60, 4: 240},  # P1: 9 seconds
        "sla_warning_seconds": 5.0,
        "sla_claim_lapse_minutes": 0.05,  # 3 seconds
    }
    async with running_desk(infra_env, **settings) as desk:
        ana_token = await desk.agent("ana")
        ben_token = await desk.agent("ben")
        sue_token = await desk.agent("sue", Role.SUPERVISOR, queues=[])
        windows = [await Window.open(browser, desk.url, token) for token in (ana_token, sue_token)]
        ana, sue = windows
        try:
            kafka = str(infra_env["kafka_bootstrap_servers"])
            topic = infra_env["topics"].recovery_alerts
            case_id = await desk.case(name="Lena Ortiz", comment=f"Nobody called. {XSS}")
            await publish_opened(desk, kafka, topic, case_id)
            due = await desk.pool.fetchval(
                "SELECT extract(epoch FROM contact_due_at) * 1000 FROM recovery_cases"
                " WHERE id = $1",
                case_id,
            )
            countdown = ana.card(case_id).locator(".time-left")
            # The stored deadline, to the millisecond a browser's Date keeps (microseconds cut).
            await expect(countdown).to_have_attribute("data-due", str(math.floor(due)))

            await expect(ana.card(case_id).locator(".sla-badge")).to_have_text(
                "SLA warning", timeout=TIMER
            )
            # The countdown turns amber with the badge: not a green "within ..." beside it.
            await expect(countdown).to_have_class(re.compile(r"\bwarned\b"))
            await expect(ana.card(case_id).locator(".sla-badge")).to_have_text(
                "SLA breached", timeout=TIMER
            )
            await expect(countdown).to_contain_text("overdue")
            pop_up = sue.page.locator("#toasts .toast-sla-breached", has_text="Lena Ortiz")
            await expect(pop_up).to_be_visible(timeout=TIMER)
            await expect(pop_up).to_contain_text("SLA breached")
            await expect(pop_up).to_contain_text("<script>")  # customer text stays text
            await expect(ana.page.locator("#toasts .toast-sla-breached")).to_have_count(0)

            # The case panel shows the badge and the timers in its history.
            await ana.card(case_id).click()
            await expect(ana.detail.locator(".sla-badge")).to_have_text("SLA breached")
            await expect(ana.detail.locator(".timeline .k-sla_breached")).to_have_count(1)

            # A claim nobody works lapses: the case is back on the board, unowned, news again.
            ben = await Window.open(browser, desk.url, ben_token)
            windows.append(ben)
            claimed = await desk.case(name="Omar Haddad", priority=3)
            await publish_opened(desk, kafka, topic, claimed)
            assert (await desk.act(ana_token, claimed, "claim")).status_code == 200
            await expect(ben.card(claimed)).to_contain_text("owned by ana", timeout=TIMER)
            await expect(ben.card(claimed)).to_contain_text("unowned", timeout=TIMER)
            await expect(ben.card(claimed)).to_have_attribute("data-status", "open")
            lapsed = ben.page.locator("#toasts .toast-claim-lapsed", has_text="Omar Haddad")
            await expect(lapsed).to_be_visible()

            for window in windows:
                assert await window.page.evaluate("typeof window.__pwned") == "undefined"
                assert not window.errors, window.errors
        finally:
            for window in windows:
                await window.context.close()
