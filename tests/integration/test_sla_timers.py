"""SLA timers on real Kafka and PostgreSQL: deadlines stored per case, warnings, breaches and
claim lapses fired on time, exactly once across notifiers, and pushed to consoles.

Targets are a few seconds (fractions of a minute) so the timers fire within a test; the only
timing checks are that a timer never fires early and fires within a generous margin.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.case_support import CaseDesk, Console, publish_opened, running_desk
from tests.role_support import ROUTER, service_env
from tests.support import eventually, loopback_client, serve
from winback_ingest.app import create_app as create_ingest_app
from winback_ingest.settings import IngestSettings
from winback_local.signing import sample_response, signed_request
from winback_router.app import create_app as create_router_app
from winback_router.decision import Decision
from winback_router.revisions import content_digest
from winback_router.settings import RouterSettings
from winback_router.store import load_response, revise_response
from winback_shared.agents import Role
from winback_shared.business_hours import WEEKDAYS, BusinessHours
from winback_shared.db import create_pool
from winback_shared.deadlines import contact_deadline

FAST = {
    "contact_target_minutes": {1: 0.1, 2: 15, 3: 60, 4: 240},  # P1: 6 seconds
    "sla_warning_seconds": 3.0,
}
SLA_KINDS = ("sla_warning", "sla_breached", "claim_lapsed")
LATE_MARGIN = timedelta(seconds=5)
"""Generous: on a loaded two-core machine a timer fires within a few ms to a second."""


async def open_case(desk: CaseDesk, infra_env: dict[str, Any], **case: Any) -> int:
    """A case opened as the router does: stored, then announced on ``recovery-alerts``."""
    case_id = await desk.case(**case)
    await publish_opened(
        desk,
        str(infra_env["kafka_bootstrap_servers"]),
        infra_env["topics"].recovery_alerts,
        case_id,
    )
    return case_id


async def sla_history(desk: CaseDesk, case_id: int) -> list[dict[str, Any]]:
    rows = await desk.pool.fetch(
        "SELECT seq, kind, actor, actor_id, occurred_at, data FROM case_history"
        " WHERE case_id = $1 AND kind = ANY($2::text[]) ORDER BY seq",
        case_id,
        list(SLA_KINDS),
    )
    return [dict(row) for row in rows]


async def next_sla_change(console: Console, case_id: int, timeout: float = 20) -> dict[str, Any]:
    """The next timer's ``case.changed`` for the case, skipping everything else."""
    async with asyncio.timeout(timeout):
        while True:
            message = await console.next(timeout)
            if (
                message.get("type") == "case.changed"
                and message["case"]["case_id"] == case_id
                and message["change"]["kind"] in SLA_KINDS
            ):
                return message


async def revise_to(desk: CaseDesk, case_id: int, priority: int) -> None:
    """Store a later delivery of the case's response whose coding decided ``priority``, through
    the router's own ``revise_response`` (with the desk's contact policy)."""
    async with desk.pool.acquire() as conn, conn.transaction():
        key = await conn.fetchrow(
            "SELECT source, response_id FROM case_summaries WHERE case_id = $1", case_id
        )
        assert key is not None
        stored = await load_response(conn, key["source"], key["response_id"])
        assert stored is not None
        merged = stored.response.model_copy(update={"comment": f"Now it is P{priority}."})
        await revise_response(
            conn,
            stored,
            merged,
            content_digest(merged),
            [],
            Decision(needs_recovery=True, priority=priority, triggers=()),
            contact_policy=desk.contact_policy,
        )


async def test_a_new_case_gets_its_deadline_and_a_raised_priority_tightens_it(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env, contact_target_minutes={1: 1, 2: 2, 3: 30, 4: 60}) as desk:
        case_id = await desk.case(priority=3)
        row = await desk.pool.fetchrow(
            "SELECT opened_at, contact_due_at FROM recovery_cases WHERE id = $1", case_id
        )
        assert row is not None
        assert row["contact_due_at"] - row["opened_at"] == timedelta(minutes=30)
        card = await desk.pool.fetchrow(
            "SELECT contact_due_at FROM case_summaries WHERE case_id = $1", case_id
        )
        assert card is not None and card["contact_due_at"] == row["contact_due_at"]

        async def due_after(priority: int) -> timedelta:
            """A revision deciding ``priority``, applied as the router applies it."""
            await revise_to(desk, case_id, priority)
            due = await desk.pool.fetchval(
                "SELECT contact_due_at FROM recovery_cases WHERE id = $1", case_id
            )
            return due - row["opened_at"]  # type: ignore[no-any-return]

        assert await due_after(2) == timedelta(minutes=2)  # raised: tighter
        assert await due_after(4) == timedelta(minutes=2)  # lowered: never looser
        assert await due_after(1) == timedelta(minutes=1)


