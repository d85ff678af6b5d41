"""SQL injection and script strings through every free-text field, from the survey vendor's
webhook and the case API to PostgreSQL and the agent's console.

Each free-text field (read from the schemas: ``tests/injection_support.py``) gets a hostile
string naming it. They must come back from the database byte for byte (no SQL error, nothing
escaped or stripped), and in a real Chromium the console must show them as text: no script
runs, no element is injected. One pipeline and one page for all of it, to keep the cost down.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.injection_support import free_text_fields, hostile, request_free_text
from tests.log_guard import remember
from tests.support import Pipeline, eventually
from winback_ingest.openapi import generic_schema
from winback_notifier.app import create_app as create_notifier_app
from winback_notifier.settings import NotifierSettings
from winback_router.app import create_app as create_router_app
from winback_router.settings import RouterSettings
from winback_shared.agents import Role, issue_token

pytestmark = pytest.mark.browser

SURVEY_FIELDS = [
    "response_id",
    "survey_id",
    "customer.id",
    "customer.name",
    "customer.email",
    "customer.phone",
    "customer.segment",
    "interaction.id",
    "interaction.channel",
    "interaction.agent",
    "interaction.team",
    "comment",
    "reasons[]",
]
CASE = "/api/cases/{case_id}"
API_FIELDS = {
    # stored, then read back from the case
    f"POST {CASE}/attempts: note",
    f"POST {CASE}/unreachable: note",
    f"POST {CASE}/reopen: reason",
    f"POST {CASE}/notes: text",
    f"POST {CASE}/reasons: note",
    f"POST {CASE}/reassign: note",
    f"POST {CASE}/resolve: note",
    f"POST {CASE}/resolve: resolution.explanation",
    f"POST {CASE}/resolve: resolution.process_change",
    f"POST {CASE}/resolve: resolution.compensation.kind",
    f"POST {CASE}/resolve: resolution.compensation.currency",
    f"POST {CASE}/close: follow_up_outcome",
    f"POST {CASE}/offers: note",
    f"POST {CASE}/offers/{{offer_id}}/approve: note",
    f"POST {CASE}/offers/{{offer_id}}/decline: reason",
    "POST /api/admin/queues: description",
    # looked up, never stored: refused by name, with no SQL error
    f"POST {CASE}/resolve: root_cause",
    f"POST {CASE}/reasons: codes[]",
    f"POST {CASE}/reassign: agent",
    f"POST {CASE}/reassign: queue",
    f"POST {CASE}/offers: amount",
    "PUT /api/admin/offer-limits: limits[].queue",
    "PUT /api/admin/offer-limits: limits[].max_amount",
    "POST /ops/dead-letters/replay: source",
}
CURRENCY = "'<i>;--"
"""A currency is at most 8 characters: the shortest string that is SQL and markup at once."""
KIND = "<img src=x onerror=\"window.__pwned='kind'\">'); --"
"""A compensation's kind is at most 80 characters."""


def test_every_free_text_field_is_covered() -> None:
    """A new free-text field in a schema fails here until the test below sends it too."""
    generic = generic_schema()
    assert set(free_text_fields(generic, generic)) == set(SURVEY_FIELDS)
    notifier = create_notifier_app(NotifierSettings()).openapi()
    router = create_router_app(RouterSettings()).openapi()
    assert request_free_text(notifier) | request_free_text(router) == API_FIELDS


def set_path(document: dict[str, Any], path: str, value: str) -> None:
    """Put ``value`` at a dotted path (``[]``: as the list's only item)."""
    *parents, last = path.split(".")
    for part in parents:
        document = document.setdefault(part, {})
    if last.endswith("[]"):
        document[last[:-2]] = [value]
    else:
        document[last] = value


