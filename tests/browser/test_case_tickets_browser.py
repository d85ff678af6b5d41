"""The case panel's link to the case's helpdesk ticket in a real Chromium, against the scripted
server of ``test_console_browser``: a Zendesk ticket is a link that opens its page in a new tab,
a case without one shows no ticket line, and an address that is not http(s) is never a link.
Which links a detail makes is tested in ``tests/js/helpdesk-links.test.js``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, expect

from tests.browser.test_console_browser import ANA, FAKE_ORIGIN, FakeServer, summary

pytestmark = pytest.mark.browser

TICKET_PAGE = "https://acme.zendesk.com/agent/tickets/4821"


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


async def test_the_case_panel_links_to_its_zendesk_ticket(page: Page) -> None:
    opened_at = "2026-01-01T09:00:00Z"
    cases = {
        7: summary(7, priority=1, opened_at=opened_at),
        8: summary(8, priority=2, opened_at=opened_at),
    }
    tickets: dict[int, list[dict[str, Any]]] = {
        7: [{"system": "zendesk", "ticket_id": "4821", "url": TICKET_PAGE}],
        8: [{"system": "zendesk", "ticket_id": "9", "url": "javascript:alert(1)"}],
    }

    async def case_detail(route: Route) -> None:
        case_id = int(route.request.url.rsplit("/", 1)[-1])
        body = {"case": cases[case_id], "attempts": [], "history": [], "tickets": tickets[case_id]}
        await route.fulfill(status=200, body=json.dumps(body), content_type="application/json")

    server = FakeServer()
    await page.route(f"{FAKE_ORIGIN}/**", server.serve_file)
    await page.route(f"{FAKE_ORIGIN}/api/cases/*", case_detail)
    await page.route_web_socket(f"{FAKE_ORIGIN.replace('http', 'ws')}/ws", server.accept)
    await page.goto(f"{FAKE_ORIGIN}/#token=ana-token")
    connection = await server.next_connection()
    connection.send({"type": "hello", "agent": ANA})
    connection.send({"type": "snapshot", "cases": list(cases.values()), "total": 2})

    await page.locator("#cases .case[data-case-id='7']").click()
    link = page.locator("#detail #detail-tickets a.ticket-link")
    await expect(link).to_have_text("Zendesk ticket #4821")
    await expect(link).to_have_attribute("href", TICKET_PAGE)
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")

    await page.locator("#cases .case[data-case-id='8']").click()
    tickets_line = page.locator("#detail #detail-tickets")
    await expect(tickets_line).to_contain_text("Zendesk ticket #9")
    await expect(tickets_line.locator("a")).to_have_count(0)

    tickets[7] = []
    await page.locator("#cases .case[data-case-id='7']").click()
    await expect(page.locator("#detail #detail-tickets")).to_be_hidden()
