"""The ops page in real Chromium (Debian's, via Playwright) against a real notifier, Kafka and
PostgreSQL: a supervisor follows the console's link, reads the tiles, sees one change live when
an agent claims a case, and opens a breached case from the chase list in the console's panel;
the charts are drawn by Chart.js from this origin under the strict CSP. An agent has no link and
is refused. A screenshot of the page goes to ``docs/ops-page.png`` for the README.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import Window, keep_for_docs
from tests.browser.test_console_browser import ARTIFACTS, XSS
from tests.case_support import CaseDesk
from winback_shared.agents import Role

pytestmark = pytest.mark.browser

LIVE = 15_000  # ms a change may take to reach the page
CAUSES = ["long_wait", "billing_error", "product_knowledge", "transferred", "broken_promise"]


def reason(code: str) -> dict[str, Any]:
    return {"code": code, "label": code, "evidence": code, "method": "chosen_answer"}


async def seed_history(desk: CaseDesk) -> None:
    """Six months of resolved cases, long waits rising lately, so the charts show something."""
    now = datetime.now(UTC)
    for index in range(90):
        recent = index < 30
        cause = "long_wait" if recent and index % 2 else CAUSES[(index * 7) % len(CAUSES)]
        coded = cause if index % 4 else CAUSES[(index + 1) % len(CAUSES)]
        opened = now - timedelta(days=index * 2 + 1, hours=index % 7)
        case_id = await desk.case(
            priority=1 + index % 3, name=f"Past customer {index}", reasons=[reason(coded)]
        )
        offered: dict[str, Any] = {"apology": index % 3 != 0}
        if index % 4 == 0:
            offered["compensation"] = {"kind": "credit", "value": 10 + index, "currency": "EUR"}
        if index % 6 == 0:
            offered["process_change"] = "Checklist updated"
        if index % 3 == 1:
            offered["explanation"] = "Explained what went wrong"
        await desk.pool.execute(
            """
            UPDATE recovery_cases
            SET status = 'resolved', opened_at = $2,
                contact_due_at = $2::timestamptz + interval '10 minutes',
                claimed_at = $2::timestamptz + make_interval(secs => $3),
                first_attempt_at = $2::timestamptz + make_interval(secs => $3 * 2),
                first_contact_at = $2::timestamptz + make_interval(secs => $3 * 3),
                resolved_at = $2::timestamptz + make_interval(secs => $3 * 20),
                root_cause = $4, root_cause_at = $2::timestamptz + make_interval(secs => $3 * 20),
                resolution = $5::jsonb, customer_reaction = $6
            WHERE id = $1
            """,
            case_id,
            opened,
            60.0 + (index * 37) % 400,
            cause,
            offered,
            ["satisfied", "neutral", "dissatisfied", "satisfied"][index % 4],
        )


async def test_a_supervisor_watches_the_floor_live_and_an_agent_is_refused(
    browser: Browser, case_desk: CaseDesk
) -> None:
    sue_token = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ana_token = await case_desk.agent("ana")
    await seed_history(case_desk)
    breached = await case_desk.case(name=f"Lena Ortiz {XSS}", priority=1)
    await case_desk.pool.execute(
        "UPDATE recovery_cases SET opened_at = now() - interval '25 minutes',"
        " contact_due_at = now() - interval '15 minutes' WHERE id = $1",
        breached,
    )
    waiting = [await case_desk.case(name=f"Waiting {n}", priority=2) for n in range(3)]
    unclaimed = 1 + len(waiting)

    sue = await Window.open(browser, case_desk.url, sue_token)
    policy_errors: list[str] = []
    sue.page.on(
        "console",
        lambda message: (
            policy_errors.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    try:
        link = sue.page.locator("#ops-link")
        await expect(link).to_be_visible()
        await link.click()
        await expect(sue.page).to_have_url(f"{case_desk.url}/ops")
        await expect(sue.page.locator("#status")).to_have_text("live", timeout=LIVE)
        tile = sue.page.locator("[data-tile='unclaimed'] .tile-value")
        await expect(tile).to_have_text(str(unclaimed), timeout=LIVE)
        await expect(sue.page.locator("[data-tile='breached'] .tile-value")).to_have_text("1")
        chase = sue.page.locator(f".chase-item[data-case-id='{breached}']")
        await expect(chase).to_contain_text("Breached")
        await expect(chase).to_contain_text("<script>")  # customer text stays text

        claimed = await case_desk.act(ana_token, waiting[0], "claim")
        assert claimed.status_code == 200, claimed.text
        await expect(tile).to_have_text(str(unclaimed - 1), timeout=LIVE)  # no reload

        # Charts by Chart.js from this origin, under the CSP, with the SLA target line.
        assert await sue.page.evaluate("typeof window.Chart") == "function"
        await expect(sue.page.locator("#charts-missing")).to_be_hidden()
        datasets = await sue.page.evaluate(
            "Chart.getChart('sla-chart').data.datasets.map(d => d.label)"
        )
        assert datasets == ["p50", "p90", "contact target"]
        weeks = await sue.page.evaluate("Chart.getChart('causes-chart').data.labels.length")
        assert weeks >= 26  # six months of weeks, empty ones included
        await sue.page.locator("#window-buttons button", has_text="30 days").click()
        await expect(sue.page.locator("#sla-table tbody tr.total th")).to_have_text("all")
        await expect(sue.page.locator("#resolutions-table tbody tr")).not_to_have_count(0)

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "ops-page.png"
        await sue.page.set_viewport_size({"width": 1440, "height": 1000})
        await sue.page.screenshot(path=str(shot), full_page=True)
        keep_for_docs(shot, "ops-page.png")

        # One click on a breached case opens it in the console's case panel.
        await chase.click()
        await expect(sue.detail).to_be_visible(timeout=LIVE)
        await expect(sue.detail).to_contain_text("Lena Ortiz")
        assert "#case=" not in sue.page.url
        assert await sue.page.evaluate("typeof window.__pwned") == "undefined"
        assert not sue.errors, sue.errors
        assert not policy_errors, policy_errors
    finally:
        await sue.context.close()

    ana = await Window.open(browser, case_desk.url, ana_token)
    try:
        await expect(ana.page.locator("#ops-link")).to_be_hidden()
        await ana.page.goto(f"{case_desk.url}/ops")
        await expect(ana.page.locator("#forbidden")).to_be_visible(timeout=LIVE)
        await expect(ana.page.locator("#ops-page")).to_be_hidden()
        status = await ana.page.evaluate(
            "fetch('/api/ops/floor', {headers: {Authorization: 'Bearer '"
            " + sessionStorage.getItem('winback.token')}}).then(r => r.status)"
        )
        assert status == 403
        assert not ana.errors, ana.errors
    finally:
        await ana.context.close()
