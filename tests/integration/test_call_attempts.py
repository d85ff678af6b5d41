"""Logging calls by outcome on a real notifier, Kafka and PostgreSQL: what each outcome does to
the case, old clients and old rows still read the same way, and a call-back the customer asked
for becomes the case's deadline, flagged missed by the SLA timers when nobody calls."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from tests.case_support import CaseDesk, running_desk
from tests.integration.test_sla_timers import LATE_MARGIN, open_case


async def claimed_case(desk: CaseDesk, infra_env: dict[str, Any], token: str) -> int:
    case_id = await open_case(desk, infra_env, priority=3)
    assert (await desk.act(token, case_id, "claim")).status_code == 200
    return case_id


async def test_each_outcome_does_what_a_call_like_it_means(infra_env: dict[str, Any]) -> None:
    async with running_desk(infra_env, unreachable_after_attempts=3) as desk:
        ana = await desk.agent("ana")
        case_id = await claimed_case(desk, infra_env, ana)

        voicemail = await desk.act(
            ana, case_id, "attempts", {"channel": "phone", "outcome": "voicemail", "note": "left"}
        )
        assert voicemail.status_code == 200, voicemail.text
        assert (voicemail.json()["status"], voicemail.json()["failed_attempts"]) == ("claimed", 1)
        too_soon = await desk.act(ana, case_id, "unreachable")
        assert too_soon.json()["error"]["code"] == "not_enough_attempts"

        # A wrong number: one failed attempt more, and no point dialling it twice more.
        wrong = await desk.act(
            ana, case_id, "attempts", {"channel": "phone", "outcome": "wrong_number"}
        )
        assert wrong.json()["failed_attempts"] == 2
        assert wrong.json()["wrong_number_at"] is not None
        # An old client's body still works and reads as "no answer".
        old = await desk.act(ana, case_id, "attempts", {"channel": "sms", "reached": False})
        assert old.status_code == 200, old.text
        contradiction = await desk.act(
            ana, case_id, "attempts", {"channel": "phone", "outcome": "voicemail", "reached": True}
        )
        assert contradiction.status_code == 422
        assert contradiction.json()["error"]["code"] == "invalid_attempt"

        detail = (await desk.call("GET", f"/api/cases/{case_id}", ana)).json()
        assert [a["outcome"] for a in detail["attempts"]] == [
            "voicemail",
            "wrong_number",
            "no_answer",
        ]
        logged = [e["data"] for e in detail["history"] if e["kind"] == "contact_attempted"]
        assert [d["outcome"] for d in logged] == ["voicemail", "wrong_number", "no_answer"]
        assert (await desk.act(ana, case_id, "unreachable")).json()["status"] == "unreachable"

        reached = await desk.act(
            ana, case_id, "attempts", {"channel": "email", "outcome": "reached"}
        )
        assert reached.json()["status"] == "contacted"


async def test_attempts_logged_before_outcomes_existed_read_as_they_did(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env) as desk:
        ana = await desk.agent("ana")
        case_id = await claimed_case(desk, infra_env, ana)
        agent_id = await desk.pool.fetchval("SELECT id FROM agents WHERE name = 'ana'")
        for reached in (False, True):  # rows as the notifier wrote them before migration 0020
            await desk.pool.execute(
                "INSERT INTO contact_attempts (case_id, agent_id, channel, reached, note)"
                " VALUES ($1, $2, 'phone', $3, '')",
                case_id,
                agent_id,
                reached,
            )
        detail = (await desk.call("GET", f"/api/cases/{case_id}", ana)).json()
        assert [(a["reached"], a["outcome"]) for a in detail["attempts"]] == [
            (False, "no_answer"),
            (True, "reached"),
        ]


async def test_a_call_back_becomes_the_deadline_and_a_missed_one_is_flagged(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(infra_env, call_back_grace_minutes=0) as desk:
        ana = await desk.agent("ana")
        sue = await desk.agent("sue")
        case_id = await claimed_case(desk, infra_env, ana)
        missing = await desk.act(
            ana, case_id, "attempts", {"channel": "phone", "outcome": "call_later"}
        )
        assert missing.status_code == 422
        assert missing.json()["error"]["code"] == "invalid_call_back"

        now = await desk.pool.fetchval("SELECT now()")
        asked = now + timedelta(seconds=3)
        async with desk.console(sue) as console:
            later = await desk.act(
                ana,
                case_id,
                "attempts",
                {"channel": "phone", "outcome": "call_later", "call_back_at": asked.isoformat()},
            )
            assert later.status_code == 200, later.text
            card = later.json()
            assert card["status"] == "claimed" and card["failed_attempts"] == 0
            assert card["call_back_due_at"] is not None
            async with asyncio.timeout(20):
                while True:
                    message = await console.next(20)
                    if message.get("type") == "case.changed" and (
                        message["change"]["kind"] == "call_back_missed"
                    ):
                        break
        change = message["change"]
        assert (change["actor"], message["case"]["owner"]) == ("sla", "ana")
        assert message["case"]["call_back_missed_at"] is not None
        row = await desk.pool.fetchrow(
            "SELECT call_back_due_at, call_back_missed_at FROM recovery_cases WHERE id = $1",
            case_id,
        )
        assert row is not None and row["call_back_due_at"] == asked
        assert asked <= row["call_back_missed_at"] <= asked + LATE_MARGIN  # never early

        # Calling now answers the call-back: the deadline and its flag go.
        await desk.act(ana, case_id, "attempts", {"channel": "phone", "outcome": "no_answer"})
        row = await desk.pool.fetchrow(
            "SELECT call_back_due_at, call_back_missed_at FROM recovery_cases WHERE id = $1",
            case_id,
        )
        assert row is not None and (row["call_back_due_at"], row["call_back_missed_at"]) == (
            None,
            None,
        )
        kinds = await desk.pool.fetch(
            "SELECT kind FROM case_history WHERE case_id = $1 AND kind = 'call_back_missed'",
            case_id,
        )
        assert len(kinds) == 1


async def test_the_panel_reads_the_customers_local_time_and_the_words_for_the_call(
    infra_env: dict[str, Any],
) -> None:
    async with running_desk(
        infra_env, call_time_zones={"queues": {"default": "Europe/Berlin"}}
    ) as desk:
        ana = await desk.agent("ana")
        olga = await desk.agent("olga", queues=("billing",))
        case_id = await open_case(desk, infra_env)  # the desk's customer: +1 555 0100, unplaced
        answer = await desk.call("GET", f"/api/cases/{case_id}/call-time", ana)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["basis"], [z["zone"] for z in body["zones"]]) == ("queue", ["Europe/Berlin"])
        assert body["verdict"] in ("ok", "outside")
        assert body["calling_hours"]["mon"] == ["09:00-20:00"]
        refused = await desk.call("GET", f"/api/cases/{case_id}/call-time", olga)
        assert refused.status_code == 403

        guidance = (await desk.call("GET", "/api/call-guidance", ana)).json()
        assert list(guidance["steps"]) == [
            "acknowledge",
            "introduce",
            "duration",
            "explain",
            "thank",
        ]
        assert guidance["reasons"]["long_wait"]["apology"][0].startswith("I'm sorry")