async def test_with_business_hours_a_deadline_counts_only_opening_hours(
    infra_env: dict[str, Any],
) -> None:
    day_after_tomorrow = (datetime.now(UTC) + timedelta(days=2)).date()
    hours = {"timezone": "UTC", "hours": {WEEKDAYS[day_after_tomorrow.weekday()]: ["10:00-18:00"]}}
    async with running_desk(infra_env, business_hours=hours) as desk:
        case_id = await desk.case(priority=1)
        due = await desk.pool.fetchval(
            "SELECT contact_due_at FROM recovery_cases WHERE id = $1", case_id
        )
    assert due == datetime.combine(day_after_tomorrow, datetime.min.time(), UTC) + timedelta(
        hours=10, minutes=10
    )
    async with running_desk(infra_env) as desk:  # hours unset again: the wall clock
        case_id = await desk.case(priority=1)
        row = await desk.pool.fetchrow(
            "SELECT opened_at, contact_due_at FROM recovery_cases WHERE id = $1", case_id
        )
        assert row is not None
        assert row["contact_due_at"] - row["opened_at"] == timedelta(minutes=10)


async def test_a_router_alone_stamps_deadlines_from_its_own_settings(
    infra_env: dict[str, Any], ingest_settings: IngestSettings, source_secret: str, unique: str
) -> None:
    """No notifier ever ran on this schema: the router's own settings are all a deadline needs,
    on opening and when a revision raises the priority."""
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    settings = RouterSettings(
        **await service_env(infra_env, ROUTER),  # type: ignore[arg-type]
        router_group=f"router-{unique}",
        sources=ingest_settings.sources,
        contact_target_minutes={1: 7, 2: 11, 3: 60, 4: 240},
        business_hours=BusinessHours(
            timezone="UTC", hours={WEEKDAYS[day.weekday()]: ["10:00-18:00"]}
        ),
    )
    opening = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10)
    failures: list[BaseException] = []
    pool = await create_pool(str(infra_env["database_url"]), min_size=1, max_size=2)
    try:
        async with (
            serve(create_router_app(settings, failures.append)),
            serve(create_ingest_app(ingest_settings)) as ingest_url,
            loopback_client(timeout=15) as http,
        ):

            async def post(payload: dict[str, Any]) -> None:
                body, headers = signed_request(source_secret, payload)
                answer = await http.post(
                    f"{ingest_url}/webhooks/survey", content=body, headers=headers
                )
                assert answer.status_code == 202, answer.text

            async def case(seq: int) -> Any:
                return await eventually(
                    lambda: pool.fetchrow(
                        "SELECT priority, opened_at, contact_due_at FROM recovery_cases"
                        " WHERE seq = $1",
                        seq,
                    )
                )

            first = sample_response(nps=5, reasons=[])  # a bad score, not severe: P2
            await post(first)
            opened = await case(1)
            assert opened is not None, "the router opened no case"
            assert opened["priority"] == 2
            assert opened["contact_due_at"] == opening + timedelta(minutes=11)
            policy = settings.contact_policy()
            assert opened["contact_due_at"] == contact_deadline(policy, opened["opened_at"], 2)

            await post({**first, "scores": [{"kind": "nps", "value": 1}]})  # severe now: P1
            raised = await case(2)
            assert raised is not None, "the router never revised the case"
            assert raised["priority"] == 1
            assert raised["contact_due_at"] == opening + timedelta(minutes=7)
        assert await pool.fetchval("SELECT to_regclass('sla_targets')") is None
    finally:
        await pool.close()
    assert failures == []


async def test_a_notifier_gives_open_cases_without_a_deadline_theirs_at_start(
    infra_env: dict[str, Any],
) -> None:
    """A case stored without a deadline (before deadlines existed, or by an older router during
    an upgrade) gets it from its opening time when a notifier starts; finished cases do not."""
    async with running_desk(infra_env) as desk:
        lacking = await desk.case(priority=2)
        finished = await desk.case(priority=2)
        await desk.pool.execute(
            "UPDATE recovery_cases SET contact_due_at = NULL, opened_at = opened_at - interval '1h'"
        )
        await desk.pool.execute(
            "UPDATE recovery_cases SET status = 'closed' WHERE id = $1", finished
        )
    async with running_desk(infra_env, contact_target_minutes={1: 1, 2: 20, 3: 30, 4: 60}) as desk:
        rows = {
            row["id"]: row
            for row in await desk.pool.fetch(
                "SELECT id, opened_at, contact_due_at FROM recovery_cases"
            )
        }
    assert rows[lacking]["contact_due_at"] == rows[lacking]["opened_at"] + timedelta(minutes=20)
    assert rows[finished]["contact_due_at"] is None


