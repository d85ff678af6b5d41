"""The case panel's evidence and contact links in a real Chromium, against the scripted server
of ``test_console_browser``: a comment carrying two reasons shows one mark per reason inside the
one comment, the phone and e-mail are ``tel:``/``mailto:`` links, and a comment full of markup
stays text. The marking rules themselves are tested in ``tests/js/evidence.test.js``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.browser.test_console_browser import ANA, FAKE_ORIGIN, XSS, FakeServer, summary

pytestmark = pytest.mark.browser

COMMENT = f"Charged twice for my plan. 😡 Then 45 min on hold! {XSS}"
REASONS = [
    {
        "code": "billing_error",
        "label": "Billing error",
        "evidence": "Charged twice for my plan.",
        "method": "rule",
        "confidence": 0.8,
        "evidence_source": "comment",
        "span": [0, 13],
    },
    {
        # No span: found by its quote, past the emoji (one code point, two UTF-16 units).
        "code": "long_wait",
        "label": "Long hold or wait",
        "evidence": "45 MIN on hold",
        "method": "model",
        "confidence": 0.7,
        "evidence_source": "comment",
    },
    {
        "code": "rude_staff",
        "label": "Rude staff",
        "evidence": "the agent hung up on me",
        "method": "rule",
        "confidence": 0.8,
        "evidence_source": "comment",
    },
]


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh tab; script errors in the page fail the test."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        await context.close()
    assert not errors, errors


async def test_evidence_is_marked_in_the_comment_and_the_customer_is_one_click_away(
    page: Page,
) -> None:
    case = summary(
        7,
        priority=1,
        opened_at="2026-01-01T09:00:00Z",
        comment=COMMENT,
        reasons=REASONS,
        customer={
            "id": "c-7",
            "name": "Dana Whitfield",
            "email": "dana@example.com",
            "phone": "+1 (555) 010-0100",
        },
    )

    async def case_detail(route: Route) -> None:
        body = {"case": case, "attempts": [], "history": []}
        await route.fulfill(status=200, body=json.dumps(body), content_type="application/json")

    server = FakeServer()
    await page.route(f"{FAKE_ORIGIN}/**", server.serve_file)
    await page.route(f"{FAKE_ORIGIN}/api/cases/7", case_detail)
    await page.route_web_socket(f"{FAKE_ORIGIN.replace('http', 'ws')}/ws", server.accept)
    await page.goto(f"{FAKE_ORIGIN}/#token=ana-token")
    connection = await server.next_connection()
    assert await connection.auth_token() == "ana-token"
    connection.send({"type": "hello", "agent": ANA})
    connection.send({"type": "snapshot", "cases": [case], "total": 1})
    await page.locator("#cases .case[data-case-id='7']").click()
    detail = page.locator("#detail")
    await expect(detail).to_be_visible()

    comment = detail.locator(".detail-comment")
    await expect(comment).to_have_text(COMMENT)  # one comment, whole, markup as text
    marks = comment.locator("mark")
    await expect(marks).to_have_text(["Charged twice", "45 min on hold"])
    assert await marks.evaluate_all("nodes => nodes.map(n => n.dataset.reasons)") == ["1", "2"]
    await expect(comment.locator("script, img")).to_have_count(0)
    assert await page.evaluate("typeof window.__pwned") == "undefined"

    evidence = detail.locator(".evidence")
    await expect(evidence.locator(".evidence-number")).to_have_text(["1", "2", "3"])
    await expect(evidence.nth(0)).to_contain_text("marked in the comment")
    await expect(evidence.nth(0)).not_to_contain_text("Charged twice")  # no second copy
    await expect(evidence.nth(2)).to_contain_text("in the comment: the agent hung up on me")

    phone = detail.locator(".facts a[href^='tel:']")
    await expect(phone).to_have_attribute("href", "tel:+15550100100")
    await expect(phone).to_have_text("+1 (555) 010-0100")
    await expect(detail.locator(".facts a[href^='mailto:']")).to_have_attribute(
        "href", "mailto:dana@example.com"
    )

    # A value that is no phone number stays text.
    case["customer"]["phone"] = "javascript:alert(1)"
    case["seq"] = 2
    connection.send(
        {"type": "case.updated", "case": case, "event_id": "e-2", "occurred_at": case["opened_at"]}
    )
    await expect(detail.locator(".facts")).to_contain_text("javascript:alert(1)")
    await expect(detail.locator(".facts a[href^='tel:']")).to_have_count(0)
