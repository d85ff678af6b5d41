"""Reaching the customer by keyboard alone, in real Chromium (Debian's, via Playwright) against a
real notifier, Kafka and PostgreSQL: from a new pop-up to the next case, a claim, a logged
voicemail and a call-back, without the mouse. On the way: the visible key list, keys that do
nothing while the agent types, the customer's local time with a warning before calling outside
calling hours, the words for the call for the case's reason, and the compact board."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import LIVE, Window, keep_for_docs
from tests.browser.test_console_browser import ARTIFACTS
from tests.case_support import publish_opened, running_desk

pytestmark = pytest.mark.browser

SETTINGS = {
    "calling_hours": {},  # never a calling hour: the warning shows whatever the clock says
    "call_time_zones": {"default": "Europe/Berlin"},  # the desk's +1 555 number places nobody
}


async def test_from_a_pop_up_to_a_logged_attempt_by_keyboard_alone(
    browser: Browser, infra_env: dict[str, Any]
) -> None:
    async with running_desk(infra_env, **SETTINGS) as desk:
        waiting = await desk.case(name="Tom Becker", priority=3)  # on the board from the start
        ana_token = await desk.agent("ana")
        ana = await Window.open(browser, desk.url, ana_token)
        try:
            page, detail = ana.page, ana.detail
            await expect(ana.card(waiting)).to_be_visible(timeout=LIVE)
            await expect(page.locator("#key-hint")).to_contain_text("next unclaimed")

            urgent = await desk.case(name="Lena Ortiz", priority=1)
            kafka = str(infra_env["kafka_bootstrap_servers"])
            await publish_opened(desk, kafka, infra_env["topics"].recovery_alerts, urgent)
            toast = page.locator("#toasts .toast", has_text="Lena Ortiz")
            await expect(toast).to_be_visible(timeout=LIVE)

            # N: the most urgent unclaimed case opens, and its pop-up has done its job.
            await page.keyboard.press("n")
            await expect(detail.locator(".detail-customer")).to_have_text("Lena Ortiz")
            await expect(toast).to_have_count(0, timeout=LIVE)
            clock = detail.locator(".call-time")
            await expect(clock).to_contain_text("local time (Europe/Berlin)", timeout=LIVE)
            await expect(clock).to_contain_text("outside calling hours")

            # C: claimed; the words for the call open, an apology for its reason first.
            await page.keyboard.press("c")
            await expect(detail.locator("#detail-owner")).to_have_text("owned by ana", timeout=LIVE)
            words = detail.locator(".call-words")
            await expect(words).to_have_attribute("open", "")
            await expect(words.locator(".call-step-title")).to_have_text(
                [
                    "Acknowledge",
                    "Introduce yourself",
                    "Say how long it will take",
                    "Explain",
                    "Thank",
                ]
            )
            apology = words.locator(".call-reason[data-code=product_knowledge] textarea.apology")
            await expect(apology).to_have_value(
                "I'm sorry the person you spoke to couldn't answer your questions; "
                "you should have had clear answers the first time."
            )
            await expect(words.locator(".step-introduce textarea")).to_have_value(
                "My name is ana, from our company. I'm the person who will look after this "
                "until it is put right."
            )

            # Dialling outside calling hours asks first (Enter on the focused number). The claim's
            # own updates redraw the facts, so the number is focused again until one holds.
            await expect(detail.locator(".timeline .k-claimed")).to_be_visible(timeout=LIVE)
            warning = detail.locator(".call-time-warning")
            for _ in range(5):
                await detail.locator("a.contact-link[href^='tel:']").focus()
                await page.keyboard.press("Enter")
                if await warning.count():
                    break
                await page.wait_for_timeout(500)
            await expect(warning).to_contain_text("outside calling hours")
            await expect(warning.locator(".call-anyway")).to_have_attribute("href", "tel:+15550100")
            # A live change of the case redraws the panel's facts: the question stays open, and
            # the focus with it (Enter below still answers "Not now").
            noted = await desk.act(ana_token, urgent, "notes", {"text": "Customer is abroad"})
            assert noted.status_code == 200, noted.text
            await expect(detail.locator(".timeline .k-note_added")).to_be_visible(timeout=LIVE)
            await expect(warning).to_contain_text("outside calling hours")
            await expect(warning.locator(".call-anyway")).to_have_attribute("href", "tel:+15550100")
            await detail.evaluate("panel => { panel.scrollTop = 0; }")
            screenshot = ARTIFACTS / "console-call.png"
            await page.screenshot(path=screenshot)
            keep_for_docs(screenshot, "console-call.png")
            await page.keyboard.press("Enter")  # "Not now" has the focus
            await expect(warning).to_have_count(0)

            # Typing in a field never fires a key: "n2c" is a note, not three actions.
            note = detail.locator(".form-attempt textarea[name=note]")
            await note.focus()
            await page.keyboard.type("n2c left a message")
            await expect(note).to_have_value("n2c left a message")
            await expect(detail.locator(".detail-customer")).to_have_text("Lena Ortiz")

            # 3 picks "voicemail left", Enter logs it.
            await page.keyboard.press("Escape")  # leaves the field; the case stays open
            await expect(note).not_to_be_focused()
            await expect(detail).to_be_visible()
            await page.keyboard.press("3")
            voicemail = detail.locator(".form-attempt button[data-outcome=voicemail]")
            await expect(voicemail).to_be_focused()
            await page.keyboard.press("Enter")
            attempt = detail.locator(".attempts .attempt").first
            await expect(attempt).to_contain_text("phone: voicemail left", timeout=LIVE)
            await expect(attempt).to_contain_text("n2c left a message")
            await expect(ana.card(urgent)).to_contain_text("1 failed attempt(s)", timeout=LIVE)

            # 5 then Enter asks when; Enter again schedules the call-back the customer asked for.
            await page.keyboard.press("5")
            await page.keyboard.press("Enter")
            when = detail.locator("input[name=call_back_at]")
            await expect(when).to_be_focused()
            await page.keyboard.press("Enter")
            await expect(ana.card(urgent).locator(".call-back-badge")).to_contain_text(
                "Call back at", timeout=LIVE
            )
            await expect(detail.locator(".attempts .attempt.later")).to_contain_text("call later")
            row = await desk.pool.fetchrow(
                "SELECT outcome, call_back_at FROM contact_attempts WHERE case_id = $1"
                " ORDER BY id DESC LIMIT 1",
                urgent,
            )
            assert row is not None and row["outcome"] == "call_later"
            due = await desk.pool.fetchval(
                "SELECT call_back_due_at FROM recovery_cases WHERE id = $1", urgent
            )
            assert due == row["call_back_at"]

            # D: compact board; N: on to the next unclaimed case.
            await page.keyboard.press("d")
            await expect(page.locator("#board")).to_have_attribute("data-density", "compact")
            await page.keyboard.press("n")
            await expect(detail.locator(".detail-customer")).to_have_text("Tom Becker")
            assert not ana.errors, ana.errors
        finally:
            await ana.context.close()
