"""The console as a new agent first meets it, on a 1440x900 screen in a real Chromium: the top
bar stays on one line with "N new" and "Mark all seen" in it, a pop-up never hides the top
card's countdown, the compact density fits at least eight cards (and is remembered), and an
unclaimed card can be claimed from the board itself.

Layout is checked by comparing bounding boxes, not pixels, so fonts may differ between machines.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.case_support import CaseDesk, publish_opened
from winback_shared.agents import Role

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 1440, 900
LIVE = 10_000
NAME = "Dana Whitfield-Okonkwo"


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


async def box(locator: Locator) -> dict[str, float]:
    found = await locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return {key: float(found[key]) for key in ("x", "y", "width", "height")}


async def open_console(browser: Browser, url: str, token: str) -> tuple[Page, list[str]]:
    """A signed-in, live console; the list collects script errors in the page."""
    context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{url}/#token={token}")
    await expect(page.locator("#status")).to_have_text("live", timeout=15_000)
    return page, errors


async def test_a_new_agent_on_a_1440_by_900_screen(
    browser: Browser, case_desk: CaseDesk, kafka_bootstrap: str, infra_env: dict[str, Any]
) -> None:
    # A supervisor with a long name: the widest top bar (desktop alerts, every count).
    token = await case_desk.agent(NAME, Role.SUPERVISOR, queues=["default", "billing"])
    for n in range(12):
        await case_desk.case(priority=1 + n % 3, name=f"Customer {n:02d}")
    page, errors = await open_console(browser, case_desk.url, token)
    await expect(page.locator("#cases .case")).to_have_count(12)
    await expect(page.locator(".board-hint")).to_contain_text("Click a card to open it")

    # A new case arrives: its pop-up, "1 new" and "Mark all seen" all show up at once, and
    # none of the buttons the agent may be about to click moves (the long name may give way).
    steady = ["#ops-link", ".sound-slot", "#sign-out"]
    before = [await box(page.locator(selector)) for selector in steady]
    newest = await case_desk.case(priority=1, name="Brand New")
    await publish_opened(
        case_desk, kafka_bootstrap, str(infra_env["topics"].recovery_alerts), newest
    )
    toast = page.locator("#toasts .toast").first
    await expect(toast).to_be_visible(timeout=LIVE)
    await expect(page.locator("#summary .summary-new")).to_have_text("1 new")
    await expect(page.locator("#mark-seen")).to_be_visible()
    assert [await box(page.locator(selector)) for selector in steady] == before

    # The top bar is one line: every part of it sits inside the bar, none is two lines tall,
    # and the counts do not run under the buttons.
    bar = await box(page.locator(".topbar"))
    assert bar["height"] <= 60, bar
    parts = page.locator(".topbar .brand, #summary > span, .topbar-right > :not([hidden])")
    for index in range(await parts.count()):
        part = await box(parts.nth(index))
        assert bar["y"] <= part["y"] and part["y"] + part["height"] <= bar["y"] + bar["height"]
        assert part["height"] <= 32, (await parts.nth(index).text_content(), part)
    summary = await box(page.locator("#summary"))
    right = await box(page.locator(".topbar-right"))
    assert summary["x"] + summary["width"] <= right["x"], (summary, right)

    # Narrower (1280 px, a common laptop): still one line, the counts whole, the name gives way.
    await page.set_viewport_size({"width": 1280, "height": HEIGHT})
    bar = await box(page.locator(".topbar"))
    assert bar["height"] <= 60, bar
    new = await box(page.locator("#summary .summary-new"))
    summary = await box(page.locator("#summary"))
    right = await box(page.locator(".topbar-right"))
    # Inside the summary's own box (nothing clipped) and clear of the buttons.
    assert new["x"] + new["width"] <= summary["x"] + summary["width"] + 0.5, (new, summary)
    assert summary["x"] + summary["width"] <= right["x"], (summary, right)
    assert new["height"] <= 32, new
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1280  # nothing off it
    await page.set_viewport_size({"width": WIDTH, "height": HEIGHT})

    # The pop-up leaves the most urgent card's countdown and opening time in view.
    first = page.locator("#cases .case").first
    for timer in (first.locator(".time-left"), first.locator(".case-when")):
        assert not overlaps(await box(toast), await box(timer))

    # Compact density: at least eight whole cards on the screen, and still so after a reload.
    density = page.locator("#density-toggle")
    await expect(density).to_have_attribute("aria-pressed", "false")
    await density.click()
    await expect(density).to_have_attribute("aria-pressed", "true")

    async def whole_cards_on_screen() -> int:
        boxes = await page.locator("#cases .case").evaluate_all(
            "nodes => nodes.map(n => n.getBoundingClientRect().toJSON())"
        )
        return sum(1 for b in boxes if b["top"] >= 0 and b["bottom"] <= HEIGHT)

    assert await whole_cards_on_screen() >= 8
    await page.reload()
    await expect(page.locator("#status")).to_have_text("live", timeout=15_000)
    await expect(page.locator("#density-toggle")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#cases .case")).to_have_count(13)
    assert await whole_cards_on_screen() >= 8

    # Claim from the card: the card says so at once, the case is hers, no panel in the way.
    card = page.locator("#cases .case", has_text="Customer 05")
    case_id = int(await card.get_attribute("data-case-id") or 0)
    claim = card.get_by_role("button", name="Claim")
    await expect(claim).to_be_visible()
    await claim.click()
    card = page.locator(f"#cases .case[data-case-id='{case_id}']")
    await expect(card.locator(".owner")).to_have_text(f"owned by {NAME}", timeout=LIVE)
    await expect(card.get_by_role("button", name="Claim")).to_have_count(0)
    assert await case_desk.status(case_id) == ("claimed", 2)
    await expect(page.locator("#detail")).to_be_hidden()

    # Claimed cards offer no Claim; a click on the card still opens it.
    await card.click()
    await expect(page.locator("#detail")).to_be_visible()
    assert errors == []
