"""The BI export on real PostgreSQL: CSV and Parquet downloads parsed back, filters, roles, CLI.

Cases are placed in time and given a resolution directly, so every expected row is written
out by hand here; both formats are read back with their own readers (``csv``, ``arro3-io``).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arro3.io import read_parquet

from tests.case_support import CaseDesk
from tests.integration.test_ops_reports import ops_cli
from winback_notifier.reports.export import COLUMNS
from winback_shared.agents import Role

NOW = datetime.now(UTC).replace(microsecond=0)


def reason(code: str) -> dict[str, Any]:
    return {"code": code, "label": code, "evidence": code, "method": "chosen_answer"}


RESOLUTION = {
    "apology": True,
    "explanation": "The plan changed on the 1st; we missed telling you.",
    "compensation": {"kind": "voucher", "value": 25.5, "currency": "EUR"},
    "process_change": "Brief agents on plan changes",
}


async def place(desk: CaseDesk, case_id: int, opened_at: datetime, **columns: Any) -> None:
    """Open the case at ``opened_at`` and set other columns as given; its contact deadline is
    ten minutes after opening, or ``contact_due_at`` if given."""
    columns.setdefault("contact_due_at", opened_at + timedelta(minutes=10))
    names = ["opened_at", *columns]
    sets = ", ".join(f"{name} = ${i + 2}" for i, name in enumerate(names))
    await desk.pool.execute(
        f"UPDATE recovery_cases SET {sets} WHERE id = $1",
        case_id,
        opened_at,
        *columns.values(),
    )


QUIET_DEADLINE = NOW + timedelta(days=1)
"""The contact deadline of the floor's open cases: no SLA timer of theirs comes due while a test
runs. Days overdue, they were breached by the desk's SLA scheduler at its next wake-up (up to
``sla_max_sleep_seconds``, 30 s, after they were placed), changing rows a test was reading twice
(``sla_warned_at``, ``sla_breached_at``)."""


@pytest.fixture
async def floor(case_desk: CaseDesk) -> dict[str, Any]:
    """Four cases: three in the last 30 days (default window), one 40 days old."""
    tokens = {
        "sue": await case_desk.agent("sue", Role.SUPERVISOR, queues=[]),
        "ana": await case_desk.agent("ana", queues=["default", "billing"]),
    }
    resolved = await case_desk.case(priority=1)  # coded product_knowledge
    opened = NOW - timedelta(days=2)
    await place(
        case_desk,
        resolved,
        opened,
        status="resolved",
        claimed_at=opened + timedelta(seconds=60),
        first_attempt_at=opened + timedelta(seconds=300),
        first_contact_at=opened + timedelta(seconds=300),
        resolved_at=opened + timedelta(hours=1),
        root_cause="product_knowledge",
        resolution=RESOLUTION,
        customer_reaction="satisfied",
        owner_id=await case_desk.pool.fetchval("SELECT id FROM agents WHERE name = 'ana'"),
    )
    billing = await case_desk.case(
        priority=2, queue="billing", reasons=[reason("long_wait"), reason("billing_error")]
    )
    await place(case_desk, billing, NOW - timedelta(days=1), contact_due_at=QUIET_DEADLINE)
    uncoded = await case_desk.case(priority=3, reasons=[])
    await place(case_desk, uncoded, NOW - timedelta(days=5), contact_due_at=QUIET_DEADLINE)
    old = await case_desk.case(priority=1)
    await place(case_desk, old, NOW - timedelta(days=40), contact_due_at=QUIET_DEADLINE)
    return {
        "tokens": tokens,
        "resolved": resolved,
        "billing": billing,
        "uncoded": uncoded,
        "old": old,
    }


async def download(desk: CaseDesk, token: str, query: str) -> tuple[str, bytes]:
    answer = await desk.call("GET", f"/api/ops/export?{query}", token)
    assert answer.status_code == 200, answer.text
    return answer.headers["content-type"], answer.content


def csv_rows(body: bytes) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(body.decode()))
    assert reader.fieldnames == [column.name for column in COLUMNS]
    return list(reader)


def parquet_rows(body: bytes, tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "export.parquet"
    path.write_bytes(body)
    table = read_parquet(str(path)).read_all()
    assert table.schema.names == [column.name for column in COLUMNS]
    columns = {column.name: table.column(column.name).to_pylist() for column in COLUMNS}
    return [{name: values[i] for name, values in columns.items()} for i in range(table.num_rows)]


async def test_csv_has_every_case_of_the_window_with_its_timings_and_resolution(
    case_desk: CaseDesk, floor: dict[str, Any]
) -> None:
    content_type, body = await download(case_desk, floor["tokens"]["sue"], "format=csv")

    assert content_type.startswith("text/csv")
    rows = csv_rows(body)
    # Oldest first; the 40-day-old case is outside the default 30 days.
    assert [int(row["case_id"]) for row in rows] == [
        floor["uncoded"],
        floor["resolved"],
        floor["billing"],
    ]
    uncoded, resolved, billing = rows
    opened = NOW - timedelta(days=2)
    assert resolved == resolved | {
        "status": "resolved",
        "priority": "1",
        "queue": "default",
        "owner": "ana",
        "opened_at": opened.isoformat(),
        "claimed_at": (opened + timedelta(seconds=60)).isoformat(),
        "first_attempt_at": (opened + timedelta(seconds=300)).isoformat(),
        "first_contact_at": (opened + timedelta(seconds=300)).isoformat(),
        "contact_due_at": (opened + timedelta(minutes=10)).isoformat(),
        "resolved_at": (opened + timedelta(hours=1)).isoformat(),
        "closed_at": "",
        "reasons": "product_knowledge",
        "root_cause": "product_knowledge",
        "apology": "true",
        "explanation": RESOLUTION["explanation"],
        "compensation_kind": "voucher",
        "compensation_value": "25.5",
        "compensation_currency": "EUR",
        "process_change": "Brief agents on plan changes",
        "customer_reaction": "satisfied",
    }
    assert datetime.fromisoformat(resolved["alerted_at"]) is not None
    assert billing["reasons"] == "long_wait;billing_error"
    assert (billing["queue"], billing["owner"], billing["claimed_at"]) == ("billing", "", "")
    assert (billing["apology"], billing["compensation_value"]) == ("", "")
    assert uncoded["reasons"] == ""


async def test_parquet_holds_the_same_rows_typed(
    case_desk: CaseDesk, floor: dict[str, Any], tmp_path: Path
) -> None:
    content_type, body = await download(case_desk, floor["tokens"]["sue"], "format=parquet")

    assert content_type == "application/vnd.apache.parquet"
    assert body[:4] == b"PAR1"
    rows = parquet_rows(body, tmp_path)
    assert [row["case_id"] for row in rows] == [
        floor["uncoded"],
        floor["resolved"],
        floor["billing"],
    ]
    resolved = rows[1]
    opened = NOW - timedelta(days=2)
    assert resolved["opened_at"] == opened
    assert resolved["first_contact_at"] == opened + timedelta(seconds=300)
    assert resolved["closed_at"] is None
    assert (resolved["priority"], resolved["owner"], resolved["reasons"]) == (
        1,
        "ana",
        "product_knowledge",
    )
    assert (resolved["apology"], resolved["compensation_value"]) == (True, 25.5)
    assert resolved["compensation_currency"] == "EUR"
    assert rows[2]["reasons"] == "long_wait;billing_error"
    assert rows[2]["apology"] is None
    csv_body = (await download(case_desk, floor["tokens"]["sue"], "format=csv"))[1]
    assert len(csv_rows(csv_body)) == len(rows)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
async def test_filters_by_window_queue_and_reason(
    case_desk: CaseDesk, floor: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    token = floor["tokens"]["sue"]

    async def ids(query: str) -> list[int]:
        _, body = await download(case_desk, token, f"format={kind}&{query}")
        if kind == "csv":
            return [int(row["case_id"]) for row in csv_rows(body)]
        return [int(row["case_id"]) for row in parquet_rows(body, tmp_path)]

    assert await ids("queue=billing") == [floor["billing"]]
    assert await ids("queue=billing&queue=default") == [
        floor["uncoded"],
        floor["resolved"],
        floor["billing"],
    ]
    assert await ids("reason=product_knowledge") == [floor["resolved"]]
    assert await ids("reason=billing_error&reason=product_knowledge") == [
        floor["resolved"],
        floor["billing"],
    ]
    assert await ids("reason=billing_error&queue=default") == []
    # A queue cases were routed to counts even if nobody created it as a queue; so do the
    # codes the router writes itself.
    await case_desk.pool.execute(
        "UPDATE recovery_cases SET queue = 'vip' WHERE id = $1", floor["uncoded"]
    )
    assert await ids("queue=vip") == [floor["uncoded"]]
    assert await ids("reason=unclassified") == []
    since = (NOW - timedelta(days=41)).isoformat().replace("+00:00", "Z")
    until = (NOW - timedelta(days=3)).isoformat().replace("+00:00", "Z")
    assert await ids(f"since={since}&until={until}") == [floor["old"], floor["uncoded"]]


async def test_agents_get_403_and_bad_filters_422(
    case_desk: CaseDesk, floor: dict[str, Any]
) -> None:
    denied = await case_desk.call("GET", "/api/ops/export?format=csv", floor["tokens"]["ana"])
    assert denied.status_code == 403
    anonymous = await case_desk.call("GET", "/api/ops/export", None)
    assert anonymous.status_code == 401
    sue = floor["tokens"]["sue"]
    for query, code, words in [
        ("format=xlsx", "invalid_request", "csv"),
        ("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "invalid_filter", "before"),
        ("since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "invalid_filter", "three"),
        ("since=yesterday", "invalid_request", "since"),
        ("reason=no_such_reason", "invalid_filter", "no_such_reason"),
        ("queue=nowhere", "invalid_filter", "nowhere"),
    ]:
        answer = await case_desk.call("GET", f"/api/ops/export?{query}", sue)
        assert answer.status_code == 422, (query, answer.text)
        error = answer.json()["error"]
        assert error["code"] == code, query
        assert words in error["message"], (query, error)


async def reports_cli(database_url: str, *args: str) -> tuple[int, str]:
    """The ops CLI's exit code and what it wrote to stderr (the export writes its file)."""
    code, _, err = await ops_cli(database_url, *args)
    return code, err


