"""A repeat customer's case in a real Chromium against a real notifier and PostgreSQL: the board
marks the repeat, and the case panel shows the interaction the survey was about, the customer's
earlier case from another source with its outcome, a warning about the open case another agent
owns, and a joint claim of the free linked case. The story's rules are tested in
``tests/integration/test_case_story.py`` and ``tests/js/story.test.js``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import Window, keep_for_docs
from tests.browser.test_console_browser import ARTIFACTS, XSS
from tests.case_support import CaseDesk
from winback_shared.survey import Customer, Interaction

pytestmark = pytest.mark.browser

RESOLVED: dict[str, Any] = {
    "root_cause": "billing_error",
    "resolution": {"apology": True, "explanation": "The plan change was billed twice."},
    "customer_reaction": "satisfied",
}
CALL = Interaction(
    id="call-5521",
    channel="phone",
    agent="jmoreau",
    team="Billing T2",
    occurred_at=datetime.now(UTC) - timedelta(hours=3),
)


def dana(source_id: str, **contact: str) -> Customer:
    return Customer.model_validate({"id": source_id, "name": "Dana Whitfield", **contact})


async def test_a_repeat_customers_case_tells_the_story_so_far(
    browser: Browser, case_desk: CaseDesk
) -> None:
    ana_token = await case_desk.agent("ana")
    bob_token = await case_desk.agent("bob")
    earlier = await case_desk.case(
        source="typeform",
        customer=dana("t-1", email="dana@example.com", phone="07700 900123"),
        comment=f"Billed twice for one plan change. {XSS}",
        submitted_at=datetime.now(UTC) - timedelta(days=12),
    )
    for action, body in (
        ("claim", {}),
        ("attempts", {"channel": "phone", "reached": True, "note": "talked"}),
        ("resolve", RESOLVED),
    ):
        assert (await case_desk.act(ana_token, earlier, action, body)).status_code == 200
    bobs = await case_desk.case(source="delighted", customer=dana("d-4", email="DANA@example.com"))
    assert (await case_desk.act(bob_token, bobs, "claim")).status_code == 200
    free = await case_desk.case(source="zendesk", customer=dana("z-9", phone="+44 7700 900123"))
    now = await case_desk.case(
        source="zendesk",
        customer=dana("z-9", email="dana@example.com", phone="+44 7700 900123"),
        interaction=CALL,
        comment="Still billed twice. Third time I am writing.",
    )
    stranger = await case_desk.case(customer=Customer(id="c-77", name="Lee Park"))

    ana = await Window.open(browser, case_desk.url, ana_token)
    try:
        await expect(ana.card(now).locator(".repeat-badge")).to_have_text("Repeat")
        await expect(ana.card(stranger).locator(".repeat-badge")).to_have_count(0)
        await ana.card(now).click()
        story = ana.detail.locator("#detail-story")
        # Three earlier responses: the resolved one, bob's and the free one (answered before).
        await expect(story).to_contain_text("Repeat customer: 3 earlier responses in the last 90")
        await expect(story.locator(".story-interaction")).to_have_text(
            "phone · call-5521 · with jmoreau · team Billing T2"
        )
        await expect(story.locator(".story-trigger")).to_contain_text(" 3 h ")
        response = story.locator(f".story-response:has-text('case #{earlier}')")
        await expect(response).to_contain_text("typeform")
        await expect(response.locator(".story-comment")).to_have_text(
            f"Billed twice for one plan change. {XSS}"
        )
        await expect(response.locator(".story-outcome")).to_have_text(
            f"case #{earlier} resolved · by ana · root cause Billing error · "
            "offered apology, explanation · customer satisfied"
        )
        await expect(response.locator(".story-match")).to_contain_text("same e-mail, same phone")
        await expect(story.locator(".story-warning")).to_contain_text(
            f"Case #{bobs} of this customer is bob's"
        )
        assert await ana.page.evaluate("typeof window.__pwned") == "undefined"
        ana.page.set_default_timeout(10_000)
        await ana.page.screenshot(path=str(ARTIFACTS / "console-story.png"))
        keep_for_docs(ARTIFACTS / "console-story.png", "console-story.png")

        await story.locator(".story-claim").click()
        await expect(ana.detail.locator("#detail-owner")).to_have_text("owned by ana")
        await expect(ana.card(free)).to_contain_text("owned by ana")
        await expect(story.locator(".story-open-case", has_text=f"#{free}")).to_contain_text(
            "yours"
        )
        await expect(story.locator(".story-claim")).to_have_count(0)
        assert ana.errors == []
    finally:
        await ana.context.close()
