"""The case workflow in two real Chromium windows (Debian's, driven by Playwright) against a real
notifier, Kafka and PostgreSQL: a pop-up, a claim race, a failed then a successful call, a
resolution with root cause and compensation, and a note full of markup; the second window sees
every change live, and nothing anyone typed ever runs as code. Then a re-coding run after a
taxonomy change, which shows up live and never pops up."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.test_console_browser import ARTIFACTS, REPO, XSS
from tests.case_support import CaseDesk, publish_opened
from tests.recode_support import PARKING_COMMENT, write_changed_taxonomy
from winback_router.recoding.flow import recode
from winback_router.recoding.replay import Window as ReplayWindow
from winback_shared.agents import Role
from winback_shared.taxonomy import load_taxonomy

pytestmark = pytest.mark.browser

LIVE = 10_000  # ms a change may take to show up in the other window
CLAIM_CLICK_MS = 5_000  # ms a Claim button may stay unclickable before the race is lost


def keep_for_docs(screenshot: Path, name: str) -> None:
    """Copy a screenshot into docs/ when missing there or when a refresh is asked for."""
    target = REPO / "docs" / name
    if not target.exists() or os.environ.get("WINBACK_UPDATE_DOCS_SCREENSHOT"):
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, target)


class Window:
    """One agent's browser window; script errors in it fail the test."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context = context
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    @classmethod
    async def open(cls, browser: Browser, url: str, token: str) -> Window:
        """Sign in through the console's token link and wait until it is live."""
        context = await browser.new_context(viewport={"width": 1440, "height": 1000})
        window = cls(context, await context.new_page())
        await window.page.goto(f"{url}/#token={token}")
        await expect(window.page.locator("#status")).to_have_text("live", timeout=15_000)
        return window

    def card(self, case_id: int) -> Any:
        """The case's card on the board."""
        return self.page.locator(f"#cases .case[data-case-id='{case_id}']")

    @property
    def detail(self) -> Any:
        """The case panel."""
        return self.page.locator("#detail")

    async def history_kinds(self) -> list[str]:
        """The kinds shown in the panel's history, oldest first."""
        kinds: list[str] = await self.page.locator("#detail .timeline .event").evaluate_all(
            "nodes => nodes.map(n => n.className.replace('event k-', ''))"
        )
        return kinds


async def test_two_agents_work_a_case_and_each_sees_the_other_live(
    browser: Browser, case_desk: CaseDesk, kafka_bootstrap: str, infra_env: dict[str, Any]
) -> None:
    ana_token = await case_desk.agent("ana")
    ben_token = await case_desk.agent("ben")
    # Cases already waiting: on the board from the snapshot, without a pop-up.
    await case_desk.case(name="Priya Raman", priority=2, reasons=WAIT, comment="45 min on hold.")
    await case_desk.case(name="Tom Becker", priority=3, reasons=[], comment=None)
    ana = await Window.open(browser, case_desk.url, ana_token)
    ben = await Window.open(browser, case_desk.url, ben_token)
    try:
        await work_a_case(ana, ben, case_desk, kafka_bootstrap, infra_env)
        for window in (ana, ben):
            assert await window.page.evaluate("typeof window.__pwned") == "undefined"
            assert not window.errors, window.errors
    finally:
        await ana.context.close()
        await ben.context.close()


