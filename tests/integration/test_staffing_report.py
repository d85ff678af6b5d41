"""The staffing forecast on real PostgreSQL: arrivals by hour of week and handling times read
from the cases' history, the forecast for this hour against the agents connected, by API and CLI.

Every seeded case opens in the current hour of the week, one to four weeks ago, is claimed two
minutes after opening and resolved twenty minutes after the claim, so the expected figures come
from the pure forecast with inputs worked out here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.case_support import CaseDesk
from tests.integration.test_ops_reports import ops_cli
from winback_notifier.staffing.forecast import Handling, agents_needed
from winback_notifier.staffing.service import hour_of_week
from winback_shared.agents import Role
from winback_shared.deadlines import DEFAULT_CONTACT_TARGETS

PER_WEEK = 10
WEEKS_BACK = 4


async def seed_this_hour(desk: CaseDesk, now: datetime) -> None:
    """40 P1 cases in this hour of the week, spread over the four weeks before this one."""
    start = now.replace(minute=0, second=0, microsecond=0)
    for week in range(1, WEEKS_BACK + 1):
        for index in range(PER_WEEK):
            case_id = await desk.case(priority=1, name=f"Past customer {week}-{index}")
            opened = start - timedelta(weeks=week) + timedelta(minutes=index * 5)
            await desk.pool.execute(
                """
                UPDATE recovery_cases
                SET status = 'resolved', opened_at = $2,
                    claimed_at = $2::timestamptz + interval '2 minutes',
                    first_attempt_at = $2::timestamptz + interval '4 minutes',
                    resolved_at = $2::timestamptz + interval '22 minutes'
                WHERE id = $1
                """,
                case_id,
                opened,
            )


def expected_agents() -> int:
    # 40 cases over the default 8 weeks of history: 5 an hour; busy 20 min, prep 2 min.
    handling = Handling(busy_seconds=1200, prep_seconds=120, cases=PER_WEEK * WEEKS_BACK)
    agents, _ = agents_needed({1: 5.0}, handling, DEFAULT_CONTACT_TARGETS)
    return agents


async def test_forecast_and_the_agents_connected_now(case_desk: CaseDesk) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ana = await case_desk.agent("ana", queues=["default"])
    await case_desk.agent("ben", queues=["billing"])
    agent_token = ana
    now = datetime.now(UTC)
    await seed_this_hour(case_desk, now)
    async with case_desk.console(ana), case_desk.console(sue):
        answer = await case_desk.call("GET", "/api/ops/staffing", sue)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    hour = hour_of_week(datetime.fromisoformat(report["at"]), ZoneInfo("UTC"))
    if hour != hour_of_week(now, ZoneInfo("UTC")):
        return  # the clock crossed an hour mid-test: the seeded hour is no longer "now"
    (queue,) = report["queues"]
    assert queue["queue"] == "default"
    assert queue["busy_minutes"] == 20 and queue["prep_minutes"] == 2
    assert queue["handling_cases"] == 40 and queue["cases"] == 40
    this_hour = queue["hours"][hour]
    assert this_hour["arrivals_per_hour"] == 5.0
    assert this_hour["agents"] == expected_agents() >= 2
    assert this_hour["within_target"] >= 0.95
    assert queue["hours"][(hour + 1) % 168]["agents"] == 0
    # One agent's console on the queue; the supervisor's console does not count as staff.
    assert report["now"] == [
        {
            "queue": "default",
            "hour_of_week": hour,
            "agents_needed": expected_agents(),
            "agents_connected": 1,
            "short_by": expected_agents() - 1,
            "unclaimed": 0,
        }
    ]
    assert report["understaffed"] == ["default"]
    refused = await case_desk.call("GET", "/api/ops/staffing", agent_token)
    assert refused.status_code == 403


async def test_unclaimed_cases_need_an_agent_whatever_the_forecast(case_desk: CaseDesk) -> None:
    """A backlog nobody owns needs someone now, even in an hour history says needs nobody."""
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ana = await case_desk.agent("ana", queues=["default"])
    await case_desk.agent("ben", queues=["billing"])
    waiting = [await case_desk.case(queue="billing", name=f"Waiting {n}") for n in range(3)]
    claimed = await case_desk.case(queue="default", name="Taken")
    await case_desk.act(ana, claimed, "claim")
    await case_desk.pool.execute(  # history: none of these opened in an hour it forecasts
        "UPDATE recovery_cases SET opened_at = now() - interval '1 week 3 hours'"
        " WHERE id = ANY($1::bigint[])",
        [*waiting, claimed],
    )

    async with case_desk.console(sue):
        answer = await case_desk.call("GET", "/api/ops/staffing", sue)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    rows = {row["queue"]: row for row in report["now"]}
    assert rows["billing"]["agents_needed"] == 1 and rows["billing"]["unclaimed"] == 3
    assert rows["billing"]["agents_connected"] == 0 and rows["billing"]["short_by"] == 1
    assert rows["default"]["agents_needed"] == 0 and rows["default"]["unclaimed"] == 0
    assert report["understaffed"] == ["billing"]


async def test_cli_prints_the_week_grid(case_desk: CaseDesk, infra_env: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    await seed_this_hour(case_desk, now)
    code, out, err = await ops_cli(str(infra_env["database_url"]), "staffing")
    assert code == 0, err
    assert "default: 40 cases; busy 20 min a case" in out
    day = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[now.weekday()]
    row = next(line for line in out.splitlines() if line.startswith(day))
    cells = row.split()[1:]
    assert len(cells) == 24 and int(cells[now.hour]) in (expected_agents(), 0)
    code, out, err = await ops_cli(str(infra_env["database_url"]), "staffing", "--json")
    assert code == 0, err
    assert json.loads(out)["queues"][0]["handling_cases"] == 40
    code, _, err = await ops_cli(str(infra_env["database_url"]), "staffing", "--goal", "1.5")
    assert code == 2 and "--goal" in err
