"""The ops page's "Export for BI" in real Chromium (Debian's, via Playwright) against a real
notifier and PostgreSQL: a supervisor picks a window of UTC days and downloads CSV and Parquet,
saved from a blob under the page's strict CSP, and both files parse with the seeded cases of
that window; a window that ends before it starts shows the API's refusal and saves nothing.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from arro3.io import read_parquet
from playwright.async_api import Page, expect

from tests.browser.test_case_console_browser import Window
from tests.case_support import CaseDesk
from winback_notifier.reports.export import COLUMNS
from winback_shared.agents import Role

pytestmark = pytest.mark.browser

LIVE = 15_000  # ms the page may take to sign in and load
NAMES = [column.name for column in COLUMNS]


def reason(code: str) -> dict[str, Any]:
    return {"code": code, "label": code, "evidence": code, "method": "chosen_answer"}


async def opened_at(desk: CaseDesk, case_id: int, moment: datetime) -> None:
    """Move the case's opening to ``moment`` (the export filters on it)."""
    await desk.pool.execute(
        "UPDATE recovery_cases SET opened_at = $2,"
        " contact_due_at = $2::timestamptz + interval '10 minutes' WHERE id = $1",
        case_id,
        moment,
    )


async def seed(desk: CaseDesk, first: date) -> dict[str, int]:
    """Cases on the window's two days (``first`` and the next), one before and one after."""
    noon = time(12, tzinfo=UTC)
    cases = {
        "before": await desk.case(name="Before"),
        "first": await desk.case(name="First day", reasons=[reason("long_wait")]),
        "billing": await desk.case(
            name="Second day", queue="billing", priority=2, reasons=[reason("billing_error")]
        ),
        "after": await desk.case(name="After"),
    }
    moments = {
        "before": datetime.combine(first, time(23, 59, tzinfo=UTC)) - timedelta(days=1),
        "first": datetime.combine(first, time(0, 0, tzinfo=UTC)),
        "billing": datetime.combine(first + timedelta(days=1), noon),
        "after": datetime.combine(first + timedelta(days=2), time(0, 0, tzinfo=UTC)),
    }
    for key, case_id in cases.items():
        await opened_at(desk, case_id, moments[key])
    return cases


async def fill_window(page: Page, since: date, to: date, queue: str = "") -> None:
    await page.locator("#export-from").fill(since.isoformat())
    await page.locator("#export-to").fill(to.isoformat())
    await page.locator("#export-queue").fill(queue)


async def download(page: Page, label: str, folder: Path) -> Path:
    """Press the button, wait for the file the page saves; answer where it was kept."""
    async with page.expect_download() as info:
        await page.locator("#export-form button", has_text=label).click()
    saved = await info.value
    assert saved.suggested_filename.endswith(f".{label.lower()}")
    assert saved.url.startswith("blob:")  # fetched with the token, saved from memory
    path = folder / saved.suggested_filename
    await saved.save_as(path)
    return path


def csv_ids(path: Path) -> list[int]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == NAMES
        return [int(row["case_id"]) for row in reader]


def parquet_rows(path: Path) -> list[dict[str, Any]]:
    table = read_parquet(str(path)).read_all()
    assert table.schema.names == NAMES
    columns = {name: table.column(name).to_pylist() for name in NAMES}
    return [{name: values[i] for name, values in columns.items()} for i in range(table.num_rows)]


async def test_a_supervisor_downloads_the_export_from_the_ops_page(
    browser: Any, case_desk: CaseDesk, tmp_path: Path
) -> None:
    sue_token = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    first = datetime.now(UTC).date() - timedelta(days=10)
    cases = await seed(case_desk, first)

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
        await sue.page.goto(f"{case_desk.url}/ops")
        await expect(sue.page.locator("#status")).to_have_text("live", timeout=LIVE)
        form = sue.page.locator("#export-form")
        await expect(form).to_be_visible()
        today = datetime.now(UTC).date()
        await expect(sue.page.locator("#export-to")).to_have_value(today.isoformat())
        await expect(sue.page.locator("#export-from")).to_have_value(
            (today - timedelta(days=29)).isoformat()
        )
        reasons = await sue.page.locator("#export-reason option").evaluate_all(
            "nodes => nodes.map(n => n.value)"
        )
        assert reasons[0] == "" and "long_wait" in reasons

        # Both days of the window, both ends included; nothing from the day before or after.
        await fill_window(sue.page, first, first + timedelta(days=1))
        path = await download(sue.page, "CSV", tmp_path)
        assert csv_ids(path) == [cases["first"], cases["billing"]]
        await expect(sue.page.locator("#export-status")).to_have_text(f"Saved {path.name}.")

        rows = parquet_rows(await download(sue.page, "Parquet", tmp_path))
        assert [row["case_id"] for row in rows] == [cases["first"], cases["billing"]]
        assert [row["queue"] for row in rows] == ["default", "billing"]
        assert rows[0]["opened_at"] == datetime.combine(first, time(0, 0, tzinfo=UTC))

        # The filters go along: one queue, then one reason.
        await fill_window(sue.page, first, first + timedelta(days=1), queue="billing")
        assert csv_ids(await download(sue.page, "CSV", tmp_path)) == [cases["billing"]]
        await sue.page.locator("#export-queue").fill("")
        await sue.page.locator("#export-reason").select_option("long_wait")
        rows = parquet_rows(await download(sue.page, "Parquet", tmp_path))
        assert [row["case_id"] for row in rows] == [cases["first"]]
        await sue.page.locator("#export-reason").select_option("")

        # A window that ends before it starts: the API's words, and no file.
        saved: list[Any] = []
        sue.page.on("download", lambda download: saved.append(download))
        await fill_window(sue.page, first + timedelta(days=1), first - timedelta(days=1))
        await sue.page.locator("#export-form button", has_text="CSV").click()
        status = sue.page.locator("#export-status")
        await expect(status).to_contain_text("Export refused", timeout=LIVE)
        await expect(status).to_contain_text("must be before")
        await expect(status).to_have_class("ops-note ops-error")
        await expect(sue.page.locator("#export-form button", has_text="CSV")).to_be_enabled()
        assert not saved
        assert not sue.errors, sue.errors
        assert not policy_errors, policy_errors
    finally:
        await sue.context.close()
