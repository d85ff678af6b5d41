"""The ops page's figures on real PostgreSQL, against answers this test works out on its own.

Each test seeds a small floor whose cases are described as plain Python data, then computes
what the report must say from that description alone (percentiles by linear interpolation,
weeks by ``isocalendar``, sums per currency), never from the database: the query and the
expectation share nothing but the seed. Reopened cases, empty periods and a deadline pushed by
business hours are in the seeds because each once made a report wrong somewhere.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.case_support import CaseDesk
from tests.integration.test_ops_reports import ops_cli
from winback_shared.agents import Role
from winback_shared.business_hours import BusinessHours
from winback_shared.deadlines import ContactPolicy, contact_deadline

TARGET_MINUTES = {1: 10, 2: 15, 3: 60, 4: 240}  # the desk's default policy


def percentile(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's ``percentile_cont``, written out: linear between the two nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 3)


def reason(code: str) -> dict[str, Any]:
    return {"code": code, "label": code, "evidence": code, "method": "chosen_answer"}


@dataclass
class Seed:
    """One case as the test describes it; times in seconds after ``opened``."""

    priority: int
    queue: str
    codes: tuple[str, ...]
    opened: datetime
    claim: float | None = None
    attempt: float | None = None
    contact: float | None = None
    resolved: float | None = None
    reopened: bool = False
    """Resolved at ``resolved``, then reopened: ``resolved_at`` is empty again."""
    owner: str | None = None
    due: datetime | None = None
    """The stored deadline, when not the policy's minutes (business hours)."""

    @property
    def due_at(self) -> datetime:
        return self.due or self.opened + timedelta(minutes=TARGET_MINUTES[self.priority])


async def place(desk: CaseDesk, seed: Seed) -> int:
    """Open the seed's case as the router would, then set its stamps as its history would."""
    case_id = await desk.case(
        priority=seed.priority, queue=seed.queue, reasons=[reason(c) for c in seed.codes]
    )

    def at(offset: float | None) -> datetime | None:
        return None if offset is None else seed.opened + timedelta(seconds=offset)

    resolved_at = None if seed.reopened else at(seed.resolved)
    status = (
        "reopened"
        if seed.reopened
        else "resolved"
        if seed.resolved is not None
        else "contacted"
        if seed.contact is not None
        else "claimed"
        if seed.claim is not None
        else "open"
    )
    await desk.pool.execute(
        "UPDATE survey_responses SET received_at = $2"
        " WHERE id = (SELECT survey_response_id FROM recovery_cases WHERE id = $1)",
        case_id,
        seed.opened - timedelta(seconds=2),
    )
    await desk.pool.execute(
        """
        UPDATE recovery_cases
        SET opened_at = $2, contact_due_at = $3, alerted_at = $2::timestamptz + interval '1 second',
            claimed_at = $4, first_attempt_at = $5, first_contact_at = $6, resolved_at = $7,
            status = $8, owner_id = (SELECT id FROM agents WHERE name = $9),
            root_cause = CASE WHEN $10 THEN 'rude' END,
            root_cause_at = CASE WHEN $10 THEN $11::timestamptz END
        WHERE id = $1
        """,
        case_id,
        seed.opened,
        seed.due_at,
        at(seed.claim),
        at(seed.attempt),
        at(seed.contact),
        resolved_at,
        status,
        seed.owner,
        seed.resolved is not None,
        at(seed.resolved),
    )
    return case_id


async def report(desk: CaseDesk, token: str, path: str) -> dict[str, Any]:
    answer = await desk.call("GET", path, token)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- SLA: time to resolution, each case's own target, business hours -------------------------


