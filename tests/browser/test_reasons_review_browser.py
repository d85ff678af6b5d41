"""The case panel's "reasons right / wrong" in real Chromium against a real notifier, Kafka and
PostgreSQL: the owner corrects the coded reasons from the taxonomy's list, then confirms them;
a supervisor's window follows both live in the history; a colleague is not offered it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import LIVE, Window
from tests.case_support import CaseDesk
from winback_shared.agents import Role

pytestmark = pytest.mark.browser

WAIT = [
    {
        "code": "long_wait",
        "label": "Long hold or wait",
        "evidence": "45 minutes on hold",
        "method": "free_text_rules",
        "confidence": 0.8,
        "evidence_source": "comment",
    }
]


async def test_the_owner_corrects_then_confirms_the_reasons_and_others_see_it_live(
    browser: Browser, case_desk: CaseDesk
) -> None:
    ana = await case_desk.agent("ana")
    ben = await case_desk.agent("ben")
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    comment = "45 minutes on hold, then they billed me twice. Call me."
    case_id = await case_desk.case(comment=comment, reasons=WAIT)
    assert (await case_desk.act(ana, case_id, "claim")).status_code == 200
    owner, watcher, colleague = [
        await Window.open(browser, case_desk.url, token) for token in (ana, sue, ben)
    ]
    windows = (owner, watcher, colleague)
    try:
        await review(owner, watcher, colleague, case_desk, case_id)
        for window in windows:
            assert not window.errors, window.errors
    finally:
        for window in windows:
            await window.context.close()


async def review(
    owner: Window, watcher: Window, colleague: Window, desk: CaseDesk, case_id: int
) -> None:
    """The scenario; split out so the windows are closed whatever fails."""
    for window in (owner, watcher, colleague):
        await window.card(case_id).click()
        await expect(window.detail.locator(".evidence")).to_contain_text("Long hold or wait")
    await expect(colleague.detail.locator(".form-reasons")).to_have_count(0)  # not the owner

    form = owner.detail.locator(".form-reasons")
    editor = form.locator(".reasons-editor")
    await expect(editor).to_be_hidden()
    await form.locator(".action-reasons-wrong").click()
    await expect(editor).to_be_visible()
    # Every taxonomy code is offered, ticked as coded; so is the follow-up question.
    await expect(editor.locator("input[name=codes]")).to_have_count(16)
    await expect(editor.locator("input[value=long_wait]")).to_be_checked()
    await expect(editor.locator("input[value=billing_error]")).not_to_be_checked()
    await expect(editor.locator("input[name=follow_up_requested]")).not_to_be_checked()

    await editor.locator("input[value=billing_error]").check()
    await editor.locator("input[name=follow_up_requested]").check()
    await editor.locator("textarea[name=note]").fill("Double charge on the May bill.")
    await editor.locator(".action-reasons-save").click()
    await expect(form.locator(".reasons-saved")).to_have_text("Correction saved.", timeout=LIVE)
    await expect(editor).to_be_hidden()

    for window in (owner, watcher):
        entry = window.detail.locator(".timeline .k-reasons_reviewed")
        await expect(entry).to_have_count(1, timeout=LIVE)
        await expect(entry).to_contain_text("Reasons reviewed")
        await expect(entry).to_contain_text(
            "corrected to Long hold or wait, Billing error · asked to be contacted"
        )
        await expect(entry.locator(".event-text")).to_have_text("Double charge on the May bill.")
    # The coding itself is left as the router wrote it: the label is kept beside it.
    await expect(watcher.detail.locator(".evidence")).to_have_count(1)

    await form.locator(".action-reasons-right").click()
    await expect(form.locator(".reasons-saved")).to_have_text("Confirmed as coded.", timeout=LIVE)
    entries = watcher.detail.locator(".timeline .k-reasons_reviewed .event-summary")
    await expect(entries).to_have_text(
        [
            "corrected to Long hold or wait, Billing error · asked to be contacted",
            "confirmed as coded",
        ],
        timeout=LIVE,
    )
    stored = await desk.pool.fetch(
        "SELECT actor, data FROM case_history WHERE case_id = $1 AND kind = 'reasons_reviewed'"
        " ORDER BY seq",
        case_id,
    )
    assert [(row["actor"], row["data"]["verdict"], row["data"]["codes"]) for row in stored] == [
        ("ana", "corrected", ["long_wait", "billing_error"]),
        ("ana", "confirmed", ["long_wait"]),
    ]
