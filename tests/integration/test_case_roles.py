"""Who may see and do what: agents on their queues' cases, supervisors on all, admins manage.
Every refusal is 401 or 403 in the shared error shape, and changes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.case_support import CaseDesk
from winback_shared.agents import Role

ATTEMPT = {"channel": "phone", "reached": False, "note": "no answer"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/cases", None),
        ("GET", "/api/cases/{id}", None),
        ("GET", "/api/cases/{id}/history", None),
        ("POST", "/api/cases/{id}/claim", {}),
        ("POST", "/api/cases/{id}/attempts", ATTEMPT),
        ("POST", "/api/cases/{id}/notes", {"text": "hi"}),
        ("POST", "/api/cases/{id}/reassign", {"agent": "ana"}),
        ("POST", "/api/cases/{id}/reasons", {"codes": [], "follow_up_requested": False}),
        ("GET", "/api/me", None),
        ("GET", "/api/admin/agents", None),
    ],
)
@pytest.mark.parametrize("token", [None, "not-a-token", "x" * 300])
async def test_unauthenticated_requests_get_401_and_change_nothing(
    case_desk: CaseDesk, method: str, path: str, body: dict[str, Any] | None, token: str | None
) -> None:
    await case_desk.agent("ana")
    case_id = await case_desk.case()
    answer = await case_desk.call(method, path.format(id=case_id), token, body)
    assert answer.status_code == 401
    assert answer.json() == {
        "error": {"code": "unauthenticated", "message": "a valid agent token is required"}
    }
    assert answer.headers["www-authenticate"] == "Bearer"
    assert await case_desk.status(case_id) == ("open", 1)


async def test_agent_sees_and_acts_only_on_its_queues(case_desk: CaseDesk) -> None:
    billing = await case_desk.agent("bill", queues=["billing"])
    mine = await case_desk.case(queue="billing")
    other = await case_desk.case(queue="retention")

    listed = await case_desk.call("GET", "/api/cases", billing)
    assert [c["case_id"] for c in listed.json()] == [mine]
    for method, path, body in [
        ("GET", f"/api/cases/{other}", None),
        ("GET", f"/api/cases/{other}/history", None),
        ("POST", f"/api/cases/{other}/claim", {}),
        ("POST", f"/api/cases/{other}/notes", {"text": "peek"}),
        ("POST", f"/api/cases/{other}/reasons", {"codes": [], "follow_up_requested": False}),
    ]:
        answer = await case_desk.call(method, path, billing, body)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"]["code"] == "forbidden"
        assert "retention" in answer.json()["error"]["message"]
    assert await case_desk.status(other) == ("open", 1)
    assert (await case_desk.act(billing, mine, "claim")).status_code == 200


async def test_only_the_owner_or_a_supervisor_works_a_claimed_case(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    ben = await case_desk.agent("ben")
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    case_id = await case_desk.case()
    await case_desk.act(ana, case_id, "claim")

    by_colleague = await case_desk.act(ben, case_id, "attempts", ATTEMPT)
    assert by_colleague.status_code == 403
    assert by_colleague.json()["error"]["code"] == "not_owner"
    assert "owned by ana" in by_colleague.json()["error"]["message"]
    assert await case_desk.status(case_id) == ("claimed", 2)

    by_supervisor = await case_desk.act(sue, case_id, "attempts", ATTEMPT)
    assert by_supervisor.status_code == 200
    assert by_supervisor.json()["failed_attempts"] == 1


async def test_only_supervisors_reassign(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana", queues=["default", "billing"])
    ben = await case_desk.agent("ben", queues=["billing"])
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    case_id = await case_desk.case()
    await case_desk.act(ana, case_id, "claim")

    by_agent = await case_desk.act(ana, case_id, "reassign", {"agent": "ben"})
    assert by_agent.status_code == 403 and by_agent.json()["error"]["code"] == "forbidden"
    not_member = await case_desk.act(sue, case_id, "reassign", {"agent": "ben"})
    assert not_member.status_code == 409 and not_member.json()["error"]["code"] == "not_a_member"
    assert await case_desk.status(case_id) == ("claimed", 2)

    moved = await case_desk.act(sue, case_id, "reassign", {"agent": "ben", "queue": "billing"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["owner"], moved.json()["queue"]) == ("ben", "billing")
    assert (await case_desk.act(ben, case_id, "attempts", ATTEMPT)).status_code == 200
    back = await case_desk.act(sue, case_id, "reassign", {"queue": "default"})
    assert (back.json()["owner"], back.json()["queue"]) == (None, "default")
    history = (await case_desk.call("GET", f"/api/cases/{case_id}/history", sue)).json()
    assert history[2]["data"]["from_owner"] == "ana" and history[2]["data"]["to_owner"] == "ben"
    assert history[2]["actor"] == "sue"
    assert back.json()["status"] == "open"


async def test_supervisor_sees_every_queue(case_desk: CaseDesk) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    ids = [await case_desk.case(queue=q) for q in ("billing", "retention", "default")]
    listed = await case_desk.call("GET", "/api/cases", sue)
    assert sorted(c["case_id"] for c in listed.json()) == sorted(ids)


async def test_exactly_one_of_many_concurrent_claims_wins(case_desk: CaseDesk) -> None:
    names = [f"agent-{n}" for n in range(8)]
    tokens = [await case_desk.agent(name) for name in names]
    case_id = await case_desk.case()

    answers = await asyncio.gather(*(case_desk.act(t, case_id, "claim") for t in tokens))

    winners = [name for name, a in zip(names, answers, strict=True) if a.status_code == 200]
    assert len(winners) == 1, [a.text for a in answers]
    losers = [a for a in answers if a.status_code != 200]
    assert all(a.status_code == 409 for a in losers)
    assert all(a.json()["error"]["code"] == "already_claimed" for a in losers)
    assert all(f"already claimed by {winners[0]}" in a.json()["error"]["message"] for a in losers)
    owner = await case_desk.pool.fetchval(
        "SELECT a.name FROM recovery_cases c JOIN agents a ON a.id = c.owner_id WHERE c.id = $1",
        case_id,
    )
    assert owner == winners[0]
    claims = await case_desk.pool.fetchval(
        "SELECT count(*) FROM case_history WHERE case_id = $1 AND kind = 'claimed'", case_id
    )
    assert claims == 1
    assert await case_desk.status(case_id) == ("claimed", 2)


async def test_disabled_agent_is_locked_out(case_desk: CaseDesk) -> None:
    admin = await case_desk.agent("root", Role.ADMIN)
    ana = await case_desk.agent("ana")
    assert (await case_desk.call("DELETE", "/api/admin/agents/ana", admin)).status_code == 204
    assert (await case_desk.call("GET", "/api/cases", ana)).status_code == 401


async def test_me_describes_the_agent_and_its_policy(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana", queues=["billing", "default"])
    me = (await case_desk.call("GET", "/api/me", ana)).json()
    assert (me["name"], me["role"], me["queues"]) == ("ana", "agent", ["billing", "default"])
    assert me["sees_all_queues"] is False
    assert me["policy"]["unreachable_after_attempts"] == 3
    assert me["policy"]["two_way_channels"] == ["phone", "in_person", "video"]
    assert {"code": "billing_error", "label": "Billing error"} in me["root_causes"]