async def work_a_case(
    ana: Window, ben: Window, desk: CaseDesk, kafka: str, infra_env: dict[str, Any]
) -> None:
    """The scenario; split out so the windows are closed whatever fails."""
    comment = f"Charged twice for the same plan change. {XSS}"
    case_id = await desk.case(comment=comment, name="Dana Whitfield", reasons=BILLING)
    await publish_opened(desk, kafka, infra_env["topics"].recovery_alerts, case_id)

    # The pop-up, in both windows: both agents belong to the case's queue.
    for window in (ana, ben):
        toast = window.page.locator("#toasts .toast[role=alert]", has_text="Dana Whitfield")
        await expect(toast).to_be_visible(timeout=LIVE)
        await expect(toast).to_contain_text("<script>")
        await expect(window.page).to_have_title("(1) winback console")
        await expect(window.card(case_id)).to_contain_text("contact within")

    # Both open the case; the panel shows reasons with their evidence and the guidance.
    await ana.page.locator("#toasts .toast", has_text="Dana Whitfield").click()
    await ben.card(case_id).click()
    for window in (ana, ben):
        await expect(window.detail).to_be_visible()
        evidence = window.detail.locator(".evidence")
        await expect(evidence).to_contain_text("Billing error")
        await expect(evidence).not_to_contain_text("charged twice")  # marked, not quoted again
        await expect(evidence).to_contain_text("free text rules · 80%")
        await expect(evidence).to_contain_text("marked in the comment")
        await expect(window.detail.locator(".detail-comment")).to_have_text(comment)
        await expect(window.detail.locator(".detail-comment mark")).to_have_text(["Charged twice"])
        await expect(window.detail.locator("#detail-guidance")).to_contain_text("Own the follow-up")
    await expect(ana.page).to_have_title("winback console")

    # Both claim at the same moment: exactly one wins, the other sees who has it at once.
    # Which way the loser learns it is a real race: its click reaches the server (409, "already
    # claimed by ...") or the winner's live update removes its Claim button first.
    async def claim(window: Any) -> bool:
        try:
            await window.detail.locator(".action-claim").click(timeout=CLAIM_CLICK_MS)
        except PlaywrightTimeoutError:
            return False
        return True

    clicked = dict(zip(("ana", "ben"), await asyncio.gather(claim(ana), claim(ben)), strict=True))
    assert any(clicked.values())
    owner_text = re.compile(r"owned by (ana|ben)")
    await expect(ana.detail.locator("#detail-owner")).to_have_text(owner_text, timeout=LIVE)
    owner = (await ana.detail.locator("#detail-owner").text_content() or "").split()[-1]
    agent, watcher = (ana, ben) if owner == "ana" else (ben, ana)
    assert clicked[owner], "the owner is someone whose click never happened"
    await expect(watcher.detail.locator("#detail-owner")).to_have_text(f"owned by {owner}")
    if clicked["ben" if owner == "ana" else "ana"]:
        await expect(watcher.detail.locator("#detail-error")).to_have_text(
            f"case {case_id} is already claimed by {owner}", timeout=LIVE
        )
    await expect(watcher.detail.locator(".action-claim")).to_have_count(0)
    await expect(agent.detail.locator("#detail-error")).to_be_hidden()
    await expect(agent.detail.locator("#detail-guidance")).to_contain_text("two-way first")
    await agent.detail.evaluate("panel => { panel.scrollTop = 0; }")
    screenshot = ARTIFACTS / "console-case.png"
    await agent.page.screenshot(path=screenshot)
    keep_for_docs(screenshot, "console-case.png")

    # A failed call, then a successful one; the other window follows each step.
    attempt = agent.detail.locator(".form-attempt")
    await attempt.locator("select[name=channel]").select_option("email")
    await expect(attempt.locator(".hint")).to_contain_text("phone or in person first")
    await attempt.locator("select[name=channel]").select_option("phone")
    await attempt.locator("textarea[name=note]").fill("Voicemail; left my direct number.")
    await attempt.locator(".action-failed").click()
    await expect(watcher.card(case_id)).to_contain_text("1 failed attempt(s)", timeout=LIVE)
    await expect(watcher.detail.locator(".attempt.failed")).to_contain_text("Voicemail")

    attempt = agent.detail.locator(".form-attempt")
    await attempt.locator("textarea[name=note]").fill("Reached her; she explained everything.")
    await attempt.locator(".action-reached").click()
    await expect(watcher.detail.locator("#detail-status")).to_have_text("contacted", timeout=LIVE)
    await expect(agent.detail.locator("#detail-guidance")).to_contain_text("Listen first")
    await expect(agent.detail.locator("#detail-guidance")).to_contain_text("Apologise")

    # Resolve with the confirmed root cause and a compensation.
    resolve = agent.detail.locator(".form-resolve")
    await expect(resolve.locator("select[name=root_cause]")).to_have_value("billing_error")
    await resolve.locator("textarea[name=explanation]").fill("The plan change ran twice.")
    await resolve.locator("input[name=compensation]").fill("25")
    await resolve.locator("textarea[name=process_change]").fill("Plan changes checked first.")
    # The reaction starts unchosen: a resolve without it is not sent and says what is missing.
    await expect(resolve.locator("select[name=customer_reaction]")).to_have_value("")
    await resolve.locator(".action-resolve").click()
    await expect(agent.detail.locator("#detail-error")).to_have_text(
        "Choose the customer's reaction."
    )
    await expect(agent.detail.locator("#detail-status")).to_have_text("contacted")
    await resolve.locator("select[name=customer_reaction]").select_option("satisfied")
    await resolve.locator(".action-resolve").click()
    await expect(watcher.detail.locator("#detail-status")).to_have_text("resolved", timeout=LIVE)
    resolved = watcher.detail.locator(".timeline .k-resolved")
    await expect(resolved).to_contain_text("root cause Billing error", timeout=LIVE)
    await expect(resolved).to_contain_text("compensation 25 EUR")
    await expect(watcher.card(case_id).locator(".status-badge")).to_have_text("resolved")

    # A note full of markup: text in both windows, nothing runs, no element is made of it.
    note = f"Customer pasted this: {XSS}"
    form = agent.detail.locator(".form-note")
    await form.locator("textarea").fill(note)
    await form.locator(".action-note").click()
    for window in (agent, watcher):
        shown = window.detail.locator(".timeline .k-note_added .event-text")
        await expect(shown).to_have_text(note, timeout=LIVE)
        await expect(window.page.locator("#detail img, #detail script, #cases img")).to_have_count(
            0
        )
    assert await watcher.history_kinds() == [
        "opened",
        "claimed",
        "contact_attempted",
        "contact_attempted",
        "resolved",
        "note_added",
    ]
    await watcher.detail.locator("#detail-history").scroll_into_view_if_needed()
    screenshot = ARTIFACTS / "console-live.png"
    await watcher.page.screenshot(path=screenshot)
    keep_for_docs(screenshot, "console-live.png")

    # Closing takes the case off both boards.
    await agent.detail.locator(".form-close textarea").fill("Credit confirmed on her bill.")
    await agent.detail.locator(".action-close").click()
    await expect(watcher.card(case_id)).to_have_count(0, timeout=LIVE)
    await expect(agent.card(case_id)).to_have_count(0)
    await expect(agent.detail.locator("#detail-status")).to_have_text("closed")


