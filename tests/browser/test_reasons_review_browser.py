"""The case panel's "reasons right / wrong" in real Chromium against a real notifier, Kafka and
PostgreSQL: the owner corrects the coded reasons from the taxonomy's list, then confirms them;
a supervisor's window follows both live in the history; a colleague is not offered it. The
list starts from the reasons shown when it opens, even if they were re-coded after the panel."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_case_console_browser import LIVE, Window
from tests.case_support import CaseDesk
from winback_shared.agents import Role
from winback_shared.case_changes import append_change
from winback_shared.case_vocabulary import HistoryKind

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
BILLING = {
    "code": "billing_error",
    "label": "Billing error",
    "evidence": "billed me twice",
    "method": "free_text_rules",
    "confidence": 0.8,
    "evidence_source": "comment",
}


async def recode(desk: CaseDesk, case_id: int, reasons: list[dict[str, object]]) -> None:
    """Give the case's response new codes as the re-coding tool does; the outbox tells the
    consoles, quietly."""
    async with desk.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE survey_responses SET codes = $2 FROM recovery_cases c"
            " WHERE c.id = $1 AND survey_responses.id = c.survey_response_id",
            case_id,
            reasons,
        )
        await append_change(conn, case_id, kind=HistoryKind.RECODED, actor="recode", data={})


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
    # Re-coded while the panel is open: the list ticks the reasons shown now.
    await recode(desk, case_id, [*WAIT, BILLING])
    await expect(owner.detail.locator(".evidence")).to_have_count(2, timeout=LIVE)
    await form.locator(".action-reasons-wrong").click()
    await expect(editor).to_be_visible()
    # Every taxonomy code is offered, ticked as coded; so is the follow-up question.
    await expect(editor.locator("input[name=codes]")).to_have_count(16)
    await expect(editor.locator("input[value=long_wait]")).to_be_checked()
    await expect(editor.locator("input[value=billing_error]")).to_be_checked()
    await expect(editor.locator("input[value=rude]")).not_to_be_checked()
    await expect(editor.locator("input[name=follow_up_requested]")).not_to_be_checked()

    await editor.locator("input[value=rude]").check()
    await editor.locator("input[value=rude]").uncheck()  # second thoughts
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
    await expect(watcher.detail.locator(".evidence")).to_have_count(2)

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
        ("ana", "confirmed", ["long_wait", "billing_error"]),
    ]
