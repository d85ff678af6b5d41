"""The agent console in a real Chromium (Debian's, driven by Playwright).

One test runs the whole pipeline and looks at what an agent sees; the other serves the console's
static files to the browser with a scripted websocket, to pin down the protocol edges a real
server produces only by chance: overlapping snapshot and live messages, "fell behind" closes,
rejected tokens.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from playwright.async_api import (
    Browser,
    Page,
    Route,
    WebSocketRoute,
    expect,
)

from tests.support import Pipeline

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
DOCS_SCREENSHOT = REPO / "docs" / "console.png"
STATIC = resources.files("winback_notifier") / "static"
XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
# What the server says to Ana, agent of queue "default" (held to the server by test_console_js).
ANA = json.loads((REPO / "tests" / "js" / "hello.json").read_text())["agent"]["agent"]
# The scripted test's origin: every request to it is answered inside the browser.
FAKE_ORIGIN = "http://127.0.0.1:47391"


def keep_screenshot(screenshot: Path) -> None:
    """Copy a screenshot for the README when there is none or a refresh is asked for."""
    if not DOCS_SCREENSHOT.exists() or os.environ.get("WINBACK_UPDATE_DOCS_SCREENSHOT"):
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh tab at the width agents use; script errors in the page fail the test."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
    finally:
        await context.close()
    assert not errors, errors


async def test_detractor_pops_up_and_promoter_stays_quiet(pipeline: Pipeline, page: Page) -> None:
    await page.goto(f"{pipeline.notifier_url}/#token={pipeline.agent_token}")
    await expect(page.locator("#status")).to_have_text("live", timeout=15_000)
    assert "token" not in page.url, "the token must leave the address bar"

    marker = f"ref-{uuid4().hex[:8]}"
    comment = f"He could not answer a single question. {XSS} {marker}"
    response = await pipeline.post(
        pipeline.sample(2, ["agent lacked product knowledge"], comment=comment)
    )
    assert response.status_code == 202, response.text

    toast = page.locator("#toasts .toast[role=alert]", has_text=marker)
    await expect(toast).to_be_visible(timeout=5_000)
    await expect(toast).to_contain_text("Dana Whitfield")
    await expect(toast.locator(".priority")).to_have_text(re.compile(r"^P[1-9]$"))
    await expect(toast).to_contain_text(re.compile("product knowledge", re.IGNORECASE))
    await expect(toast).to_contain_text("<script>")

    case = page.locator("#cases .case", has_text=marker)
    await expect(case).to_have_count(1)
    assert (await case.get_attribute("data-case-id") or "").isdigit()
    await expect(case).to_contain_text("Dana Whitfield")
    await expect(case).to_contain_text("NPS 2/10")
    await expect(case.locator(".comment")).to_have_text(comment)
    await expect(page.locator("#cases img, #toasts img, #cases script")).to_have_count(0)
    assert await page.evaluate("typeof window.__pwned") == "undefined"
    await expect(page).to_have_title("(1) winback console")

    screenshot = ARTIFACTS / "console.png"
    await page.screenshot(path=screenshot)  # creates the folder
    keep_screenshot(screenshot)

    cases_before = await page.locator("#cases .case").count()
    toasts_before = await page.locator("#toasts .toast").count()
    response = await pipeline.post(pipeline.sample(10, []))
    assert response.status_code == 202, response.text
    await page.wait_for_timeout(2_000)
    await expect(page.locator("#cases .case")).to_have_count(cases_before)
    await expect(page.locator("#toasts .toast")).to_have_count(toasts_before)
    await expect(page).to_have_title("(1) winback console")


# ---- the console against a scripted server ------------------------------------------------


@dataclass
class FakeConnection:
    """One console websocket, answered by the test instead of a server."""

    route: WebSocketRoute
    received: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    def send(self, message: dict[str, Any]) -> None:
        """Deliver ``message`` to the console."""
        self.route.send(json.dumps(message))

    async def auth_token(self) -> str:
        """The token of the console's first message, which must be its auth message."""
        return str((await self.auth_message())["token"])

    async def auth_message(self) -> dict[str, Any]:
        """The console's first message, which must be its auth message."""
        message = await asyncio.wait_for(self.received.get(), 5)
        assert message["type"] == "auth", message
        return message