async def test_the_cli_writes_the_same_rows_as_the_api_batch_by_batch(
    case_desk: CaseDesk, floor: dict[str, Any], infra_env: dict[str, Any], tmp_path: Path
) -> None:
    url = str(infra_env["database_url"])
    for kind in ("csv", "parquet"):
        out = tmp_path / f"cases.{kind}"
        # One row per batch: the stream's batching is exercised, not just its first fetch.
        status, err = await reports_cli(
            url, "export", "--format", kind, "--out", str(out), "--batch-rows", "1", "--progress"
        )
        assert status == 0, err
        assert "3 cases opened" in err and f"written as {kind}" in err
        assert "3/3" in err  # the progress bar reached its total
        _, api = await download(case_desk, floor["tokens"]["sue"], f"format={kind}")
        if kind == "csv":
            assert out.read_bytes() == api
        else:
            assert parquet_rows(out.read_bytes(), tmp_path) == parquet_rows(api, tmp_path)

    quiet = tmp_path / "quiet.csv"
    status, err = await reports_cli(url, "export", "--out", str(quiet), "--no-progress")
    assert (status, quiet.read_bytes()) == (0, (tmp_path / "cases.csv").read_bytes())
    assert "3 cases opened" in err and "3/3" not in err

    out = tmp_path / "none.csv"
    status, err = await reports_cli(url, "export", "--out", str(out), "--reason", "nope")
    assert status == 2
    assert "unknown reason codes: nope" in err
    assert not out.exists()