async def test_an_untried_case_warns_once_then_breaches_once_on_time(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env, **FAST) as desk:
        ana = await desk.agent("ana")
        bill = await desk.agent("bill", queues=["billing"])
        sue = await desk.agent("sue", Role.SUPERVISOR, queues=[])
        async with desk.console(ana) as ana_console, desk.console(sue) as sue_console:
            async with desk.console(bill) as bill_console:
                case_id = await open_case(desk, infra_env)
                for console in (ana_console, sue_console):
                    warning = await next_sla_change(console, case_id)
                    assert warning["change"]["kind"] == "sla_warning"
                    assert warning["change"]["actor"] == "sla"
                    assert warning["case"]["sla_warned_at"] is not None
                    assert warning["case"]["sla_breached_at"] is None
                    breach = await next_sla_change(console, case_id)
                    assert breach["change"]["kind"] == "sla_breached"
                    assert breach["case"]["sla_breached_at"] is not None
                    assert breach["case"]["status"] == "open"
                    assert breach["case"]["seq"] == warning["case"]["seq"] + 1
                await bill_console.nothing_for(0.5)
            await asyncio.sleep(1.0)  # nothing more may fire
            entries = await sla_history(desk, case_id)
            due = await desk.pool.fetchval(
                "SELECT contact_due_at FROM recovery_cases WHERE id = $1", case_id
            )
            metrics = (await desk.http.get(f"{desk.url}/metrics")).text

    assert [e["kind"] for e in entries] == ["sla_warning", "sla_breached"]
    assert 'winback_notifier_sla_timers_total{timer="sla_breached"}' in metrics
    assert "winback_notifier_sla_timer_delay_seconds_count" in metrics
    assert all(e["actor"] == "sla" and e["actor_id"] is None for e in entries)
    warn_at = due - timedelta(seconds=3)
    assert warn_at <= entries[0]["occurred_at"] < warn_at + LATE_MARGIN
    assert due <= entries[1]["occurred_at"] < due + LATE_MARGIN
    print(
        f"\nwarning late by {(entries[0]['occurred_at'] - warn_at).total_seconds():.3f}s, "
        f"breach late by {(entries[1]['occurred_at'] - due).total_seconds():.3f}s"
    )


async def test_a_contact_attempt_before_the_deadline_stops_the_clock(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env, **FAST) as desk:
        ana = await desk.agent("ana")
        tried = await open_case(desk, infra_env)
        untried = await open_case(desk, infra_env)  # the control: its timers do fire
        assert (await desk.act(ana, tried, "claim")).status_code == 200
        attempt = await desk.act(ana, tried, "attempts", {"channel": "phone", "reached": False})
        assert attempt.status_code == 200, attempt.text
        breached = await eventually(lambda: sla_history(desk, untried), timeout=20)
        await eventually(
            lambda: desk.pool.fetchval(
                "SELECT sla_breached_at FROM recovery_cases WHERE id = $1", untried
            ),
            timeout=20,
        )
        await asyncio.sleep(1.0)
        assert breached
        assert await sla_history(desk, tried) == []
        assert await desk.status(tried) == ("claimed", 3)


async def test_an_untried_claim_lapses_back_to_its_queue(infra_env: dict[str, Any]) -> None:
    async with running_desk(infra_env, sla_claim_lapse_minutes=0.05) as desk:  # 3 seconds
        ana = await desk.agent("ana")
        ben = await desk.agent("ben")
        case_id = await open_case(desk, infra_env, priority=3)
        async with desk.console(ben) as ben_console:
            assert (await desk.act(ana, case_id, "claim")).status_code == 200
            lapsed = await next_sla_change(ben_console, case_id)
        assert lapsed["change"]["kind"] == "claim_lapsed"
        assert lapsed["change"]["data"]["previous_owner"] == "ana"
        assert (lapsed["case"]["status"], lapsed["case"]["owner"]) == ("open", None)
        assert lapsed["case"]["queue"] == "default"

        # Another agent takes it; trying the customer in time keeps the claim.
        assert (await desk.act(ben, case_id, "claim")).status_code == 200
        attempt = await desk.act(ben, case_id, "attempts", {"channel": "phone", "reached": False})
        assert attempt.status_code == 200
        await asyncio.sleep(4.5)
        owner = await desk.pool.fetchval(
            "SELECT a.name FROM recovery_cases c JOIN agents a ON a.id = c.owner_id"
            " WHERE c.id = $1",
            case_id,
        )
        assert owner == "ben"
        assert [e["kind"] for e in await sla_history(desk, case_id)] == ["claim_lapsed"]