@dataclass
class FakeServer:
    """Serves the console's static files and records its websocket connections."""

    connections: asyncio.Queue[FakeConnection] = field(default_factory=asyncio.Queue)

    async def serve_file(self, route: Route) -> None:
        """Answer a page or static file request from the notifier's static folder."""
        path = urlsplit(route.request.url).path
        name = "console.html" if path == "/" else path.removeprefix("/static/")
        resource = STATIC / name
        if "/" in name or not resource.is_file():
            await route.fulfill(status=404, body="not found")
            return
        types = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
        content_type = types.get(Path(name).suffix, "application/octet-stream")
        await route.fulfill(
            status=200, body=resource.read_bytes(), content_type=f"{content_type}; charset=utf-8"
        )

    def accept(self, route: WebSocketRoute) -> None:
        """Record a new connection; its messages go to its queue."""
        connection = FakeConnection(route)
        route.on_message(lambda raw: connection.received.put_nowait(json.loads(raw)))
        self.connections.put_nowait(connection)

    async def next_connection(self) -> FakeConnection:
        """The console's next websocket connection."""
        return await asyncio.wait_for(self.connections.get(), 15)


def summary(
    case_id: int, *, priority: int, opened_at: str, seq: int = 1, **extra: Any
) -> dict[str, Any]:
    """A CaseSummary as the notifier serialises it."""
    return {
        "case_id": case_id,
        "seq": seq,
        "status": "open",
        "priority": priority,
        "queue": "default",
        "source": "survey",
        "response_id": f"r-{case_id}",
        "customer": {
            "id": f"c-{case_id}",
            "name": f"Customer {case_id}",
            "email": None,
            "phone": None,
        },
        "interaction": {"id": None, "channel": "chat", "agent": None, "team": None},
        "scores": [{"kind": "csat", "value": 1.0, "scale_min": 1.0, "scale_max": 5.0}],
        "reasons": [
            {
                "code": "long_wait",
                "label": "Long hold or wait",
                "evidence": "long wait",
                "method": "chosen_answer",
                "confidence": 1.0,
            }
        ],
        "comment": f"comment {case_id}",
        "follow_up_requested": False,
        "submitted_at": None,
        "received_at": opened_at,
        "opened_at": opened_at,
        **extra,
    }


def opened(case: dict[str, Any]) -> dict[str, Any]:
    """A live ``case.opened`` message."""
    return {
        "type": "case.opened",
        "event_id": str(uuid4()),
        "occurred_at": case["opened_at"],
        "case": case,
    }


async def shown_case_ids(page: Page) -> list[str]:
    """The ids of the listed cases, top to bottom."""
    ids: list[str] = await page.locator("#cases .case").evaluate_all(
        "nodes => nodes.map(n => n.dataset.caseId)"
    )
    return ids


