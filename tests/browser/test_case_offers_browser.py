"""Authority to fix it in real Chromium against a real notifier, Kafka and PostgreSQL: the owner
offers within the limit (granted at once), then above it (asked); the supervisor's window pops
the request up and approves it from the case panel; the owner sees the answer live, keeps the
case, and resolves with the offers as the compensation, typed once."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import LIVE, Window, keep_for_docs
from tests.browser.test_console_browser import ARTIFACTS
from tests.case_support import CaseDesk
from winback_shared.agents import Role

pytestmark = pytest.mark.browser

LIMITS = {"limits": [{"role": "agent", "currency": "EUR", "max_amount": 50}]}


async def test_an_agent_offers_within_then_above_the_limit_and_a_supervisor_approves(
    browser: Browser, case_desk: CaseDesk
) -> None:
    ana = await case_desk.agent("ana")
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    admin = await case_desk.agent("adele", Role.ADMIN)
    assert (await case_desk.call("PUT", "/api/admin/offer-limits", admin, LIMITS)).is_success
    case_id = await case_desk.case(name="Dana Whitfield")
    assert (await case_desk.act(ana, case_id, "claim")).is_success
    reached = {"channel": "phone", "reached": True, "note": ""}
    assert (await case_desk.act(ana, case_id, "attempts", reached)).is_success
    owner = await Window.open(browser, case_desk.url, ana)
    supervisor = await Window.open(browser, case_desk.url, sue)
    try:
        await offer_and_approve(owner, supervisor, case_id)
        for window in (owner, supervisor):
            assert not window.errors, window.errors
    finally:
        await owner.context.close()
        await supervisor.context.close()


async def offer_and_approve(owner: Window, supervisor: Window, case_id: int) -> None:
    """The scenario; split out so the windows are closed whatever fails."""
    await owner.card(case_id).click()
    form = owner.detail.locator(".offer-form")
    await expect(form.locator(".offer-hint")).to_contain_text("Your limit here: 50.00 EUR")

    await form.locator("select[name=kind]").select_option("credit")
    await form.locator("input[name=amount]").fill("30")
    await form.locator("input[name=offer-note]").fill("Credit for the double charge")
    await form.locator(".action-offer").click()
    offers = owner.detail.locator(".offers .offer")
    await expect(offers).to_have_count(1, timeout=LIVE)
    await expect(offers.nth(0)).to_have_class("offer offer-granted")
    await expect(offers.nth(0)).to_contain_text("30.00 EUR credit")

    # 30 + 45 is over 50: the form says so before the click, and the offer asks.
    await form.locator("select[name=kind]").select_option("voucher")
    await form.locator("input[name=amount]").fill("45")
    await expect(form.locator(".offer-hint")).to_contain_text("will ask a supervisor")
    await form.locator(".action-offer").click()
    await expect(offers).to_have_count(2, timeout=LIVE)
    await expect(offers.nth(1)).to_contain_text("waiting for a supervisor")
    await expect(offers.nth(1).locator(".action-approve")).to_have_count(0)  # not her own

    toast = supervisor.page.locator(f"#toasts .toast-offer[data-case-id='{case_id}']")
    await expect(toast).to_contain_text("Approval requested", timeout=LIVE)
    await expect(toast).to_contain_text("ana asks 45.00 EUR voucher")
    await toast.click()
    request = supervisor.detail.locator(".offers .offer-pending")
    await expect(request).to_have_count(1, timeout=LIVE)
    await request.scroll_into_view_if_needed()
    screenshot = ARTIFACTS / "console-offers.png"
    await supervisor.page.screenshot(path=screenshot)
    keep_for_docs(screenshot, "console-offers.png")
    await request.locator(".action-approve").click()
    await expect(supervisor.detail.locator(".offers .offer-approved")).to_have_count(
        1, timeout=LIVE
    )

    answer = owner.page.locator(f"#toasts .toast-offer[data-case-id='{case_id}']")
    await expect(answer).to_contain_text("sue approved 45.00 EUR voucher", timeout=LIVE)
    await expect(offers.nth(1)).to_contain_text("approved by sue", timeout=LIVE)
    await expect(owner.page.locator("#detail-owner")).to_have_text("owned by ana")
    for window in (owner, supervisor):
        kinds = window.detail.locator(".timeline .event")
        await expect(window.detail.locator(".timeline .k-offer_approved")).to_have_count(
            1, timeout=LIVE
        )
        assert "offer_requested" in await window.history_kinds(), await kinds.all_inner_texts()

    # Resolving records both offers as the compensation; nothing is typed twice.
    await expect(owner.detail.locator(".offers-given")).to_contain_text("Given: 75.00 EUR")
    resolve = owner.detail.locator(".form-resolve")
    await resolve.locator("select[name=customer_reaction]").select_option("satisfied")
    await resolve.locator(".action-resolve").click()
    resolved = owner.detail.locator(".timeline .k-resolved")
    await expect(resolved).to_contain_text("compensation 75 EUR", timeout=LIVE)