async def test_sla_times_including_resolution_match_an_independent_computation(
    case_desk: CaseDesk,
) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    await case_desk.agent("ana", queues=["default", "billing"])
    start = datetime(2026, 6, 1, 8, tzinfo=UTC)  # a Monday, long past: every case is decided
    # A Friday evening case under Mon-Fri 09-18 (UTC) hours: the router's deadline is Monday.
    hours = BusinessHours(
        timezone="UTC", hours={d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    friday = datetime(2026, 6, 5, 17, 55, tzinfo=UTC)
    monday_deadline = contact_deadline(ContactPolicy(hours=hours), friday, 1)
    assert monday_deadline == datetime(2026, 6, 8, 9, 5, tzinfo=UTC)  # 5 min Fri + 5 min Mon
    seeds = [
        Seed(
            1,
            "default",
            ("long_wait",),
            start,
            claim=30,
            attempt=240,
            contact=240,
            resolved=3600,
            owner="ana",
        ),
        Seed(
            1,
            "default",
            ("long_wait", "rude"),
            start + timedelta(hours=1),
            claim=90,
            attempt=900,
            contact=1500,
            resolved=7200,
            owner="ana",
        ),
        # Resolved after 2 h, then reopened: no time to resolution until resolved again.
        Seed(
            1,
            "billing",
            ("billing_error",),
            start + timedelta(hours=2),
            claim=60,
            attempt=300,
            contact=300,
            resolved=7200,
            reopened=True,
            owner="ana",
        ),
        Seed(
            2,
            "billing",
            ("billing_error",),
            start + timedelta(hours=3),
            claim=600,
            attempt=1200,
            owner="ana",
        ),
        Seed(2, "default", (), start + timedelta(hours=4)),  # never touched: overdue
        Seed(
            1,
            "default",
            ("rude",),
            friday,
            claim=62 * 3600,
            attempt=63 * 3600 + 480,
            resolved=64 * 3600,
            owner="ana",
            due=monday_deadline,
        ),
    ]
    for seed in seeds:
        await place(case_desk, seed)
    window = f"since={iso(start)}&until={iso(start + timedelta(days=7))}"

    by_priority = await report(case_desk, sue, f"/api/ops/sla?by=priority&{window}")

    rows = {row["key"]: row for row in by_priority["rows"]}
    assert set(rows) == {"P1", "P2"}
    for priority in (1, 2):
        group = [s for s in seeds if s.priority == priority]
        row = rows[f"P{priority}"]
        resolution = [s.resolved for s in group if s.resolved is not None and not s.reopened]
        claim = [s.claim for s in group if s.claim is not None]
        attempt = [s.attempt for s in group if s.attempt is not None]
        targets = [(s.due_at - s.opened).total_seconds() for s in group]
        assert row["cases"] == len(group)
        assert row["time_to_resolution"] == {
            "p50": percentile(resolution, 0.5),
            "p90": percentile(resolution, 0.9),
        }
        assert row["time_to_claim"] == {
            "p50": percentile(claim, 0.5),
            "p90": percentile(claim, 0.9),
        }
        assert row["time_to_first_attempt"]["p90"] == percentile(attempt, 0.9)
        assert row["contact_target"] == {
            "p50": percentile(targets, 0.5),
            "p90": percentile(targets, 0.9),
        }
        in_time = [
            s
            for s in group
            if s.attempt is not None and s.opened + timedelta(seconds=s.attempt) <= s.due_at
        ]
        assert row["within_target"] == len(in_time)
        assert row["decided"] == len(group)  # all tried or long past their deadline
    # The Friday case was tried 63 h after opening, yet before its business-hours deadline.
    assert rows["P1"]["within_target"] == 3
    assert rows["P2"]["time_to_resolution"] == {"p50": None, "p90": None}  # an empty group

    by_reason = await report(case_desk, sue, f"/api/ops/sla?by=reason&{window}")
    counts = Counter(code for s in seeds for code in (s.codes or ("(none)",)))
    assert {row["key"]: row["cases"] for row in by_reason["rows"]} == dict(counts)
    assert by_reason["total"]["cases"] == len(seeds)

    empty = await report(
        case_desk, sue, "/api/ops/sla?since=2026-05-01T00:00:00Z&until=2026-05-08T00:00:00Z"
    )
    assert empty["rows"] == [] and empty["total"]["cases"] == 0
    assert empty["total"]["time_to_resolution"] == {"p50": None, "p90": None}


# ---- root causes by week ----------------------------------------------------------------------


async def test_root_causes_by_week_list_every_week_and_the_share_that_agreed(
    case_desk: CaseDesk,
) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ana = await case_desk.agent("ana")
    since = datetime(2026, 3, 4, tzinfo=UTC)  # a Wednesday: its week starts on Monday the 2nd
    until = datetime(2026, 4, 1, tzinfo=UTC)
    # (opened, codes, confirmed root cause, days from opening to confirming it)
    plan: list[tuple[datetime, tuple[str, ...], str | None, int]] = [
        (datetime(2026, 3, 4, 10, tzinfo=UTC), ("long_wait",), "long_wait", 1),
        (datetime(2026, 3, 5, 10, tzinfo=UTC), ("long_wait", "rude"), "billing_error", 8),
        (datetime(2026, 3, 20, 10, tzinfo=UTC), ("rude",), "rude", 0),
        (datetime(2026, 3, 20, 11, tzinfo=UTC), ("transferred",), None, 0),
        (datetime(2026, 2, 20, 11, tzinfo=UTC), ("rude",), "rude", 0),  # before the window
    ]
    for opened, codes, cause, days in plan:
        case_id = await case_desk.case(reasons=[reason(c) for c in codes])
        await case_desk.pool.execute(
            "UPDATE recovery_cases SET opened_at = $2::timestamptz, root_cause = $3,"
            " root_cause_at = CASE WHEN $3::text IS NULL THEN NULL"
            " ELSE $2::timestamptz + $4::interval END WHERE id = $1",
            case_id,
            opened,
            cause,
            timedelta(days=days),
        )
    # One more confirmed through the API and reopened: its cause stays in the week it was given.
    reopened = await case_desk.case(reasons=[reason("billing_error")])
    await case_desk.act(ana, reopened, "claim")
    await case_desk.act(ana, reopened, "attempts", {"channel": "phone", "reached": True})
    await case_desk.act(
        ana,
        reopened,
        "resolve",
        {
            "root_cause": "billing_error",
            "resolution": {"apology": True},
            "customer_reaction": "neutral",
        },
    )
    assert (await case_desk.act(ana, reopened, "reopen", {"reason": "again"})).status_code == 200
    given = datetime(2026, 3, 18, 9, tzinfo=UTC)
    await case_desk.pool.execute(
        "UPDATE recovery_cases SET opened_at = $2::timestamptz - interval '1 hour',"
        " root_cause_at = $2 WHERE id = $1",
        reopened,
        given,
    )
    plan.append((given - timedelta(hours=1), ("billing_error",), "billing_error", 0))

    def week(moment: datetime) -> str:
        year, number, _ = moment.isocalendar()
        return f"{year}-W{number:02d}"

    expected_weeks = []
    day = since.date() - timedelta(days=since.weekday())
    while day < until.date():
        expected_weeks.append(week(datetime(day.year, day.month, day.day)))
        day += timedelta(days=7)
    causes: dict[str, Counter[str]] = defaultdict(Counter)
    agreed: Counter[str] = Counter()
    coded: dict[str, Counter[str]] = defaultdict(Counter)
    for opened, codes, cause, days in plan:
        if since <= opened < until:
            for code in codes:
                coded[week(opened)][code] += 1
        confirmed = opened + timedelta(days=days)
        if cause and since <= confirmed < until:
            causes[week(confirmed)][cause] += 1
            agreed[week(confirmed)] += cause in codes

    trends = await report(
        case_desk,
        sue,
        f"/api/ops/root-causes?granularity=week&since={iso(since)}&until={iso(until)}",
    )

    assert trends["by"] == "week"
    periods = {p["period"]: p for p in trends["periods"]}
    assert (
        list(periods)
        == expected_weeks
        == ["2026-W10", "2026-W11", "2026-W12", "2026-W13", "2026-W14"]
    )
    assert periods["2026-W10"]["starts"] == date(2026, 3, 2).isoformat()
    for name, period in periods.items():
        assert period["root_causes"] == dict(causes[name]), name
        assert period["coded_reasons"] == dict(coded[name]), name
        resolved = sum(causes[name].values())
        assert period["resolved_with_root_cause"] == resolved
        assert period["root_cause_was_coded"] == agreed[name]
        assert period["agreement_share"] == (
            round(agreed[name] / resolved, 4) if resolved else None
        )
    assert periods["2026-W14"]["root_causes"] == {} and periods["2026-W14"]["coded_reasons"] == {}

    monthly = await report(
        case_desk, sue, f"/api/ops/root-causes?since={iso(since)}&until={iso(until)}"
    )
    assert monthly["by"] == "month" and [p["period"] for p in monthly["periods"]] == ["2026-03"]


# ---- resolutions by reason ---------------------------------------------------------------------


async def test_resolutions_by_root_cause_with_compensation_per_currency(
    case_desk: CaseDesk,
) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ana = await case_desk.agent("ana")
    offers: list[tuple[str, dict[str, Any], str]] = [
        (
            "product_knowledge",
            {"apology": True, "compensation": {"value": 10, "currency": "EUR"}},
            "satisfied",
        ),
        (
            "product_knowledge",
            {
                "explanation": "Walked through the plan",
                "compensation": {"value": 5.5, "currency": "EUR"},
            },
            "neutral",
        ),
        ("product_knowledge", {"explanation": "   ", "process_change": "Wiki page"}, "satisfied"),
        (
            "billing_error",
            {"compensation": {"kind": "refund", "value": 20, "currency": "USD"}, "apology": True},
            "dissatisfied",
        ),
    ]
    for cause, resolution, reaction in offers:
        case_id = await case_desk.case()
        await case_desk.act(ana, case_id, "claim")
        await case_desk.act(ana, case_id, "attempts", {"channel": "phone", "reached": True})
        answer = await case_desk.act(
            ana,
            case_id,
            "resolve",
            {"root_cause": cause, "resolution": resolution, "customer_reaction": reaction},
        )
        assert answer.status_code == 200, answer.text
    # Reopened and resolved again: counted once, with the second offer only.
    again = await case_desk.case()
    await case_desk.act(ana, again, "claim")
    await case_desk.act(ana, again, "attempts", {"channel": "phone", "reached": True})
    first = {"compensation": {"value": 99, "currency": "USD"}}
    await case_desk.act(
        ana,
        again,
        "resolve",
        {"root_cause": "billing_error", "resolution": first, "customer_reaction": "dissatisfied"},
    )
    await case_desk.act(ana, again, "reopen", {"reason": "refund bounced"})
    await case_desk.act(ana, again, "claim")
    await case_desk.act(ana, again, "attempts", {"channel": "phone", "reached": True})
    second = {"apology": True, "compensation": {"value": 7.25, "currency": "USD"}}
    answer = await case_desk.act(
        ana,
        again,
        "resolve",
        {"root_cause": "billing_error", "resolution": second, "customer_reaction": "satisfied"},
    )
    assert answer.status_code == 200, answer.text
    offers.append(("billing_error", second, "satisfied"))
    # Resolved 40 days ago: outside the default 30-day window.
    old = await case_desk.case()
    await case_desk.pool.execute(
        "UPDATE recovery_cases SET status = 'resolved', root_cause = 'rude',"
        " resolution = '{\"apology\": true}', customer_reaction = 'satisfied',"
        " resolved_at = now() - interval '40 days', root_cause_at = now() - interval '40 days'"
        " WHERE id = $1",
        old,
    )

    def expected(rows: list[tuple[str, dict[str, Any], str]], key: str) -> dict[str, Any]:
        values: dict[str, float] = defaultdict(float)
        for _, offer, _ in rows:
            if offer.get("compensation"):
                values[offer["compensation"]["currency"]] += offer["compensation"]["value"]
        return {
            "key": key,
            "cases": len(rows),
            "apology": sum(bool(o.get("apology")) for _, o, _ in rows),
            "explanation": sum(bool((o.get("explanation") or "").strip()) for _, o, _ in rows),
            "compensation": sum("compensation" in o for _, o, _ in rows),
            "compensation_value": dict(values),
            "process_change": sum(
                bool((o.get("process_change") or "").strip()) for _, o, _ in rows
            ),
            "reactions": dict(Counter(r for _, _, r in rows)),
        }

    given = await report(case_desk, sue, "/api/ops/resolutions")

    by_cause = {row["key"]: row for row in given["rows"]}
    assert list(by_cause) == ["product_knowledge", "billing_error"]  # most cases first
    for cause in by_cause:
        assert by_cause[cause] == expected([o for o in offers if o[0] == cause], cause)
    assert given["total"] == expected(offers, "all")
    assert given["total"]["compensation_value"] == {"EUR": 15.5, "USD": 27.25}

    nothing = await report(
        case_desk, sue, "/api/ops/resolutions?since=2020-01-01T00:00:00Z&until=2020-02-01T00:00:00Z"
    )
    assert nothing["rows"] == [] and nothing["total"]["cases"] == 0


# ---- the floor now ------------------------------------------------------------------------------


async def test_the_floor_tiles_and_chase_list(case_desk: CaseDesk) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    await case_desk.agent("ana")
    now = datetime.now(UTC)
    # (priority, status, owned, opened minutes ago, deadline minutes from now, warned, tried)
    plan = [
        (1, "open", False, 30, -20, True, False),  # breached, unclaimed, the oldest unclaimed
        (1, "claimed", True, 12, -2, True, False),  # breached though owned
        (2, "claimed", True, 13, 2, True, False),  # at risk
        (2, "open", False, 5, 10, True, False),  # at risk, unclaimed
        (3, "open", False, 3, 57, False, False),  # fine
        (1, "contacted", True, 40, -30, True, True),  # tried late: no longer to chase
        (2, "resolved", True, 90, -75, True, True),  # finished: not on the floor
    ]
    ids: list[int] = []
    for priority, status, owned, ago, due_in, warned, tried in plan:
        case_id = await case_desk.case(priority=priority, name=f"Customer {len(ids)}")
        await case_desk.pool.execute(
            "UPDATE recovery_cases SET status = $2, opened_at = $3, contact_due_at = $4,"
            " owner_id = CASE WHEN $5 THEN (SELECT id FROM agents WHERE name = 'ana') END,"
            " sla_warned_at = CASE WHEN $6 THEN $4::timestamptz - interval '3 minutes' END,"
            " first_attempt_at = CASE WHEN $7 THEN $4 END WHERE id = $1",
            case_id,
            status,
            now - timedelta(minutes=ago),
            now + timedelta(minutes=due_in),
            owned,
            warned,
            tried,
        )
        ids.append(case_id)
    live = [p for p in plan if p[1] != "resolved"]

    async with case_desk.console(sue):
        floor = await report(case_desk, sue, "/api/ops/floor")

    assert floor["open_total"] == len(live)
    assert floor["unclaimed"] == sum(not p[2] for p in live)
    breached = [ids[i] for i, p in enumerate(plan) if p in live and not p[6] and p[4] < 0]
    at_risk = [ids[i] for i, p in enumerate(plan) if p in live and not p[6] and p[4] >= 0 and p[5]]
    assert floor["breached_now"] == len(breached) == 2
    assert floor["at_risk"] == len(at_risk) == 2
    assert [c["case_id"] for c in floor["chase"]] == breached + at_risk  # most overdue first
    assert [c["state"] for c in floor["chase"]] == ["breached"] * 2 + ["at_risk"] * 2
    assert floor["chase"][0]["customer"] == "Customer 0"
    oldest = max(p[3] for p in live if not p[2])
    assert floor["oldest_unclaimed_seconds"] == pytest.approx(oldest * 60, abs=30)
    counts = Counter((p[1], p[0]) for p in live)
    assert {
        (c["status"], c["priority"]): c["cases"] for c in floor["open_by_status_and_priority"]
    } == dict(counts)
    assert floor["consoles_connected_here"] == 1  # the supervisor's console above


# ---- who may read them, and the CLI --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/ops/floor", "/api/ops/resolutions"])
async def test_agents_may_not_read_the_ops_page_s_data(case_desk: CaseDesk, path: str) -> None:
    agent = await case_desk.agent("ana")
    admin = await case_desk.agent("root", Role.ADMIN, queues=[])
    assert (await case_desk.call("GET", path, None)).status_code == 401
    refused = await case_desk.call("GET", path, agent)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert (await case_desk.call("GET", path, admin)).status_code == 200


async def test_an_unknown_granularity_is_refused(case_desk: CaseDesk) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    answer = await case_desk.call("GET", "/api/ops/root-causes?granularity=day", sue)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_request"


async def test_the_cli_prints_the_api_s_weekly_trends_and_resolutions(
    case_desk: CaseDesk, infra_env: dict[str, Any]
) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ana = await case_desk.agent("ana")
    case_id = await case_desk.case()
    await case_desk.act(ana, case_id, "claim")
    await case_desk.act(ana, case_id, "attempts", {"channel": "phone", "reached": True})
    body = {
        "root_cause": "product_knowledge",
        "resolution": {"compensation": {"value": 12.5, "currency": "GBP"}},
        "customer_reaction": "satisfied",
    }
    assert (await case_desk.act(ana, case_id, "resolve", body)).status_code == 200
    url = str(infra_env["database_url"])
    window = (
        "--since",
        iso(datetime.now(UTC) - timedelta(days=30)),
        "--until",
        iso(datetime.now(UTC) + timedelta(minutes=1)),
    )

    code, out, err = await ops_cli(url, "resolutions", *window, "--json")
    assert code == 0, err
    api = await report(case_desk, sue, f"/api/ops/resolutions?since={window[1]}&until={window[3]}")
    assert json.loads(out)["rows"] == api["rows"]
    code, out, err = await ops_cli(url, "resolutions")
    assert code == 0, err
    line = next(line for line in out.splitlines() if line.startswith("product_knowledge"))
    assert "12.50 GBP" in line and "satisfied 1" in line

    code, out, err = await ops_cli(url, "root-causes", "--by", "week", *window, "--json")
    assert code == 0, err
    trends = await report(
        case_desk,
        sue,
        f"/api/ops/root-causes?granularity=week&since={window[1]}&until={window[3]}",
    )
    assert json.loads(out)["periods"] == trends["periods"]
    code, out, err = await ops_cli(url, "root-causes", "--by", "week", *window)
    assert code == 0, err
    assert "(UTC weeks)" in out and "1/1 matched the coding" in out
