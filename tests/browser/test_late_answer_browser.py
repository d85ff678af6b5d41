"""A case opened for an answer the customer gave days earlier, in real Chromium against a real
notifier and PostgreSQL: the board's card and the case's facts both say when they answered."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import LIVE, Window
from tests.case_support import CaseDesk

pytestmark = pytest.mark.browser


async def test_the_agent_sees_the_answer_came_days_before_the_case(
    browser: Browser, case_desk: CaseDesk
) -> None:
    ana = await case_desk.agent("ana")
    nine_days_ago = datetime.now(UTC) - timedelta(days=9, minutes=5)
    late = await case_desk.case(name="Dana Whitfield", submitted_at=nine_days_ago)
    fresh = await case_desk.case(name="Lena Ortiz", submitted_at=datetime.now(UTC))
    window = await Window.open(browser, case_desk.url, ana)
    try:
        answered = re.compile(r"^Answered 9 days ago$")
        await expect(window.card(late).locator(".late-answer")).to_have_text(answered, timeout=LIVE)
        await expect(window.card(fresh).locator(".late-answer")).to_have_count(0)
        await window.card(late).click()
        facts = window.detail.locator(".facts")
        await expect(facts).to_contain_text("Survey")
        await expect(facts.locator(".late-answer")).to_have_text(answered)
        assert not window.errors, window.errors
    finally:
        await window.context.close()