async def test_a_supervisor_reassigns_by_choosing_from_the_list(
    browser: Browser, case_desk: CaseDesk
) -> None:
    ana = await case_desk.agent("ana", queues=["default", "billing"])
    await case_desk.agent("ben", queues=["billing"])
    await case_desk.agent("cal")
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    case_id = await case_desk.case(name="Dana Whitfield")
    assert (await case_desk.act(ana, case_id, "claim")).status_code == 200
    window = await Window.open(browser, case_desk.url, sue)
    try:
        await reassign_twice(window, case_desk, case_id)
        assert not window.errors, window.errors
    finally:
        await window.context.close()


async def reassign_twice(window: Window, desk: CaseDesk, case_id: int) -> None:
    """To a member of the case's queue, then to a member of another queue, from the lists."""
    await window.card(case_id).click()
    form = window.detail.locator(".form-reassign")
    agents = form.locator("select[name=agent] option")
    await expect(form.locator("input, textarea")).to_have_count(0)  # nothing to type
    await expect(agents).to_have_text(
        [
            "choose an agent…",
            "nobody: back to the queue, unowned",
            "ana (owns it now)",
            "cal",
            "sue · supervisor",
        ]
    )
    await form.locator(".action-reassign").click()  # nobody chosen yet: refused in place
    await expect(window.detail.locator("#detail-error")).to_have_text(re.compile("Choose who"))

    await form.locator("select[name=agent]").select_option("cal")
    await form.locator(".action-reassign").click()
    await expect(window.detail.locator("#detail-owner")).to_have_text("owned by cal", timeout=LIVE)
    await expect(agents.nth(3)).to_have_text("cal (owns it now)")

    await form.locator("select[name=queue]").select_option("billing")
    await expect(agents).to_have_text(
        ["choose an agent…", "nobody: back to the queue, unowned", "ana", "ben", "sue · supervisor"]
    )
    await form.locator("select[name=agent]").select_option("ben")
    await form.locator(".action-reassign").click()
    await expect(window.detail.locator("#detail-owner")).to_have_text("owned by ben", timeout=LIVE)
    await expect(window.detail.locator(".detail-queue")).to_have_text("queue billing")
    await expect(window.card(case_id)).to_contain_text("owned by ben")
    owner = await desk.pool.fetchrow(
        "SELECT c.queue, a.name FROM recovery_cases c JOIN agents a ON a.id = c.owner_id"
        " WHERE c.id = $1",
        case_id,
    )
    assert owner is not None and (owner["queue"], owner["name"]) == ("billing", "ben")
    timeline = window.detail.locator(".timeline .k-reassigned")
    await expect(timeline).to_have_text(
        [re.compile("to cal in default"), re.compile("to ben in billing")], timeout=LIVE
    )