async def test_console_dedupes_resynchronises_and_handles_rejection(page: Page) -> None:
    server = FakeServer()
    await page.route(f"{FAKE_ORIGIN}/**", server.serve_file)
    await page.route_web_socket(f"{FAKE_ORIGIN.replace('http', 'ws')}/ws", server.accept)
    await page.goto(f"{FAKE_ORIGIN}/")
    await expect(page.locator("#signin-form")).to_be_visible()
    await expect(page.locator("#signin-error")).to_be_hidden()
    await page.evaluate("window.__sameDocument = true")
    assert server.connections.empty()

    await page.goto(f"{FAKE_ORIGIN}/#token=first-token")  # a link from `winback run`, same tab

    first = await server.next_connection()
    assert await first.auth_token() == "first-token"
    assert "token" not in page.url
    assert await page.evaluate("sessionStorage.getItem('winback.token')") == "first-token"
    first.send({"type": "hello", "agent": ANA})
    first.send(
        {
            "type": "snapshot",
            "cases": [
                summary(1, priority=2, opened_at="2026-01-01T09:00:00Z"),
                summary(2, priority=1, opened_at="2026-01-01T10:00:00Z"),
            ],
            "total": 2,
        }
    )
    await expect(page.locator("#status")).to_have_text("live")
    await expect(page.locator("#agent")).to_contain_text("Ana")
    await expect(page.locator("#summary .summary-more")).to_have_count(0)
    assert await shown_case_ids(page) == ["2", "1"]
    await expect(page.locator("#cases .case[data-case-id='2']")).to_contain_text("CSAT 1/5")

    # Live repeats and stale seqs are ignored; a newer seq replaces the case without a pop-up.
    first.send(opened(summary(2, priority=1, opened_at="2026-01-01T10:00:00Z")))
    first.send(
        opened(
            summary(
                1, priority=2, opened_at="2026-01-01T09:00:00Z", seq=2, comment="updated comment"
            )
        )
    )
    first.send(opened(summary(1, priority=2, opened_at="2026-01-01T09:00:00Z", seq=1)))
    first.send(opened(summary(3, priority=1, opened_at="2026-01-01T11:00:00Z")))
    first.send(opened(summary(3, priority=1, opened_at="2026-01-01T11:00:00Z")))
    first.send(opened(summary(4, priority=3, opened_at="2026-01-01T08:00:00Z")))
    # Another queue's case: not on an agent's board, and no pop-up.
    first.send(opened(summary(6, priority=1, opened_at="2026-01-01T07:00:00Z", queue="vip")))
    toasts = page.locator("#toasts .toast[role=alert]")
    await expect(toasts).to_have_count(2)
    await expect(toasts.filter(has_text="Customer 3")).to_have_count(1)
    await expect(toasts.filter(has_text="Customer 4")).to_have_count(1)
    assert await shown_case_ids(page) == ["2", "3", "1", "4"]
    await expect(page.locator("#cases .case[data-case-id='1'] .comment")).to_have_text(
        "updated comment"
    )
    await expect(page).to_have_title("(2) winback console")

    await toasts.filter(has_text="Customer 4").click()
    await expect(toasts).to_have_count(1)
    await expect(page).to_have_title("(1) winback console")

    # "Fell behind": the console reconnects by itself and the new snapshot replaces the list.
    await first.route.close(code=1013, reason="fell behind")
    await expect(page.locator("#status")).to_have_text("reconnecting")
    second = await server.next_connection()
    assert await second.auth_token() == "first-token"
    second.send({"type": "hello", "agent": ANA})
    second.send(
        {
            "type": "snapshot",
            "cases": [
                summary(3, priority=1, opened_at="2026-01-01T11:00:00Z"),
                summary(5, priority=1, opened_at="2026-01-01T12:00:00Z"),
            ],
            "total": 40,  # a board past the notifier's limit: the console says what it lacks
        }
    )
    await expect(page.locator("#status")).to_have_text("live")
    assert await shown_case_ids(page) == ["3", "5"]
    await expect(page.locator("#summary .summary-more")).to_have_text("38 less urgent not loaded")
    await expect(toasts).to_have_count(1)
    await expect(page).to_have_title("(1) winback console")
    assert await page.evaluate("window.__sameDocument") is True

    # A rejected token: the sign-in form, and a new token connects again.
    await second.route.close(code=4401, reason="authentication required")
    await expect(page.locator("#signin-error")).to_have_text(re.compile("token rejected", re.I))
    await expect(page.locator("#signin-form")).to_be_visible()
    await expect(page.locator("#cases")).to_be_hidden()
    assert await page.evaluate("sessionStorage.getItem('winback.token')") is None
    await page.locator("#token-input").fill("second-token")
    await page.locator("#signin-form button[type=submit]").click()
    third = await server.next_connection()
    assert await third.auth_token() == "second-token"
    third.send({"type": "snapshot", "cases": []})
    await expect(page.locator("#status")).to_have_text("live")
    await expect(page.locator("#empty")).to_be_visible()
    assert server.connections.empty()


async def top_bar_boxes(page: Page) -> dict[str, Any]:
    """Where the top bar's controls and its status pill are, by selector (None if hidden)."""
    selectors = ("#agent", ".sound-slot", "#sign-out", "#status")
    return {selector: await page.locator(selector).bounding_box() for selector in selectors}


