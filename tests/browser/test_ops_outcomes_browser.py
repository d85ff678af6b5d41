"""The ops page's staffing forecast and outcome loop in real Chromium, on a seeded history: this
hour's forecast next to the agents connected with the warning when short, and the outcome
figures by resolution kind and reason with their intervals, the reaction at resolution next to
the later score. A screenshot of the two sections goes to ``docs/ops-outcomes.png``."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import Window, keep_for_docs
from tests.browser.test_console_browser import ARTIFACTS
from tests.case_support import CaseDesk
from tests.integration.test_outcomes_report import seed as seed_outcomes
from tests.integration.test_staffing_report import expected_agents, seed_this_hour
from winback_notifier.staffing.service import hour_of_week
from winback_shared.agents import Role

pytestmark = pytest.mark.browser

LIVE = 15_000
DASH = "\u2013"  # the page writes intervals with an en dash


async def test_staffing_and_outcomes_on_the_ops_page(browser: Browser, case_desk: CaseDesk) -> None:
    sue_token = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ana_token = await case_desk.agent("ana", queues=["default", "billing"])
    now = datetime.now(UTC)
    await seed_this_hour(case_desk, now)
    await seed_outcomes(case_desk.pool)

    async with case_desk.console(ana_token):  # one agent on the floor
        sue = await Window.open(browser, case_desk.url, sue_token)
        try:
            await sue.page.goto(f"{case_desk.url}/ops")
            await expect(sue.page.locator("#status")).to_have_text("live", timeout=LIVE)
            row = sue.page.locator("#staffing-table tbody tr[data-queue='default']")
            await expect(row).to_be_visible(timeout=LIVE)
            if hour_of_week(datetime.now(UTC), ZoneInfo("UTC")) == hour_of_week(
                now, ZoneInfo("UTC")
            ):
                needed = expected_agents()
                await expect(row.locator("td").nth(0)).to_have_text(str(needed))
                await expect(row.locator("td").nth(1)).to_have_text("1")
                await expect(row.locator("td").nth(2)).to_have_text(str(needed - 1))
                warning = sue.page.locator("#staffing-warning")
                await expect(warning).to_be_visible()
                await expect(warning).to_contain_text(f"default needs {needed}, has 1")
            # The staffing report has been drawn: charts are there (Chart.js from this origin).
            await expect(sue.page.locator("#charts-missing")).to_be_hidden()
            assert await sue.page.evaluate("typeof window.Chart") == "function"
            staffing = await sue.page.evaluate(
                "Chart.getChart('staffing-chart').data.labels.length"
            )
            assert staffing == 24

            outcomes = sue.page.locator("#outcomes-table tbody")
            apology = outcomes.locator("tr[data-key='apology']")
            await expect(apology).to_contain_text(f"100% (21%{DASH}100%, n=1)", timeout=LIVE)
            await expect(sue.page.locator("#outcomes-empty")).to_be_hidden()
            await expect(apology).to_contain_text("+7.0 (n=1)")
            labels = await sue.page.evaluate("Chart.getChart('outcomes-chart').data.labels")
            assert {"apology", "compensation"} <= set(labels)
            # The staffing history's cases (queue default, nothing offered) are in the report
            # too; the billing queue holds the outcome seed's three alone.
            await sue.page.locator("#outcomes-by-select").select_option("queue")
            billing = outcomes.locator("tr[data-key='billing']")
            await expect(billing).to_contain_text(f"50% (9%{DASH}91%, n=2)")
            await expect(billing).to_contain_text("25.00 EUR")
            neutral = sue.page.locator("#reactions-table tbody tr[data-reaction='neutral']")
            await expect(neutral).to_contain_text("3.0 (n=1)")

            await sue.page.locator("#outcomes-by-select").select_option("first_contact")
            await expect(outcomes.locator("tr[data-key='under 15 min']")).to_contain_text(
                f"100% (21%{DASH}100%, n=1)"
            )
            await sue.page.locator("#outcomes-by-select").select_option("reason")
            await expect(outcomes.locator("tr[data-key='billing_error'] th")).to_have_text(
                "Billing error"
            )

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "ops-outcomes.png"
            await sue.page.locator("#outcomes-by-select").select_option("resolution")
            staffing_box = await sue.page.locator(
                "section[aria-labelledby='staffing-title']"
            ).bounding_box()
            outcome_box = await sue.page.locator(
                "section[aria-labelledby='outcomes-title']"
            ).bounding_box()
            assert staffing_box is not None and outcome_box is not None
            await sue.page.locator("section[aria-labelledby='outcomes-title']").screenshot(
                path=str(shot)
            )
            keep_for_docs(shot, "ops-outcomes.png")
            assert not sue.errors, sue.errors
        finally:
            await sue.context.close()


async def test_with_no_case_resolved_the_outcomes_say_what_will_appear_instead_of_a_bare_header(
    browser: Browser, case_desk: CaseDesk
) -> None:
    sue_token = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    await case_desk.case(name="Open Only")  # a case, but none resolved
    sue = await Window.open(browser, case_desk.url, sue_token)
    try:
        await sue.page.goto(f"{case_desk.url}/ops")
        await expect(sue.page.locator("#status")).to_have_text("live", timeout=LIVE)
        empty = sue.page.locator("#outcomes-empty")
        await expect(empty).to_be_visible(timeout=LIVE)
        await expect(empty).to_contain_text("No cases resolved since")
        await expect(empty).to_contain_text("answers another survey within 90 days")
        await expect(sue.page.locator("#outcomes-table")).to_be_hidden()
        await expect(sue.page.locator("#reactions-table")).to_be_hidden()
        await expect(sue.page.locator("#outcomes-chart")).to_be_hidden()
        await expect(sue.page.locator("#outcomes-note")).to_contain_text("Recovered:")
        assert not sue.errors, sue.errors
    finally:
        await sue.context.close()
