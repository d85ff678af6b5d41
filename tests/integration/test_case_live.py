"""Case changes reach, live, every console that should see them, and only those: through
PostgreSQL, ``case-events`` on Kafka, and every notifier instance."""

from __future__ import annotations

from typing import Any

from tests.case_support import CaseDesk, next_change, running_desk, three_consoles
from tests.support import eventually
from winback_shared.events.recovery_alerts import CaseSummary, RecoveryCaseUpdated
from winback_shared.kafka import reliable_producer


async def test_changes_reach_the_queue_and_supervisors_but_not_other_queues(
    case_desk: CaseDesk,
) -> None:
    async with three_consoles(case_desk) as desk:
        case_id = desk.case_id
        ana_console, bill_console, sue_console = (
            desk.ana_console,
            desk.bill_console,
            desk.sue_console,
        )
        assert [c["case_id"] for c in ana_console.snapshot] == [case_id]
        assert bill_console.snapshot == []
        assert [c["case_id"] for c in sue_console.snapshot] == [case_id]
        assert ana_console.profile["queues"] == ["default"]

        assert (await case_desk.act(desk.ana, case_id, "claim")).status_code == 200

        for console in (ana_console, sue_console):
            change = await next_change(console, case_id)
            assert change["case"]["seq"] == 2
            assert change["case"]["status"] == "claimed" and change["case"]["owner"] == "ana"
            assert change["change"]["kind"] == "claimed" and change["change"]["actor"] == "ana"
        await bill_console.nothing_for(1.0)

        # Moving the case tells the queue it left (so it drops it) and the queue it joined.
        moved = await case_desk.act(desk.sue, case_id, "reassign", {"queue": "billing"})
        assert moved.status_code == 200, moved.text
        for console in (ana_console, bill_console, sue_console):
            change = await next_change(console, case_id)
            assert change["case"]["queue"] == "billing" and change["previous_queue"] == "default"
            assert change["case"]["seq"] == 3


async def test_a_change_made_on_one_notifier_reaches_consoles_on_another(
    case_desk: CaseDesk, infra_env: dict[str, Any]
) -> None:
    ana = await case_desk.agent("ana")
    ben = await case_desk.agent("ben")
    case_id = await case_desk.case()
    async with running_desk(infra_env) as other_desk, other_desk.console(ben) as ben_console:
        assert (await case_desk.act(ana, case_id, "claim")).status_code == 200
        await case_desk.act(ana, case_id, "notes", {"text": "calling now"})

        claimed = await next_change(ben_console, case_id)
        noted = await next_change(ben_console, case_id)

    assert (claimed["case"]["seq"], noted["case"]["seq"]) == (2, 3)
    assert noted["change"]["data"]["text"] == "calling now"


async def test_a_console_that_reconnects_gets_what_it_missed(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    first, second = await case_desk.case(), await case_desk.case(priority=2)
    async with case_desk.console(ana) as console:
        assert [c["seq"] for c in console.snapshot] == [1, 1]

    await case_desk.act(ana, first, "claim")
    await case_desk.act(ana, first, "attempts", {"channel": "phone", "reached": True})
    await case_desk.act(ana, first, "resolve", _resolution())
    await case_desk.act(ana, second, "claim")
    await case_desk.act(ana, second, "attempts", {"channel": "phone", "reached": True})
    await case_desk.act(ana, second, "resolve", _resolution())
    await case_desk.act(ana, second, "close", {})

    async with case_desk.console(ana) as console:
        board = {c["case_id"]: c for c in console.snapshot}
    assert list(board) == [first]  # closed cases leave the board; resolved ones wait to close
    assert (board[first]["status"], board[first]["seq"]) == ("resolved", 4)
    assert board[first]["root_cause"] == "billing_error"


async def test_a_change_kafka_missed_is_sent_by_the_outbox(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    case_id = await case_desk.case()
    async with case_desk.console(ana) as console:
        # As if a notifier committed a change and crashed before Kafka acknowledged it.
        async with case_desk.pool.acquire() as conn, conn.transaction():
            seq = await conn.fetchval(
                "UPDATE recovery_cases SET seq = seq + 1 WHERE id = $1 RETURNING seq", case_id
            )
            await conn.execute(
                """INSERT INTO case_history (case_id, seq, kind, actor, occurred_at, data)
                   VALUES ($1, $2, 'note_added', 'ana', now() - interval '10 seconds', $3)""",
                case_id,
                seq,
                {"text": "written before a crash"},
            )

        change = await next_change(console, case_id)

    assert change["case"]["seq"] == 2
    assert change["change"]["data"]["text"] == "written before a crash"
    published = await eventually(  # the sweep marks it when its transaction commits
        lambda: case_desk.pool.fetchval(
            "SELECT published_at FROM case_history WHERE case_id = $1 AND seq = 2", case_id
        )
    )
    assert published is not None


async def test_console_pings_are_answered(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    async with case_desk.console(ana) as console:
        await console.socket.send('{"type": "ping"}')
        assert await console.next() == {"type": "pong"}


def _resolution() -> dict[str, Any]:
    return {
        "root_cause": "billing_error",
        "resolution": {"apology": True},
        "customer_reaction": "neutral",
    }


async def test_router_updates_reach_the_case_queue_only(
    case_desk: CaseDesk, infra_env: dict[str, Any], kafka_bootstrap: str
) -> None:
    ana = await case_desk.agent("ana")
    bill = await case_desk.agent("bill", queues=["billing"])
    case_id = await case_desk.case()
    async with case_desk.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM case_summaries WHERE case_id = $1", case_id)
    assert row is not None
    summary = CaseSummary.model_validate({**dict(row), "seq": 2, "comment": "added later"})
    producer = reliable_producer(kafka_bootstrap)
    await producer.start()
    try:
        async with case_desk.console(ana) as ana_console, case_desk.console(bill) as bill_console:
            topic = infra_env["topics"].recovery_alerts
            await producer.send_and_wait(topic, RecoveryCaseUpdated(case=summary).to_bytes())

            update = await ana_console.next()
            await bill_console.nothing_for(1.0)
    finally:
        await producer.stop()
    assert update["type"] == "case.updated"
    assert (update["case"]["case_id"], update["case"]["seq"]) == (case_id, 2)
    assert update["case"]["comment"] == "added later"