async def test_a_console_that_reconnects_resumes_from_its_cursor(page: Page) -> None:
    server = FakeServer()
    await page.route(f"{FAKE_ORIGIN}/**", server.serve_file)
    await page.route_web_socket(f"{FAKE_ORIGIN.replace('http', 'ws')}/ws", server.accept)
    await page.goto(f"{FAKE_ORIGIN}/#token=ana-token")

    first = await server.next_connection()
    assert await first.auth_message() == {"type": "auth", "token": "ana-token"}
    first.send({"type": "hello", "agent": ANA})
    first.send(
        {
            "type": "snapshot",
            "cases": [
                summary(1, priority=1, opened_at="2026-01-01T09:00:00Z"),
                summary(2, priority=1, opened_at="2026-01-01T10:00:00Z"),
            ],
            "total": 30,
            "cursor": "v1.100.view",
        }
    )
    await expect(page.locator("#status")).to_have_text("live")
    live_bar = await top_bar_boxes(page)

    # The notifier restarts (1012): the console sends its cursor back and merges what changed
    # while it was away, page by page, instead of replacing its board with a capped snapshot.
    await first.route.close(code=1012, reason="service restart")
    await expect(page.locator("#status")).to_have_text("reconnecting")
    # The pill's longer word moves nothing in the top bar (a click on Sign out or Ops made as
    # the connection drops lands where it was aimed).
    assert await top_bar_boxes(page) == live_bar
    second = await server.next_connection()
    assert await second.auth_message() == {
        "type": "auth",
        "token": "ana-token",
        "cursor": "v1.100.view",
    }
    second.send({"type": "hello", "agent": ANA})
    second.send(
        {
            "type": "catchup",
            "cases": [
                summary(2, priority=1, opened_at="2026-01-01T10:00:00Z", seq=2, status="closed")
            ],
            "cursor": None,
        }
    )
    await expect(page.locator("#status")).to_have_text("reconnecting")  # not caught up yet
    second.send(
        {
            "type": "catchup",
            "cases": [summary(7, priority=4, opened_at="2026-01-01T11:00:00Z")],
            "cursor": "v1.200.view",
        }
    )
    await expect(page.locator("#status")).to_have_text("live")
    assert await shown_case_ids(page) == ["1", "7"]
    await expect(page.locator("#toasts .toast", has_text="Customer 7")).to_have_count(1)
    # The catch-up brought "1 new", "Mark all seen" and "28 less urgent not loaded": at 1280 px
    # the name and then the last chip give way (its words in full on hover), the bar stays
    # inside the window, and the controls right of the name have not moved.
    await expect(page.locator("#mark-seen")).to_be_visible()
    await expect(page.locator("#summary .summary-more")).to_have_attribute(
        "title", "28 less urgent not loaded"
    )
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
    controls = {key: value for key, value in live_bar.items() if key != "#agent"}
    now = await top_bar_boxes(page)
    assert {key: value for key, value in now.items() if key != "#agent"} == controls

    # The next reconnect starts from the cursor of the last catch-up.
    await second.route.close(code=1013, reason="fell behind")
    third = await server.next_connection()
    assert (await third.auth_message())["cursor"] == "v1.200.view"


CHIME_COUNTER = """
window.__chimes = 0;
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__chimes += 1;
  return start.apply(this, args);
};
"""
"""Counts the chimes the console starts (each is one oscillator), without changing them."""


async def live_empty_console(page: Page) -> tuple[FakeServer, FakeConnection]:
    """Ana's console on the scripted server, signed in, live, with an empty board."""
    server = FakeServer()
    await page.route(f"{FAKE_ORIGIN}/**", server.serve_file)
    await page.route_web_socket(f"{FAKE_ORIGIN.replace('http', 'ws')}/ws", server.accept)
    await page.goto(f"{FAKE_ORIGIN}/#token=ana-token")
    connection = await server.next_connection()
    await connection.auth_message()
    connection.send({"type": "hello", "agent": ANA})
    connection.send({"type": "snapshot", "cases": [], "total": 0})
    await expect(page.locator("#status")).to_have_text("live")
    return server, connection