async def test_hostile_text_is_stored_verbatim_and_shown_as_text(
    pipeline: Pipeline, browser: Browser
) -> None:
    texts = {field: hostile(field, index) for index, field in enumerate(SURVEY_FIELDS)}
    texts.update({field: hostile(field, index) for index, field in enumerate(sorted(API_FIELDS))})
    texts[f"POST {CASE}/resolve: resolution.compensation.kind"] = KIND
    texts[f"POST {CASE}/resolve: resolution.compensation.currency"] = CURRENCY
    remember(*texts.values())  # customer data: no log line may hold any of it
    async with pipeline.pool.acquire() as conn:
        _, lead = await issue_token(conn, name="lead", role=Role.ADMIN)
        _, second = await issue_token(conn, name="second", role=Role.SUPERVISOR)
    remember(lead, second)
    http, headers = pipeline.http, {"Authorization": f"Bearer {lead}"}

    async def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = await http.request(
            method, f"{pipeline.notifier_url}{path}", json=body, headers=headers
        )
        assert answer.status_code < 500, answer.text
        return answer

    # The survey: every free-text field of the generic format.
    payload = pipeline.sample(2)
    for field in SURVEY_FIELDS:
        set_path(payload, field, texts[field])
    assert (await pipeline.post(payload)).status_code == 202

    async def opened() -> Any:
        cards = (await call("GET", "/api/cases")).json()
        return next((c for c in cards if c["response_id"] == texts["response_id"]), None)

    card = await eventually(opened, timeout=20)
    assert card is not None, "the hostile response never became a case"
    case_id, case = card["case_id"], f"/api/cases/{card['case_id']}"
    for field in ("customer", "interaction"):
        for name, value in card[field].items():
            if f"{field}.{name}" in texts:
                assert value == texts[f"{field}.{name}"], (field, name)
    assert card["comment"] == texts["comment"]
    assert card["customer"]["segment"] == texts["customer.segment"]
    stored = await pipeline.pool.fetchrow(
        "SELECT survey_id FROM survey_responses WHERE response_id = $1", texts["response_id"]
    )
    assert stored is not None and stored["survey_id"] == texts["survey_id"]

    def api(field: str) -> str:
        return texts[f"POST {CASE}/{field}"]

    # The workflow: every free-text field of the case API, in an order the workflow allows.
    steps: list[tuple[str, dict[str, Any]]] = [
        ("claim", {}),
        ("notes", {"text": api("notes: text")}),
        (
            "reasons",
            {
                "codes": ["billing_error"],
                "follow_up_requested": False,
                "note": api("reasons: note"),
            },
        ),
        ("reassign", {"agent": "lead", "note": api("reassign: note")}),
        *[("attempts", {"channel": "phone", "reached": False, "note": api("attempts: note")})] * 3,
        ("unreachable", {"note": api("unreachable: note")}),
        ("reopen", {"reason": api("reopen: reason")}),
        ("claim", {}),
        ("attempts", {"channel": "phone", "reached": True, "note": "reached"}),
        (
            "resolve",
            {
                "root_cause": "billing_error",
                "customer_reaction": "satisfied",
                "note": api("resolve: note"),
                "resolution": {
                    "apology": True,
                    "explanation": api("resolve: resolution.explanation"),
                    "process_change": api("resolve: resolution.process_change"),
                    "compensation": {
                        "kind": KIND,
                        "value": 10,
                        "currency": CURRENCY,
                    },
                },
            },
        ),
        ("close", {"follow_up_outcome": api("close: follow_up_outcome")}),
        ("reopen", {"reason": api("reopen: reason")}),  # back on the board, for the console
    ]
    for action, body in steps:
        answer = await call("POST", f"{case}/{action}", body)
        assert answer.status_code == 200, (action, answer.text)

    # Looked up by name: refused cleanly, the name quoted back as sent.
    lookups = [
        (f"{case}/resolve", {**steps[-3][1], "root_cause": api("resolve: root_cause")}),
        (
            f"{case}/reasons",
            {"codes": [api("reasons: codes[]")], "follow_up_requested": False, "note": ""},
        ),
        (f"{case}/reassign", {"agent": api("reassign: agent")}),
        (f"{case}/reassign", {"queue": api("reassign: queue")}),
    ]
    for path, body in lookups:
        answer = await call("POST", path, body)
        assert answer.status_code in (404, 409, 422), answer.text

    # Offers: made on the case worked again (no limit set: each asks), one approved and one
    # declined by another supervisor; a hostile amount or limit is refused by name.
    for action, body in [("claim", {}), ("attempts", {"channel": "phone", "reached": True})]:
        assert (await call("POST", f"{case}/{action}", body)).status_code == 200
    answered = [
        ("approve", {"note": api("offers/{offer_id}/approve: note")}),
        ("decline", {"reason": api("offers/{offer_id}/decline: reason")}),
    ]
    for verb, body in answered:
        made = {"kind": "credit", "amount": 5, "currency": "EUR", "note": api("offers: note")}
        asked = (await call("POST", f"{case}/offers", made)).json()["offer"]
        answer = await http.post(
            f"{pipeline.notifier_url}{case}/offers/{asked['offer_id']}/{verb}",
            json=body,
            headers={"Authorization": f"Bearer {second}"},
        )
        assert answer.status_code == 200, answer.text
    bad_amount = {"kind": "credit", "amount": api("offers: amount"), "currency": "EUR"}
    assert (await call("POST", f"{case}/offers", bad_amount)).status_code == 422
    for field in ("queue", "max_amount"):
        limit = {"role": "agent", "currency": "EUR", "max_amount": 1}
        limit[field] = texts[f"PUT /api/admin/offer-limits: limits[].{field}"]
        answer = await call("PUT", "/api/admin/offer-limits", {"limits": [limit]})
        assert answer.status_code == 422, answer.text
    offers = (await call("GET", f"{case}/offers")).json()["offers"]
    assert {o["note"] for o in offers} == {api("offers: note")}
    assert [o["answer_reason"] for o in offers] == [
        body for _, b in answered for body in b.values()
    ]
    replay = await http.post(
        f"{pipeline.router_url}/ops/dead-letters/replay",
        json={"source": texts["POST /ops/dead-letters/replay: source"]},
        headers=headers,
    )
    assert replay.status_code == 200 and replay.json() == {"replayed": [], "missing": []}
    description = texts["POST /api/admin/queues: description"]
    created = await call("POST", "/api/admin/queues", {"name": "inj", "description": description})
    assert created.status_code == 201
    queues = (await call("GET", "/api/admin/queues")).json()
    assert {"name": "inj", "description": description, "members": []} in queues

    # Everything came back from PostgreSQL as it was sent.
    detail = (await call("GET", case)).json()
    notes = [attempt["note"] for attempt in detail["attempts"]]
    assert notes.count(api("attempts: note")) == 3
    resolution = detail["case"]["resolution"]
    assert resolution["explanation"] == api("resolve: resolution.explanation")
    assert resolution["process_change"] == api("resolve: resolution.process_change")
    assert resolution["compensation"]["kind"] == KIND
    assert resolution["compensation"]["currency"] == CURRENCY
    assert detail["case"]["follow_up_outcome"] == api("close: follow_up_outcome")
    history_values = {
        value for entry in detail["history"] for value in _strings(entry.get("data", {}))
    }
    for field in (
        "notes: text",
        "reasons: note",
        "reassign: note",
        "unreachable: note",
        "reopen: reason",
        "offers: note",
        "offers/{offer_id}/approve: note",
        "offers/{offer_id}/decline: reason",
    ):
        assert api(field) in history_values, field
    assert await pipeline.pool.fetchval("SELECT count(*) FROM agents") >= 2  # nothing dropped

    # The console: a real Chromium, signed in, the case panel open.
    context = await browser.new_context(viewport={"width": 1440, "height": 1000})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    try:
        await page.goto(f"{pipeline.notifier_url}/#token={lead}")
        await expect(page.locator("#status")).to_have_text("live", timeout=15_000)
        card_node = page.locator(f"#cases .case[data-case-id='{case_id}']")
        await expect(card_node).to_contain_text(texts["customer.name"], timeout=10_000)
        await card_node.click()
        detail_node = page.locator("#detail")
        await expect(detail_node).to_be_visible()
        await expect(detail_node).to_contain_text(texts["comment"])
        await expect(detail_node).to_contain_text(api("notes: text"))
        await expect(detail_node).to_contain_text(api("attempts: note"))
        await asyncio.sleep(0.5)  # let any injected handler (onerror, onload) fire
        shown = await page.locator("body").inner_text()
        injected = await page.evaluate(
            """() => ({
                pwned: typeof window.__pwned,
                elements: document.querySelectorAll(
                    "#cases script, #cases img, #cases svg, #cases iframe, "
                    + "#detail script, #detail img, #detail svg, #detail iframe, "
                    + "#toasts script, #toasts img, #toasts svg, #toasts iframe").length,
                javascriptLinks: document.querySelectorAll("[href^='javascript' i]").length,
                handlers: [...document.querySelectorAll("*")].filter(
                    node => [...node.attributes].some(a => a.name.startsWith("on"))).length,
            })"""
        )
    finally:
        await context.close()
    assert injected == {"pwned": "undefined", "elements": 0, "javascriptLinks": 0, "handlers": 0}
    assert not errors and not dialogs, (errors, dialogs)
    shown_fields = sorted(field for field, text in texts.items() if text in shown)
    for must in ("customer.name", "comment", f"POST {CASE}/notes: text"):
        assert must in shown_fields, f"{must} not shown as text"


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []
