"""Authority to fix it, on real PostgreSQL and Kafka: limits configured per role and queue, offers
granted or asked, supervisors answering (once, never their own request), the history, the
resolution, the overdue flag, and the live messages that pop up on consoles."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.case_support import CaseDesk, Console, running_desk
from winback_notifier.cases.audit import broken_links
from winback_shared.agents import Role

LIMITS = {
    "limits": [
        {"role": "agent", "currency": "EUR", "max_amount": 50},
        {"role": "agent", "queue": "vip", "currency": "EUR", "max_amount": 150},
        {"role": "supervisor", "currency": "EUR", "max_amount": 500},
    ]
}


async def configure(desk: CaseDesk, body: dict[str, Any] = LIMITS) -> None:
    admin = await desk.agent("adele", Role.ADMIN, queues=["default", "vip"])
    answer = await desk.call("PUT", "/api/admin/offer-limits", admin, body)
    assert answer.status_code == 200, answer.text


async def contacted_case(desk: CaseDesk, token: str, queue: str = "default") -> int:
    case_id = await desk.case(queue=queue)
    assert (await desk.act(token, case_id, "claim")).status_code == 200
    reached = {"channel": "phone", "reached": True, "note": ""}
    assert (await desk.act(token, case_id, "attempts", reached)).status_code == 200
    return case_id


def offer(amount: float, kind: str = "credit", currency: str = "EUR") -> dict[str, Any]:
    return {"kind": kind, "amount": amount, "currency": currency, "note": "sorry about the bill"}


async def kinds(desk: CaseDesk, case_id: int) -> list[str]:
    rows = await desk.pool.fetch(
        "SELECT kind FROM case_history WHERE case_id = $1 ORDER BY seq", case_id
    )
    return [row["kind"] for row in rows]


async def test_limits_are_validated_and_read_back(case_desk: CaseDesk) -> None:
    admin = await case_desk.agent("adele", Role.ADMIN)
    supervisor = await case_desk.agent("sue", Role.SUPERVISOR)
    path = "/api/admin/offer-limits"
    unknown = {"limits": [{"role": "agent", "queue": "nope", "currency": "EUR", "max_amount": 1}]}
    answer = await case_desk.call("PUT", path, admin, unknown)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "queue_not_found"
    assert "nope" in answer.json()["error"]["message"]
    twice = {"limits": [LIMITS["limits"][0], LIMITS["limits"][0]]}
    answer = await case_desk.call("PUT", path, admin, twice)
    assert answer.json()["error"]["code"] == "duplicate_limit"
    for bad in ({"currency": "eur"}, {"max_amount": -1}, {"role": "boss"}, {"max_amount": 1.001}):
        body = {"limits": [{**LIMITS["limits"][0], **bad}]}
        assert (await case_desk.call("PUT", path, admin, body)).status_code == 422, bad
    assert (await case_desk.call("PUT", path, supervisor, LIMITS)).status_code == 403

    await case_desk.agent("vera", queues=["vip"])  # makes the vip queue
    answer = await case_desk.call("PUT", path, admin, LIMITS)
    assert answer.status_code == 200, answer.text
    read = await case_desk.call("GET", path, admin)
    assert {(r["role"], r["queue"], r["currency"], r["max_amount"]) for r in read.json()} == {
        ("agent", None, "EUR", 50.0),
        ("agent", "vip", "EUR", 150.0),
        ("supervisor", None, "EUR", 500.0),
    }


async def test_within_the_limit_granted_above_it_asked_per_queue(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana", queues=["default", "vip"])
    await configure(case_desk)
    plain = await contacted_case(case_desk, ana)
    vip = await contacted_case(case_desk, ana, queue="vip")

    seen = await case_desk.call("GET", f"/api/cases/{plain}/offers", ana)
    assert seen.json()["limits"] == [{"currency": "EUR", "max_amount": 50.0}]
    seen = await case_desk.call("GET", f"/api/cases/{vip}/offers", ana)
    assert seen.json()["limits"] == [{"currency": "EUR", "max_amount": 150.0}]

    granted = await case_desk.act(ana, plain, "offers", offer(40))
    assert granted.status_code == 200, granted.text
    assert granted.json()["offer"]["status"] == "granted"
    assert granted.json()["case"]["owner"] == "ana"
    # 40 + 20 is over 50: asked, not granted, however the goodwill is split
    asked = await case_desk.act(ana, plain, "offers", offer(20, "voucher"))
    assert asked.json()["offer"]["status"] == "pending"
    assert asked.json()["offer"]["limit_amount"] == 50.0
    # the vip queue's own limit
    assert (await case_desk.act(ana, vip, "offers", offer(120))).json()["offer"]["status"] == (
        "granted"
    )
    other = await case_desk.act(ana, plain, "offers", offer(5, currency="USD"))
    assert other.json()["error"]["code"] == "currency_mismatch"

    listed = (await case_desk.call("GET", f"/api/cases/{plain}/offers", ana)).json()
    assert [o["status"] for o in listed["offers"]] == ["granted", "pending"]
    assert (listed["currency"], listed["committed"]) == ("EUR", 60.0)
    assert (await kinds(case_desk, plain))[-2:] == ["offer_granted", "offer_requested"]
    assert await case_desk.status(plain) == ("contacted", 5)


async def test_nothing_configured_means_every_offer_asks(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    case_id = await contacted_case(case_desk, ana)
    answer = await case_desk.act(ana, case_id, "offers", offer(1))
    assert answer.json()["offer"]["status"] == "pending"


async def test_only_the_owner_or_a_supervisor_offers(case_desk: CaseDesk) -> None:
    ana, ben = await case_desk.agent("ana"), await case_desk.agent("ben")
    await configure(case_desk)
    case_id = await contacted_case(case_desk, ana)
    answer = await case_desk.act(ben, case_id, "offers", offer(1))
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "not_owner")
    unclaimed = await case_desk.case()
    answer = await case_desk.act(ana, unclaimed, "offers", offer(1))
    assert answer.json()["error"]["code"] == "illegal_transition"


async def test_a_supervisor_approves_and_the_case_stays_with_its_owner(case_desk: CaseDesk) -> None:
    ana, ben = await case_desk.agent("ana"), await case_desk.agent("ben")
    sue = await case_desk.agent("sue", Role.SUPERVISOR)
    await configure(case_desk)
    case_id = await contacted_case(case_desk, ana)
    asked = (await case_desk.act(ana, case_id, "offers", offer(80))).json()["offer"]
    approve = f"offers/{asked['offer_id']}/approve"

    refused = await case_desk.act(ben, case_id, approve)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    refused = await case_desk.act(ana, case_id, approve)
    assert refused.status_code == 403
    missing = await case_desk.act(sue, case_id, "offers/999999/approve")
    assert missing.json()["error"]["code"] == "offer_not_found"

    resolve = {
        "root_cause": "product_knowledge",
        "resolution": {"apology": True},
        "customer_reaction": "satisfied",
    }
    early = await case_desk.act(ana, case_id, "resolve", resolve)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "offer_pending")
    waiting = await case_desk.call("GET", "/api/offers/pending", sue)
    assert [(o["offer_id"], o["requested_by"]) for o in waiting.json()] == [
        (asked["offer_id"], "ana")
    ]
    assert (await case_desk.call("GET", "/api/offers/pending", ben)).status_code == 403
    approved = await case_desk.act(sue, case_id, approve, {"note": "fine this once"})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["offer"]["status"], body["offer"]["answered_by"]) == ("approved", "sue")
    assert (body["case"]["owner"], body["case"]["status"]) == ("ana", "contacted")
    assert (await case_desk.call("GET", "/api/offers/pending", sue)).json() == []
    again = await case_desk.act(
        sue, case_id, f"offers/{asked['offer_id']}/decline", {"reason": "x"}
    )
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_answered")
    assert "approved by sue" in again.json()["error"]["message"]

    # The resolution records the approved offer as its compensation: nothing typed twice.
    typed = {**resolve, "resolution": {"compensation": {"kind": "credit", "value": 80}}}
    answer = await case_desk.act(ana, case_id, "resolve", typed)
    assert answer.json()["error"]["code"] == "compensation_in_offers"
    answer = await case_desk.act(ana, case_id, "resolve", resolve)
    assert answer.status_code == 200, answer.text
    resolution = answer.json()["resolution"]
    assert resolution["compensation"] == {"kind": "credit", "value": 80.0, "currency": "EUR"}
    assert [o["offer_id"] for o in resolution["offers"]] == [asked["offer_id"]]

    history = (await case_desk.call("GET", f"/api/cases/{case_id}", ana)).json()["history"]
    entries = {e["kind"]: e for e in history}
    assert entries["offer_requested"]["actor"] == "ana"
    assert entries["offer_requested"]["data"]["amount"] == 80.0
    assert entries["offer_approved"]["actor"] == "sue"
    assert entries["offer_approved"]["data"]["reason"] == "fine this once"
    async with case_desk.pool.acquire() as conn:
        assert await broken_links(conn, case_id) == []

    report = await case_desk.call("GET", "/api/ops/offers", sue)
    assert report.status_code == 200, report.text
    [row] = report.json()["rows"]
    assert {k: row[k] for k in ("queue", "currency", "offers", "granted", "asked")} == {
        "queue": "default",
        "currency": "EUR",
        "offers": 1,
        "granted": 0,
        "asked": 1,
    }
    assert (row["approved"], row["declined"], row["pending"], row["given_amount"]) == (
        1,
        0,
        0,
        80.0,
    )
    assert row["answer_minutes_p50"] is not None
    assert (await case_desk.call("GET", "/api/ops/offers", ana)).status_code == 403


async def test_declined_with_a_reason_and_never_ones_own_request(case_desk: CaseDesk) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR)
    sam = await case_desk.agent("sam", Role.SUPERVISOR)
    await configure(case_desk)
    case_id = await contacted_case(case_desk, sue)
    asked = (await case_desk.act(sue, case_id, "offers", offer(700))).json()["offer"]
    assert asked["status"] == "pending"  # over the supervisors' 500
    decline = f"offers/{asked['offer_id']}/decline"
    own = await case_desk.act(sue, case_id, decline, {"reason": "no"})
    assert (own.status_code, own.json()["error"]["code"]) == (403, "own_request")
    assert (await case_desk.act(sam, case_id, decline, {})).status_code == 422  # a reason
    declined = await case_desk.act(sam, case_id, decline, {"reason": "over policy; offer 300"})
    assert declined.json()["offer"]["status"] == "declined"
    assert declined.json()["offer"]["answer_reason"] == "over policy; offer 300"
    # a declined offer no longer counts against the limit
    again = await case_desk.act(sue, case_id, "offers", offer(300))
    assert again.json()["offer"]["status"] == "granted"
    assert (await kinds(case_desk, case_id))[-3:] == [
        "offer_requested",
        "offer_declined",
        "offer_granted",
    ]


async def test_two_supervisors_answering_at_once_one_wins(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    sue = await case_desk.agent("sue", Role.SUPERVISOR)
    sam = await case_desk.agent("sam", Role.SUPERVISOR)
    await configure(case_desk)
    case_id = await contacted_case(case_desk, ana)
    asked = (await case_desk.act(ana, case_id, "offers", offer(90))).json()["offer"]
    base = f"offers/{asked['offer_id']}"
    answers = await asyncio.gather(
        case_desk.act(sue, case_id, f"{base}/approve"),
        case_desk.act(sam, case_id, f"{base}/decline", {"reason": "too much"}),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    lost = next(a for a in answers if a.status_code == 409)
    assert lost.json()["error"]["code"] == "already_answered"
    answered = [
        k for k in await kinds(case_desk, case_id) if k in ("offer_approved", "offer_declined")
    ]
    assert len(answered) == 1


@pytest.fixture
async def fast_desk(infra_env: dict[str, object]) -> AsyncIterator[CaseDesk]:
    """A notifier whose approval time is a fraction of a second, checked often."""
    async with running_desk(
        infra_env, offer_approval_minutes=0.005, offer_check_seconds=0.2
    ) as desk:
        yield desk


async def test_consoles_hear_the_request_the_answer_and_the_overdue_flag(
    fast_desk: CaseDesk,
) -> None:
    desk = fast_desk
    ana = await desk.agent("ana")
    sue = await desk.agent("sue", Role.SUPERVISOR)
    sam = await desk.agent("sam", Role.SUPERVISOR)
    await configure(desk)
    case_id = await contacted_case(desk, ana)
    async with desk.console(sue) as supervisor, desk.console(ana) as owner:
        assert supervisor.profile["offers"]["approval_minutes"] == 0.005
        asked = (await desk.act(ana, case_id, "offers", offer(75))).json()["offer"]

        async def next_offer_change(console: Console, kind: str) -> dict[str, Any]:
            while True:
                message = await console.next_of("case.changed")
                if message["case"]["case_id"] == case_id and message["change"]["kind"] == kind:
                    return message

        popped = await next_offer_change(supervisor, "offer_requested")
        assert popped["change"]["actor"] == "ana"
        assert popped["change"]["data"]["offer_id"] == asked["offer_id"]
        assert popped["change"]["data"]["amount"] == 75.0
        overdue = await next_offer_change(supervisor, "offer_overdue")
        assert overdue["change"]["actor"] == "sla"

        assert (await desk.act(sam, case_id, f"offers/{asked['offer_id']}/approve")).is_success
        heard = await next_offer_change(owner, "offer_approved")
        assert heard["change"]["actor"] == "sam"
        assert heard["case"]["owner"] == "ana"

    flagged = await desk.pool.fetch(
        "SELECT overdue_at FROM case_offers WHERE case_id = $1", case_id
    )
    assert [row["overdue_at"] is not None for row in flagged] == [True]
    assert (await kinds(desk, case_id)).count("offer_overdue") == 1
