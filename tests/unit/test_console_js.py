"""The console's JavaScript, without a browser: the tests in ``tests/js/`` under Node's own
runner (the board reducer, the profile's rules), fed the ``hello`` the server really sends.

``tests/js/hello.json`` is that ``hello``, for an agent and a supervisor; a test here holds it
to :func:`build_profile`, so the JavaScript tests cannot pass against a contract the server no
longer keeps. Refresh it with ``WINBACK_UPDATE_JS_FIXTURES=1`` after changing the profile.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from winback_notifier.agents.profile import build_profile
from winback_notifier.live.socket import Hello
from winback_notifier.settings import NotifierSettings
from winback_shared.agents import Agent, Role
from winback_shared.taxonomy import ReasonCode, Taxonomy

REPO = Path(__file__).resolve().parents[2]
JS_TESTS = REPO / "tests" / "js"
HELLO_FIXTURE = JS_TESTS / "hello.json"
NODE_TIMEOUT_SECONDS = 60


def server_hellos() -> dict[str, Any]:
    """The ``hello`` an agent of queue ``default`` and a supervisor of no queue receive."""
    settings = NotifierSettings(  # as given, whatever the environment says
        unreachable_after_attempts=3,
        contact_target_minutes={1: 10, 2: 15, 3: 60, 4: 240},
        sla_warning_seconds=180,
    )
    taxonomy = Taxonomy(codes=[ReasonCode(id="long_wait", label="Long hold or wait")])
    agents = {
        "agent": Agent(1, "Ana", Role.AGENT, frozenset({"default"})),
        "supervisor": Agent(3, "Sue", Role.SUPERVISOR, frozenset()),
    }
    return {
        key: json.loads(Hello(agent=build_profile(agent, settings, taxonomy)).model_dump_json())
        for key, agent in agents.items()
    }


def test_the_hello_the_js_tests_use_is_the_one_the_server_sends() -> None:
    expected = server_hellos()
    if os.environ.get("WINBACK_UPDATE_JS_FIXTURES"):
        HELLO_FIXTURE.write_text(json.dumps(expected, indent=2) + "\n")
    assert json.loads(HELLO_FIXTURE.read_text()) == expected, (
        f"{HELLO_FIXTURE} is stale: rerun with WINBACK_UPDATE_JS_FIXTURES=1"
    )


def test_the_console_javascript_passes_its_tests() -> None:
    node = shutil.which("node")
    if node is None:
        message = "node is missing: the console's JavaScript tests (tests/js/) need Node.js 18+"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    files = sorted(str(path) for path in JS_TESTS.glob("*.test.js"))
    assert files, f"no JavaScript tests in {JS_TESTS}"
    result = subprocess.run(
        [node, "--test", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"


OPS_FIXTURE = JS_TESTS / "ops-reports.json"


def server_ops_reports() -> dict[str, Any]:
    """One of each report the ops page reads, as the API serialises it (the page's tests read
    these, so a renamed field fails here rather than on a supervisor's screen)."""
    from datetime import UTC, date, datetime

    from winback_notifier.reports.floor import CaseAtRisk, FloorNow, OpenCount
    from winback_notifier.reports.resolutions import ResolutionReport, ResolutionRow
    from winback_notifier.reports.service import (
        Durations,
        PeriodOfCauses,
        RootCauseTrends,
        SlaDimension,
        SlaReport,
        SlaRow,
        TrendGranularity,
    )

    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    since = datetime(2026, 11, 30, tzinfo=UTC)

    def sla_row(key: str, cases: int, attempt: float | None, target: float) -> SlaRow:
        some = Durations(p50=attempt, p90=None if attempt is None else attempt * 2)
        return SlaRow(
            key=key,
            cases=cases,
            time_to_alert=Durations(p50=0.4, p90=0.9),
            time_to_claim=some,
            time_to_first_attempt=some,
            time_to_first_contact=some,
            time_to_resolution=Durations(p50=None, p90=None),
            contact_target=Durations(p50=target, p90=target),
            decided=cases,
            within_target=cases - 1,
            within_target_share=round((cases - 1) / cases, 4),
            overdue_now=1,
        )

    floor = FloorNow(
        at=at,
        open_by_status_and_priority=[
            OpenCount(status="open", priority=1, cases=2),
            OpenCount(status="claimed", priority=1, cases=1),
            OpenCount(status="open", priority=2, cases=3),
        ],
        open_total=6,
        unclaimed=5,
        at_risk=1,
        breached_now=2,
        oldest_unclaimed_opened_at=datetime(2026, 11, 30, 8, 15, tzinfo=UTC),
        oldest_unclaimed_seconds=2700.0,
        consoles_connected_here=3,
        chase=[
            CaseAtRisk(
                case_id=41,
                state="breached",
                priority=1,
                queue="billing",
                status="open",
                owner=None,
                opened_at=datetime(2026, 11, 30, 8, 15, tzinfo=UTC),
                contact_due_at=datetime(2026, 11, 30, 8, 25, tzinfo=UTC),
                customer="Dana Whitfield",
            )
        ],
    )
    sla = SlaReport(
        since=since,
        until=at,
        by=SlaDimension.PRIORITY,
        targets_minutes={1: 10, 2: 15},
        policies=[],
        total=sla_row("all", 5, 420.0, 600.0),
        rows=[sla_row("P1", 2, 300.0, 600.0), sla_row("P2", 3, None, 900.0)],
    )
    trends = RootCauseTrends(
        since=since,
        until=at,
        by=TrendGranularity.WEEK,
        periods=[
            PeriodOfCauses(
                period="2026-W47",
                starts=date(2026, 11, 16),
                root_causes={"billing_error": 2, "rude": 1},
                coded_reasons={"billing_error": 3},
                resolved_with_root_cause=3,
                root_cause_was_coded=2,
                agreement_share=0.6667,
            ),
            PeriodOfCauses(
                period="2026-W48",
                starts=date(2026, 11, 23),
                root_causes={},
                coded_reasons={"long_wait": 1},
                resolved_with_root_cause=0,
                root_cause_was_coded=0,
                agreement_share=None,
            ),
        ],
    )
    row = ResolutionRow(
        key="billing_error",
        cases=2,
        apology=2,
        explanation=1,
        compensation=1,
        compensation_value={"EUR": 15.5, "USD": 20.0},
        process_change=0,
        reactions={"satisfied": 1, "dissatisfied": 1},
    )
    resolutions = ResolutionReport(
        since=since, until=at, total=row.model_copy(update={"key": "all"}), rows=[row]
    )
    from winback_notifier.staffing.forecast import Handling, forecast_queue
    from winback_notifier.staffing.service import QueueNow, StaffingReport

    # Monday 09:00 UTC: 16 P1 and 8 P3 cases over 4 weeks in billing; default is quiet.
    handling = Handling(busy_seconds=1200, prep_seconds=120, cases=40)
    billing = forecast_queue("billing", {(9, 1): 16, (9, 3): 8}, 4.0, handling, {1: 10, 3: 60})
    quiet = forecast_queue("default", {(9, 4): 2}, 4.0, handling, {1: 10, 3: 60})
    staffing = StaffingReport(
        since=datetime(2026, 10, 5, tzinfo=UTC),
        until=at,
        weeks=8.0,
        timezone="UTC",
        goal=0.95,
        priorities=[1, 2],
        targets_minutes={1: 10, 2: 15},
        at=at,
        hour_of_week=9,
        queues=[billing, quiet],
        now=[
            QueueNow(
                queue="billing",
                hour_of_week=9,
                agents_needed=billing.hours[9].agents,
                agents_connected=1,
                short_by=billing.hours[9].agents - 1,
                unclaimed=3,
            ),
            QueueNow(
                queue="default", hour_of_week=9, agents_needed=1, agents_connected=2, short_by=0
            ),
        ],
        understaffed=["billing"],
    )
    from datetime import timedelta

    from winback_notifier.outcomes.linking import Link
    from winback_notifier.outcomes.report import CaseFacts, outcome_report

    def facts(case_id: int, resolution: str, reaction: str, eur: float = 0) -> CaseFacts:
        return CaseFacts(
            case_id=case_id,
            resolved_at=since,
            queue="billing",
            agent="ana",
            reason="billing_error",
            resolution=resolution,
            first_contact="under 15 min" if case_id % 2 else "15 min or later",
            reaction=reaction,
            compensation={"EUR": eur} if eur else {},
        )

    def link(case_id: int, before: float, after: float) -> Link:
        return Link(
            case_id=case_id,
            response_id=100 + case_id,
            before=before,
            after=after,
            change=after - before,
            days=4.0,
            same_survey=case_id != 2,
            recovered=after >= 7 or after - before >= 3,
            re_complaint=after < 7,
            later_responses=0,
        )

    outcomes = outcome_report(
        [
            facts(1, "apology", "satisfied"),
            facts(2, "apology", "satisfied"),
            facts(3, "compensation", "neutral", eur=20),
            facts(4, "apology + compensation", "dissatisfied", eur=10),
        ],
        {1: link(1, 2, 9), 2: link(2, 1, 8), 3: link(3, 2, 3)},
        since=since,
        until=at,
        window=timedelta(days=90),
        gain=3.0,
    )
    return {
        name: json.loads(model.model_dump_json())
        for name, model in {
            "floor": floor,
            "sla": sla,
            "trends": trends,
            "resolutions": resolutions,
            "staffing": staffing,
            "outcomes": outcomes,
            "outcomes_empty": outcome_report(
                [], {}, since=since, until=at, window=timedelta(days=90), gain=3.0
            ),
        }.items()
    }


def test_the_reports_the_ops_page_tests_use_are_the_ones_the_api_sends() -> None:
    expected = server_ops_reports()
    if os.environ.get("WINBACK_UPDATE_JS_FIXTURES"):
        OPS_FIXTURE.write_text(json.dumps(expected, indent=2) + "\n")
    assert json.loads(OPS_FIXTURE.read_text()) == expected, (
        f"{OPS_FIXTURE} is stale: rerun with WINBACK_UPDATE_JS_FIXTURES=1"
    )