async def test_two_notifiers_fire_each_timer_exactly_once(infra_env: dict[str, Any]) -> None:
    settings = {**FAST, "sla_claim_lapse_minutes": 0.05}
    async with running_desk(infra_env, **settings) as desk, running_desk(infra_env, **settings):
        ana = await desk.agent("ana")
        untried = [await open_case(desk, infra_env) for _ in range(4)]
        claimed = [await open_case(desk, infra_env, priority=3) for _ in range(3)]
        for case_id in claimed:
            assert (await desk.act(ana, case_id, "claim")).status_code == 200

        async def all_fired() -> bool:
            breached = await desk.pool.fetchval(
                "SELECT count(*) FROM recovery_cases WHERE id = ANY($1) AND sla_breached_at"
                " IS NOT NULL",
                untried,
            )
            lapsed = await desk.pool.fetchval(
                "SELECT count(*) FROM recovery_cases WHERE id = ANY($1) AND status = 'open'",
                claimed,
            )
            return bool(breached == len(untried) and lapsed == len(claimed))

        assert await eventually(all_fired, timeout=30)
        await asyncio.sleep(1.5)
        late: list[float] = []
        for case_id in untried:
            entries = await sla_history(desk, case_id)
            kinds = [e["kind"] for e in entries]
            assert kinds == ["sla_warning", "sla_breached"], (case_id, kinds)
            due = await desk.pool.fetchval(
                "SELECT contact_due_at FROM recovery_cases WHERE id = $1", case_id
            )
            for entry, moment in zip(entries, (due - timedelta(seconds=3), due), strict=True):
                assert moment <= entry["occurred_at"] < moment + LATE_MARGIN  # never early
                late.append((entry["occurred_at"] - moment).total_seconds())
        for case_id in claimed:
            entries = await sla_history(desk, case_id)
            assert [e["kind"] for e in entries] == ["claim_lapsed"], (case_id, entries)
            claimed_at = await desk.pool.fetchval(
                "SELECT occurred_at FROM case_history WHERE case_id = $1 AND kind = 'claimed'",
                case_id,
            )
            moment = claimed_at + timedelta(seconds=3)
            assert moment <= entries[0]["occurred_at"] < moment + LATE_MARGIN
            late.append((entries[0]["occurred_at"] - moment).total_seconds())
        print(f"\ntwo notifiers, {len(late)} timers late by {min(late):.3f}..{max(late):.3f}s")
        unpublished = await desk.pool.fetchval(
            "SELECT count(*) FROM case_history WHERE published_at IS NULL"
        )
        assert unpublished == 0


async def test_a_breached_unclaimed_case_is_rerouted_to_the_escalation_queue(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env, **FAST, sla_escalation_queue="escalations") as desk:
        ana = await desk.agent("ana")
        eve = await desk.agent("eve", queues=["escalations"])
        sue = await desk.agent("sue", Role.SUPERVISOR, queues=[])
        async with (
            desk.console(ana) as ana_console,
            desk.console(eve) as eve_console,
            desk.console(sue) as sue_console,
        ):
            unclaimed = await open_case(desk, infra_env)
            claimed = await open_case(desk, infra_env)
            assert (await desk.act(ana, claimed, "claim")).status_code == 200
            for console in (ana_console, eve_console, sue_console):
                message = await next_sla_change(console, unclaimed)
                while message["change"]["kind"] != "sla_breached":
                    message = await next_sla_change(console, unclaimed)
                assert message["case"]["queue"] == "escalations"
                assert message["previous_queue"] == "default"
                data = message["change"]["data"]
                assert (data["from_queue"], data["to_queue"]) == ("default", "escalations")
        stays = await eventually(
            lambda: desk.pool.fetchrow(
                "SELECT queue, sla_breached_at FROM recovery_cases WHERE id = $1"
                " AND sla_breached_at IS NOT NULL",
                claimed,
            ),
            timeout=20,
        )
        assert stays is not None and stays["queue"] == "default"  # owned: it stays with ana
