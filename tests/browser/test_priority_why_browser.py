"""Why a case has its priority, in real Chromium through the whole pipeline: the router keeps
its decision's triggers with the case, and the case's history says them in words."""

from __future__ import annotations

from uuid import uuid4

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import LIVE, Window
from tests.support import Pipeline

pytestmark = pytest.mark.browser


async def test_the_opening_in_the_history_says_why_the_case_has_its_priority(
    pipeline: Pipeline, browser: Browser
) -> None:
    window = await Window.open(browser, pipeline.notifier_url, pipeline.agent_token)
    try:
        marker = f"ref-{uuid4().hex[:8]}"
        answer = await pipeline.post(
            pipeline.sample(2, ["agent lacked product knowledge"], comment=f"No idea. {marker}")
        )
        assert answer.status_code == 202, answer.text
        card = window.page.locator("#cases .case", has_text=marker)
        await expect(card).to_have_count(1, timeout=LIVE)
        await card.click()
        opening = window.detail.locator("#detail-history .event.k-opened .event-summary")
        await expect(opening).to_have_text(
            "in queue default, priority 1, because NPS 2 · Lack of product knowledge",
            timeout=LIVE,
        )
        assert not window.errors, window.errors
    finally:
        await window.context.close()
