"""Ops reports on real PostgreSQL: response-time SLAs by dimension, root-cause trends, roles.

Case timestamps are set directly so every expected figure can be worked out by hand here.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.case_support import CaseDesk
from tests.role_support import REPORTING, as_role
from winback_shared.agents import Role


def reason(code: str) -> dict[str, Any]:
    return {"code": code, "label": code, "evidence": code, "method": "chosen_answer"}


async def set_times(desk: CaseDesk, case_id: int, opened_at: datetime, **offsets: float) -> None:
    """Place a case in time: opened at ``opened_at``, each other stamp ``seconds`` after it.

    Its contact deadline moves along with the opening, as a data fix must move it."""
    stamps = {name: opened_at + timedelta(seconds=s) for name, s in offsets.items()}
    received = stamps.pop("received_at", opened_at)
    await desk.pool.execute(
        "UPDATE survey_responses SET received_at = $2"
        " WHERE id = (SELECT survey_response_id FROM recovery_cases WHERE id = $1)",
        case_id,
        received,
    )
    await desk.pool.execute(
        """
        UPDATE recovery_cases
        SET opened_at = $2, contact_due_at = contact_due_at + ($2 - opened_at),
            alerted_at = $3, claimed_at = $4, first_attempt_at = $5,
            first_contact_at = $6, resolved_at = $7, root_cause = $8, status = $9,
            owner_id = (SELECT id FROM agents WHERE name = $10)
        WHERE id = $1
        """,
        case_id,
        opened_at,
        stamps.get("alerted_at"),
        stamps.get("claimed_at"),
        stamps.get("first_attempt_at"),
        stamps.get("first_contact_at"),
        stamps.get("resolved_at"),
        None,
        "open",
        None,
    )


async def own(desk: CaseDesk, case_id: int, agent: str, status: str = "claimed") -> None:
    await desk.pool.execute(
        "UPDATE recovery_cases SET owner_id = (SELECT id FROM agents WHERE name = $2),"
        " status = $3 WHERE id = $1",
        case_id,
        agent,
        status,
    )


@pytest.fixture
async def floor(case_desk: CaseDesk) -> dict[str, Any]:
    """Four cases in the last week and one before it, with hand-checkable timings."""
    tokens = {
        "sue": await case_desk.agent("sue", Role.SUPERVISOR, queues=[]),
        "ana": await case_desk.agent("ana", queues=["default", "billing"]),
        "root": await case_desk.agent("root", Role.ADMIN, queues=[]),
    }
    now = datetime.now(UTC)
    day_ago = now - timedelta(days=1)
    tried_in_time = await case_desk.case(priority=1)
    await set_times(
        case_desk,
        tried_in_time,
        day_ago,
        received_at=-2,
        alerted_at=1,
        claimed_at=60,
        first_attempt_at=300,
        first_contact_at=300,
    )
    await own(case_desk, tried_in_time, "ana", "contacted")
    tried_late = await case_desk.case(priority=1)
    await set_times(case_desk, tried_late, day_ago, claimed_at=120, first_attempt_at=900)
    await own(case_desk, tried_late, "ana", "contacted")
    overdue = await case_desk.case(
        priority=2, queue="billing", reasons=[reason("long_wait"), reason("billing_error")]
    )
    await set_times(case_desk, overdue, now - timedelta(minutes=30))
    fresh = await case_desk.case(priority=2, reasons=[])
    await set_times(case_desk, fresh, now - timedelta(minutes=1))
    old = await case_desk.case(priority=1)
    await set_times(case_desk, old, now - timedelta(days=10))
    return tokens


async def sla(desk: CaseDesk, token: str, by: str) -> dict[str, Any]:
    answer = await desk.call("GET", f"/api/ops/sla?by={by}", token)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


async def test_sla_by_priority_worked_out_by_hand(
    case_desk: CaseDesk, floor: dict[str, Any]
) -> None:
    report = await sla(case_desk, floor["sue"], "priority")

    assert report["targets_minutes"] == {"1": 10, "2": 15, "3": 60, "4": 240}
    rows = {row["key"]: row for row in report["rows"]}
    assert set(rows) == {"P1", "P2"}  # the 10-day-old case is outside the default week
    p1, p2 = rows["P1"], rows["P2"]
    assert (p1["cases"], p1["decided"], p1["within_target"], p1["overdue_now"]) == (2, 2, 1, 0)
    assert p1["within_target_share"] == 0.5
    assert p1["time_to_claim"] == {"p50": 90.0, "p90": 114.0}
    assert p1["time_to_first_attempt"]["p50"] == 600.0
    assert p1["time_to_first_contact"] == {"p50": 300.0, "p90": 300.0}
    assert p1["time_to_alert"] == {"p50": 3.0, "p90": 3.0}
    # One case overdue and never tried; one still inside its 15 minutes, so not yet decided.
    assert (p2["cases"], p2["decided"], p2["within_target"], p2["overdue_now"]) == (2, 1, 0, 1)
    assert p2["within_target_share"] == 0.0
    assert p2["time_to_claim"] == {"p50": None, "p90": None}

    total = report["total"]
    assert total["key"] == "all"
    assert (total["cases"], total["decided"], total["within_target"]) == (4, 3, 1)
    assert total["overdue_now"] == 1


async def test_sla_by_reason_counts_a_case_under_each_of_its_reasons(
    case_desk: CaseDesk, floor: dict[str, Any]
) -> None:
    report = await sla(case_desk, floor["root"], "reason")
    counts = {row["key"]: row["cases"] for row in report["rows"]}
    assert counts == {"product_knowledge": 2, "long_wait": 1, "billing_error": 1, "(none)": 1}
    assert report["total"]["cases"] == 4


async def test_sla_by_agent_and_by_queue(case_desk: CaseDesk, floor: dict[str, Any]) -> None:
    by_agent = await sla(case_desk, floor["sue"], "agent")
    assert {row["key"]: row["cases"] for row in by_agent["rows"]} == {"ana": 2, "(unclaimed)": 2}
    by_queue = await sla(case_desk, floor["sue"], "queue")
    assert {row["key"]: row["overdue_now"] for row in by_queue["rows"]} == {
        "billing": 1,
        "default": 0,
    }


async def test_an_explicit_window_takes_older_cases(
    case_desk: CaseDesk, floor: dict[str, Any]
) -> None:
    since = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    answer = await case_desk.call("GET", f"/api/ops/sla?since={since}", floor["sue"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"]["cases"] == 5


async def test_root_cause_trends_month_by_month(case_desk: CaseDesk) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    october = datetime(2026, 10, 5, 12, tzinfo=UTC)
    november = datetime(2026, 11, 3, 12, tzinfo=UTC)
    coded_right = await case_desk.case()  # coded product_knowledge
    await set_times(case_desk, coded_right, october, resolved_at=3600)
    coded_wrong = await case_desk.case()
    await set_times(case_desk, coded_wrong, october, resolved_at=40 * 86400)  # resolved in Nov
    still_open = await case_desk.case(reasons=[reason("long_wait"), reason("transferred")])
    await set_times(case_desk, still_open, november)
    for case_id, cause in ((coded_right, "product_knowledge"), (coded_wrong, "billing_error")):
        await case_desk.pool.execute(
            "UPDATE recovery_cases SET root_cause = $2, status = 'resolved' WHERE id = $1",
            case_id,
            cause,
        )

    answer = await case_desk.call(
        "GET", "/api/ops/root-causes?since=2026-09-01T00:00:00Z&until=2026-12-01T00:00:00Z", sue
    )

    assert answer.status_code == 200, answer.text
    months = {month["period"]: month for month in answer.json()["periods"]}
    assert list(months) == ["2026-09", "2026-10", "2026-11"]  # an empty month is a zero
    assert months["2026-09"]["root_causes"] == months["2026-09"]["coded_reasons"] == {}
    assert months["2026-09"]["agreement_share"] is None
    assert months["2026-10"]["starts"] == "2026-10-01"
    assert months["2026-10"]["agreement_share"] == 1.0
    assert months["2026-10"]["root_causes"] == {"product_knowledge": 1}
    assert months["2026-10"]["coded_reasons"] == {"product_knowledge": 2}
    assert months["2026-10"]["resolved_with_root_cause"] == 1
    assert months["2026-10"]["root_cause_was_coded"] == 1
    assert months["2026-11"]["root_causes"] == {"billing_error": 1}
    assert months["2026-11"]["root_cause_was_coded"] == 0
    assert months["2026-11"]["coded_reasons"] == {"long_wait": 1, "transferred": 1}


@pytest.mark.parametrize("path", ["/api/ops/sla", "/api/ops/root-causes"])
async def test_only_supervisors_and_admins_read_ops_reports(case_desk: CaseDesk, path: str) -> None:
    agent = await case_desk.agent("ana")
    anonymous = await case_desk.call("GET", path, None)
    assert anonymous.status_code == 401
    refused = await case_desk.call("GET", path, agent)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("by=team", "invalid_request"),
        ("since=yesterday", "invalid_request"),
        ("since=2026-11-20T00:00:00Z&until=2026-11-19T00:00:00Z", "invalid_window"),
        ("since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "invalid_window"),
    ],
)
async def test_bad_report_arguments_are_refused_clearly(
    case_desk: CaseDesk, query: str, code: str
) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    answer = await case_desk.call("GET", f"/api/ops/sla?{query}", sue)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code


async def ops_cli(database_url: str, *args: str) -> tuple[int, str, str]:
    """Run the ops CLI as a supervisor would, against this test's schema, as the read-only
    reporting role (docs/operations.md, "Database roles")."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "winback_notifier.reports",
        *args,
        env={**os.environ, "DATABASE_URL": as_role(database_url, REPORTING)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_cli_prints_the_same_figures_as_the_api(
    case_desk: CaseDesk, floor: dict[str, Any], infra_env: dict[str, Any]
) -> None:
    database_url = str(infra_env["database_url"])
    code, out, err = await ops_cli(database_url, "sla", "--by", "priority")
    assert code == 0, err
    lines = {
        line.split()[0]: line.split() for line in out.splitlines() if line[:2] in ("P1", "P2", "al")
    }
    assert lines["P1"][1] == "2" and lines["P1"][-2:] == ["50%", "0"]
    assert lines["P2"][-2:] == ["0%", "1"]
    assert lines["all"][1] == "4"

    code, out, err = await ops_cli(database_url, "sla", "--by", "reason", "--json")
    assert code == 0, err
    api = await sla(case_desk, floor["sue"], "reason")
    printed = json.loads(out)
    assert printed["rows"] == api["rows"]
    assert printed["total"]["cases"] == api["total"]["cases"] == 4

    code, out, err = await ops_cli(database_url, "root-causes", "--since", "2020-01-01")
    assert code == 0, err
    assert "no cases" not in out and "confirmed: -" in out  # cases, none resolved


async def test_the_cli_refuses_a_backwards_window(infra_env: dict[str, Any]) -> None:
    code, _, err = await ops_cli(
        str(infra_env["database_url"]), "sla", "--since", "2026-11-02", "--until", "2026-11-01"
    )
    assert code == 2 and "--since must be before --until" in err


async def test_within_target_uses_each_case_s_stored_deadline(case_desk: CaseDesk) -> None:
    """A deadline tightened by a raised priority (or pushed by business hours) is the one the
    report judges by, not today's target for the case's priority."""
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    opened = datetime.now(UTC) - timedelta(hours=1)
    tight = await case_desk.case(priority=2)
    await set_times(case_desk, tight, opened, first_attempt_at=300)  # 5 min: P2 says in time
    await case_desk.pool.execute(
        "UPDATE recovery_cases SET contact_due_at = opened_at + interval '2 minutes' WHERE id = $1",
        tight,
    )
    loose = await case_desk.case(priority=2)
    await set_times(case_desk, loose, opened, first_attempt_at=600)  # 10 min: in time either way
    await case_desk.pool.execute(
        "UPDATE recovery_cases SET contact_due_at = opened_at + interval '1 hour' WHERE id = $1",
        loose,
    )
    report = await sla(case_desk, sue, "priority")
    p2 = {row["key"]: row for row in report["rows"]}["P2"]
    assert (p2["decided"], p2["within_target"]) == (2, 1)  # today's P2 target would say 2
    by_case = await case_desk.pool.fetch(
        "SELECT id, first_attempt_at <= contact_due_at AS in_time FROM recovery_cases"
        " WHERE id = ANY($1::bigint[]) ORDER BY id",
        [tight, loose],
    )
    assert [row["in_time"] for row in by_case] == [False, True]


async def test_a_reopened_case_keeps_its_confirmed_root_cause_in_the_trends(
    case_desk: CaseDesk,
) -> None:
    """Reopening clears resolved_at; the cause an agent confirmed must still count."""
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ana = await case_desk.agent("ana")
    case_id = await case_desk.case()
    await case_desk.act(ana, case_id, "claim")
    await case_desk.act(ana, case_id, "attempts", {"channel": "phone", "reached": True})
    resolution = {
        "root_cause": "billing_error",
        "resolution": {"apology": True, "explanation": "", "process_change": ""},
        "customer_reaction": "satisfied",
        "note": "",
    }
    resolved = await case_desk.act(ana, case_id, "resolve", resolution)
    assert resolved.status_code == 200, resolved.text
    reopened = await case_desk.act(ana, case_id, "reopen", {"reason": "credit never arrived"})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["resolved_at"] is None

    answer = await case_desk.call("GET", "/api/ops/root-causes", sue)

    assert answer.status_code == 200, answer.text
    confirmed = [month["root_causes"] for month in answer.json()["periods"]]
    assert [causes for causes in confirmed if causes] == [{"billing_error": 1}]


async def test_the_api_and_the_cli_share_one_default_trend_window(
    case_desk: CaseDesk, infra_env: dict[str, Any]
) -> None:
    """A cause confirmed 368 days ago is outside both defaults; one 360 days ago inside both."""
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    now = datetime.now(UTC)
    for days, cause in ((368, "rude"), (360, "long_wait")):
        case_id = await case_desk.case()
        await case_desk.pool.execute(
            "UPDATE recovery_cases SET root_cause = $2, root_cause_at = $3, resolved_at = $3,"
            " status = 'resolved' WHERE id = $1",
            case_id,
            cause,
            now - timedelta(days=days),
        )

    api = await case_desk.call("GET", "/api/ops/root-causes", sue)
    code, out, err = await ops_cli(str(infra_env["database_url"]), "root-causes", "--json")

    assert api.status_code == 200 and code == 0, (api.text, err)
    for months in (api.json()["periods"], json.loads(out)["periods"]):
        causes = {code for month in months for code in month["root_causes"]}
        assert causes == {"long_wait"}


async def test_the_cli_shows_the_targets_the_router_recorded_not_its_own_defaults(
    case_desk: CaseDesk, infra_env: dict[str, Any]
) -> None:
    """A supervisor's shell has none of the services' settings; the report must still show the
    targets deadlines were stamped with, and say when they changed inside the window."""
    from winback_router.settings import RouterSettings
    from winback_shared.contact_policy_log import record_contact_policy

    async with case_desk.pool.acquire() as conn:
        first = RouterSettings(**infra_env, contact_target_minutes={1: 5, 2: 20, 3: 90, 4: 480})
        assert await record_contact_policy(conn, first, recorded_by="router")
        assert not await record_contact_policy(conn, first, recorded_by="router")  # unchanged
        await asyncio.sleep(0.01)
        second = RouterSettings(**infra_env, contact_target_minutes={1: 7.5, 2: 20, 3: 90, 4: 480})
        assert await record_contact_policy(conn, second, recorded_by="router")
    env_without_targets = {k: v for k, v in os.environ.items() if not k.startswith("WINBACK_")}

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "winback_notifier.reports",
        "sla",
        env={
            **env_without_targets,
            "DATABASE_URL": as_role(str(infra_env["database_url"]), REPORTING),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()

    assert process.returncode == 0, err.decode()
    text = out.decode()
    assert "contact targets: P1 7.5 min, P2 20 min, P3 90 min, P4 480 min" in text
    assert "P1 5 min, P2 20 min" in text  # the earlier policy, shown as a change in the window
    count = await case_desk.pool.fetchval("SELECT count(*) FROM contact_policies")
    assert count == 2


async def test_an_unknown_status_filter_is_refused(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    answer = await case_desk.call("GET", "/api/cases?status=bogus", ana)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    fine = await case_desk.call("GET", "/api/cases?status=resolved&status=open", ana)
    assert fine.status_code == 200, fine.text