async def test_an_agent_console_follows_its_queues_and_role_live(
    browser: Browser, case_desk: CaseDesk
) -> None:
    root = await case_desk.agent("root", Role.ADMIN, queues=[])
    ben = await case_desk.agent("ben", queues=["billing"])
    billed = await case_desk.case(queue="billing", name="Priya Raman")
    waiting = await case_desk.case(queue="default", name="Tom Becker")
    window = await Window.open(browser, case_desk.url, ben)
    try:
        await follow_changes(window, case_desk, root, billed, waiting)
        assert not window.errors, window.errors
    finally:
        await window.context.close()


async def follow_changes(
    window: Window, desk: CaseDesk, root: str, billed: int, waiting: int
) -> None:
    """Moved to another queue, then promoted, then disabled: each shows up without a reload."""
    page = window.page
    await expect(window.card(billed)).to_be_visible()
    await expect(window.card(waiting)).to_have_count(0)
    await page.evaluate("window.__sameDocument = true")
    await window.card(billed).click()
    await expect(window.detail).to_be_visible()

    moved = await desk.call("PUT", "/api/admin/agents/ben/queues", root, {"queues": ["default"]})
    assert moved.status_code == 200
    await expect(window.card(waiting)).to_be_visible(timeout=LIVE)
    await expect(window.card(billed)).to_have_count(0)
    await expect(window.detail).to_be_hidden()  # a case of a queue ben left leaves the screen
    await expect(page.locator("#status")).to_have_text("live")

    promoted = await desk.call("PUT", "/api/admin/agents/ben/role", root, {"role": "supervisor"})
    assert promoted.status_code == 200
    await expect(window.card(billed)).to_be_visible(timeout=LIVE)  # supervisors see every queue
    await expect(page.locator("#agent")).to_have_text("ben · supervisor")
    await window.card(billed).click()
    await expect(window.detail.locator(".form-reassign")).to_be_visible()
    assert await page.evaluate("window.__sameDocument") is True

    disabled = await desk.call("DELETE", "/api/admin/agents/ben", root)
    assert disabled.status_code == 204
    await expect(page.locator("#signin-error")).to_have_text(
        re.compile("account was disabled"), timeout=LIVE
    )
    await expect(page.locator("#cases")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('winback.token')") is None


BILLING = [
    {
        "code": "billing_error",
        "label": "Billing error",
        "evidence": "charged twice",
        "method": "free_text_rules",
        "confidence": 0.8,
        "evidence_source": "comment",
    }
]

WAIT = [
    {
        "code": "long_wait",
        "label": "Long hold or wait",
        "evidence": "long wait",
        "method": "chosen_answer",
        "confidence": 1.0,
    }
]


async def test_a_recoding_updates_the_open_case_live_and_never_pops_up(
    browser: Browser, case_desk: CaseDesk, tmp_path: Path
) -> None:
    changed = load_taxonomy(write_changed_taxonomy(tmp_path))
    token = await case_desk.agent("ana")
    shown_id = await case_desk.case(name="Lena Ortiz", reasons=WAIT, comment=PARKING_COMMENT)
    window = await Window.open(browser, case_desk.url, token)
    try:
        await window.card(shown_id).click()
        evidence = window.detail.locator(".evidence")
        await expect(evidence).to_have_text([re.compile("Long hold or wait")])
        # Committed after the console's snapshot and never alerted: a case it does not know.
        unknown_id = await case_desk.case(name="Omar Haddad", reasons=WAIT, comment=PARKING_COMMENT)

        summary = await recode(pool=case_desk.pool, taxonomy=changed, window=ReplayWindow())
        assert sorted(summary.cases_recoded) == [shown_id, unknown_id]

        # The open case shows the new reason with its evidence, and the re-coding in its history.
        await expect(evidence).to_have_text([re.compile("Parking at the branch")], timeout=LIVE)
        await expect(evidence).to_contain_text("marked in the comment")
        await expect(window.detail.locator(".detail-comment mark")).to_have_count(1)
        recoded = window.detail.locator(".timeline .k-recoded")
        await expect(recoded).to_contain_text("Reasons re-coded", timeout=LIVE)
        await expect(recoded).to_contain_text("added parking; removed long_wait")
        for case_id in (shown_id, unknown_id):
            card = window.card(case_id)
            await expect(card.locator(".reason")).to_have_text(["Parking at the branch"])
            await expect(card).not_to_have_class(re.compile("is-new"))
        # No pop-up, no "new" count: neither for the known case nor the one it did not know.
        await expect(window.page.locator("#toasts .toast")).to_have_count(0)
        await expect(window.page).to_have_title("winback console")
        await expect(window.page.locator("#summary .summary-new")).to_have_count(0)
        assert not window.errors, window.errors
    finally:
        await window.context.close()


PRICE_BY_MODEL = [
    {
        "code": "price_value",
        "label": "Price or value",
        "evidence": "The bill was far too steep for such a basic service.",
        "method": "model",
        "confidence": 0.91,
        "evidence_source": "comment",
        "rule": "model:price_value",
        "similar": [
            {"text": "Way overpriced for what it is.", "codes": ["price_value"], "similarity": 0.8},
            {"text": f"Lovely staff. {XSS}", "codes": [], "similarity": 0.6},
        ],
    }
]


async def test_a_model_coded_reason_shows_the_labelled_comments_it_resembles(
    browser: Browser, case_desk: CaseDesk
) -> None:
    token = await case_desk.agent("ana")
    case_id = await case_desk.case(
        name="Ines Duarte",
        reasons=PRICE_BY_MODEL,
        comment="Lovely staff, really. The bill was far too steep for such a basic service.",
    )
    window = await Window.open(browser, case_desk.url, token)
    try:
        await window.card(case_id).click()
        evidence = window.detail.locator(".evidence")
        await expect(evidence).to_contain_text("model · 91%")
        await expect(evidence).to_contain_text("Like these labelled comments:")
        similar = evidence.locator(".evidence-similar li")
        await expect(similar).to_have_text(
            [
                "Way overpriced for what it is. labelled price value",
                re.compile(r"Lovely staff\. .*<script>.* labelled no reason"),
            ]
        )
        assert await window.page.evaluate("typeof window.__pwned") == "undefined"
        assert not window.errors, window.errors
    finally:
        await window.context.close()
