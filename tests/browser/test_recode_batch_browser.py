"""A burst of re-codings in real Chromium: the console reads it as one ``cases.changed`` frame
and shows every card's new reasons, the open case's too, without a pop-up."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import Browser, WebSocket, expect

from tests.browser.test_case_console_browser import LIVE, Window
from tests.case_support import running_desk
from winback_shared.case_changes import append_change_unless_finished
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
BILLING = [
    {
        "code": "billing_error",
        "label": "Billing error",
        "evidence": "billed me twice",
        "method": "free_text_rules",
        "confidence": 0.8,
        "evidence_source": "comment",
    }
]
CASES = 5


async def test_a_burst_of_re_codings_arrives_as_one_frame_and_shows_on_every_card(
    browser: Browser, infra_env: dict[str, object]
) -> None:
    # A generous quiet wait: the test counts frames, and a loaded machine may pause mid-burst.
    overrides = {"quiet_changes_wait_seconds": 1.0, "quiet_changes_max_seconds": 10.0}
    async with running_desk(infra_env, **overrides) as desk:
        token = await desk.agent("ana")
        comment = "45 minutes on hold, then they billed me twice."
        ids = [
            await desk.case(name=f"Customer {n}", reasons=WAIT, comment=comment)
            for n in range(CASES)
        ]
        context = await browser.new_context(viewport={"width": 1440, "height": 1000})
        page = await context.new_page()
        received: list[dict[str, Any]] = []

        def listen(socket: WebSocket) -> None:
            socket.on("framereceived", lambda payload: received.append(json.loads(payload)))

        page.on("websocket", listen)
        window = Window(context, page)
        try:
            await page.goto(f"{desk.url}/#token={token}")
            await expect(page.locator("#status")).to_have_text("live", timeout=15_000)
            await window.card(ids[0]).click()
            evidence = window.detail.locator(".evidence")
            await expect(evidence).to_have_text([re.compile("Long hold or wait")])

            # New codes for all five, committed together as the refiner commits a batch.
            async with desk.pool.acquire() as conn, conn.transaction():
                for case_id in ids:
                    await conn.execute(
                        "UPDATE survey_responses SET codes = $2 FROM recovery_cases c"
                        " WHERE c.id = $1 AND survey_responses.id = c.survey_response_id",
                        case_id,
                        BILLING,
                    )
                    await append_change_unless_finished(
                        conn, case_id, kind=HistoryKind.RECODED, actor="refine", data={}
                    )

            await expect(evidence).to_have_text([re.compile("Billing error")], timeout=LIVE)
            for case_id in ids:
                card = window.card(case_id)
                await expect(card.locator(".reason")).to_have_text(["Billing error"])
                await expect(card).not_to_have_class(re.compile("is-new"))
            await expect(page.locator("#toasts .toast")).to_have_count(0)
            await expect(page).to_have_title("winback console")
            assert not window.errors, window.errors
        finally:
            await context.close()

    live = [frame for frame in received if frame.get("type") in ("case.changed", "cases.changed")]
    assert [frame["type"] for frame in live] == ["cases.changed"]
    assert sorted(change["case"]["case_id"] for change in live[0]["changes"]) == ids