async def test_a_console_the_browser_keeps_silent_says_so_until_a_click(page: Page) -> None:
    """Chromium, as every browser, keeps a page silent until its user clicks or types in it.
    An agent who opens the console and waits must see that the chime is blocked (not "Sound
    on"), and the first click anywhere must let it play."""
    await page.add_init_script(CHIME_COUNTER)
    server, connection = await live_empty_console(page)

    allow = page.locator("#sound-allow")
    toggle = page.locator("#sound-toggle")
    await expect(allow).to_be_visible()
    await expect(allow).to_have_text("Allow sound")
    await expect(toggle).to_be_hidden()

    # A case arrives before any click: it pops up, and no chime is attempted.
    connection.send(opened(summary(1, priority=1, opened_at="2026-01-01T09:00:00Z")))
    await expect(page.locator("#toasts .toast", has_text="Customer 1")).to_be_visible()
    assert await page.evaluate("window.__chimes") == 0
    await expect(allow).to_be_visible()

    # A click anywhere in the page (here the empty board) lets the console play; the controls
    # left of the sound button stay put, so a first click aimed at one of them is not lost.
    agent_before = await page.locator("#agent").bounding_box()
    await page.locator("#board-title").click()
    await expect(allow).to_be_hidden()
    await expect(toggle).to_have_text("Sound on")
    assert await page.locator("#agent").bounding_box() == agent_before
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    connection.send(opened(summary(2, priority=1, opened_at="2026-01-01T10:00:00Z")))
    await expect(page.locator("#toasts .toast", has_text="Customer 2")).to_be_visible()
    await page.wait_for_function("window.__chimes === 1")

    # Off stays off, with nothing blocked to report, and survives a reload.
    await toggle.click()
    await expect(toggle).to_have_text("Sound off")
    connection.send(opened(summary(3, priority=1, opened_at="2026-01-01T11:00:00Z")))
    await expect(page.locator("#toasts .toast", has_text="Customer 3")).to_be_visible()
    assert await page.evaluate("window.__chimes") == 1
    await page.reload()
    again = await server.next_connection()
    await again.auth_message()
    again.send({"type": "hello", "agent": ANA})
    again.send({"type": "snapshot", "cases": [], "total": 0})
    await expect(page.locator("#status")).to_have_text("live")
    await expect(toggle).to_have_text("Sound off")
    await expect(allow).to_be_hidden()

    # Turned on again by its click, the same click lets it play: no "Allow sound" step.
    await toggle.click()
    await expect(toggle).to_have_text("Sound on")
    await expect(allow).to_be_hidden()
    again.send(opened(summary(4, priority=1, opened_at="2026-01-01T12:00:00Z")))
    await expect(page.locator("#toasts .toast", has_text="Customer 4")).to_be_visible()
    await page.wait_for_function("window.__chimes === 1")  # counted afresh since the reload


async def test_answering_the_desktop_alerts_question_moves_no_other_button(page: Page) -> None:
    """The "Desktop alerts" button goes once the browser's permission question is answered
    (here the headless browser refuses at once). The buttons beside it stay where they were:
    an agent who clicks again where the pointer already is must not turn the sound off by
    surprise."""
    await live_empty_console(page)
    notify = page.locator("#notify-toggle")
    await expect(notify).to_be_visible()
    before = await top_bar_boxes(page)
    await notify.click()
    await expect(notify).to_be_hidden()
    after = await top_bar_boxes(page)
    assert {key: after[key] for key in after if key != "#agent"} == {
        key: before[key] for key in before if key != "#agent"
    }


async def test_a_case_answered_long_before_it_opened_says_so(page: Page) -> None:
    """A vendor's backlog or an import opens cases for answers given days ago: the card, the
    pop-up and the case's facts say when the customer answered, so the agent knows before
    calling; a fresh answer carries no such flag."""
    server = FakeServer()
    await page.route(f"{FAKE_ORIGIN}/**", server.serve_file)
    await page.route_web_socket(f"{FAKE_ORIGIN.replace('http', 'ws')}/ws", server.accept)
    await page.goto(f"{FAKE_ORIGIN}/#token=ana-token")
    connection = await server.next_connection()
    await connection.auth_message()
    connection.send({"type": "hello", "agent": ANA})
    fresh = summary(1, priority=2, opened_at="2026-01-01T09:00:00Z")
    fresh["submitted_at"] = "2026-01-01T08:58:00Z"
    connection.send({"type": "snapshot", "cases": [fresh], "total": 1})
    await expect(page.locator("#status")).to_have_text("live")
    await expect(page.locator("#cases .case[data-case-id='1']")).to_be_visible()

    late = summary(2, priority=1, opened_at="2026-01-10T09:00:00Z")
    late["submitted_at"] = "2026-01-01T09:00:00Z"
    connection.send(opened(late))
    toast = page.locator("#toasts .toast", has_text="Customer 2")
    await expect(toast.locator(".late-answer")).to_contain_text("Answered")
    await expect(toast.locator(".late-answer time")).to_have_attribute(
        "datetime", "2026-01-01T09:00:00Z"
    )
    card = page.locator("#cases .case[data-case-id='2']")
    await expect(card.locator(".late-answer")).to_have_text(re.compile(r"^Answered \d+ days ago$"))
    await expect(page.locator("#cases .case[data-case-id='1'] .late-answer")).to_have_count(0)
