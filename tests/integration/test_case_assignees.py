"""``GET /api/cases/{id}/assignees``: who a supervisor may reassign a case to, per role, and
always in agreement with what the reassign call itself accepts."""

from __future__ import annotations

import pytest

from tests.case_support import CaseDesk
from winback_shared.agents import Role


async def staff(desk: CaseDesk) -> dict[str, str]:
    """Tokens of a small team: agents in default and billing, a supervisor and an admin."""
    tokens = {
        "ana": await desk.agent("ana", queues=["default", "billing"]),
        "ben": await desk.agent("ben", queues=["billing"]),
        "cal": await desk.agent("cal", queues=["default"]),
        "dot": await desk.agent("dot", queues=["default"]),
        "sue": await desk.agent("sue", Role.SUPERVISOR, queues=[]),
        "root": await desk.agent("root", Role.ADMIN, queues=[]),
    }
    gone = await desk.call("DELETE", "/api/admin/agents/dot", tokens["root"])
    assert gone.status_code == 204
    return tokens


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_without_a_valid_token_it_is_401(case_desk: CaseDesk, token: str | None) -> None:
    case_id = await case_desk.case()
    answer = await case_desk.call("GET", f"/api/cases/{case_id}/assignees", token)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthenticated"


async def test_agents_get_403_for_any_case_and_nothing_changes(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    case_id = await case_desk.case()
    for path in (f"/api/cases/{case_id}/assignees", "/api/cases/999999/assignees"):
        answer = await case_desk.call("GET", path, ana)
        assert answer.status_code == 403, answer.text
        assert answer.json() == {
            "error": {"code": "forbidden", "message": "only supervisors and admins may do this"}
        }
    assert await case_desk.status(case_id) == ("open", 1)


@pytest.mark.parametrize("who", ["sue", "root"])
async def test_supervisors_and_admins_get_who_may_own_the_case(
    case_desk: CaseDesk, who: str
) -> None:
    tokens = await staff(case_desk)
    case_id = await case_desk.case()
    assert (await case_desk.act(tokens["ana"], case_id, "claim")).status_code == 200

    answer = await case_desk.call("GET", f"/api/cases/{case_id}/assignees", tokens[who])

    assert answer.status_code == 200, answer.text
    listed = answer.json()
    assert {k: listed[k] for k in ("case_id", "case_queue", "owner", "queue", "queues")} == {
        "case_id": case_id,
        "case_queue": "default",
        "owner": "ana",
        "queue": "default",
        "queues": ["billing", "default"],
    }
    # Members of the queue first, then those who may own a case anywhere; never ben (not a
    # member of default) nor dot (disabled).
    assert listed["agents"] == [
        {"name": "ana", "role": "agent", "queues": ["billing", "default"], "owner": True},
        {"name": "cal", "role": "agent", "queues": ["default"], "owner": False},
        {"name": "root", "role": "admin", "queues": [], "owner": False},
        {"name": "sue", "role": "supervisor", "queues": [], "owner": False},
    ]
    assert await case_desk.status(case_id) == ("claimed", 2)


async def test_another_target_queue_lists_its_members(case_desk: CaseDesk) -> None:
    tokens = await staff(case_desk)
    case_id = await case_desk.case()

    billing = await case_desk.call(
        "GET", f"/api/cases/{case_id}/assignees?queue=billing", tokens["sue"]
    )
    nowhere = await case_desk.call(
        "GET", f"/api/cases/{case_id}/assignees?queue=nowhere", tokens["sue"]
    )

    assert billing.status_code == 200
    assert (billing.json()["case_queue"], billing.json()["queue"]) == ("default", "billing")
    assert [a["name"] for a in billing.json()["agents"]] == ["ana", "ben", "root", "sue"]
    assert nowhere.status_code == 404
    assert nowhere.json()["error"] == {
        "code": "queue_not_found",
        "message": "there is no queue 'nowhere'",
    }


async def test_unknown_case_is_404_for_a_supervisor(case_desk: CaseDesk) -> None:
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    answer = await case_desk.call("GET", "/api/cases/999999/assignees", sue)
    assert answer.status_code == 404
    assert answer.json()["error"] == {
        "code": "case_not_found",
        "message": "there is no case 999999",
    }


@pytest.mark.parametrize("queue", ["default", "billing"])
async def test_the_list_is_exactly_who_reassign_accepts(case_desk: CaseDesk, queue: str) -> None:
    tokens = await staff(case_desk)
    case_id = await case_desk.case()
    listed = await case_desk.call(
        "GET", f"/api/cases/{case_id}/assignees?queue={queue}", tokens["sue"]
    )
    offered = {agent["name"] for agent in listed.json()["agents"]}

    for name in sorted(tokens):
        answer = await case_desk.act(
            tokens["sue"], case_id, "reassign", {"agent": name, "queue": queue}
        )
        if name in offered:
            assert answer.status_code == 200, (name, answer.text)
            assert (answer.json()["owner"], answer.json()["queue"]) == (name, queue)
        elif name == "dot":
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "agent_not_found"
        else:
            assert answer.status_code == 409, (name, answer.text)
            assert answer.json()["error"] == {
                "code": "not_a_member",
                "message": f"{name} is not a member of queue {queue!r}; add them to it first",
            }
    expected = {"default": {"ana", "cal", "root", "sue"}, "billing": {"ana", "ben", "root", "sue"}}
    assert offered == expected[queue]


async def test_the_endpoint_is_documented(case_desk: CaseDesk) -> None:
    schema = (await case_desk.http.get(f"{case_desk.url}/openapi.json")).json()
    operation = schema["paths"]["/api/cases/{case_id}/assignees"]["get"]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])
    assert "supervisor" in operation["description"].lower()
    assert {"case_id", "queue"} <= {p["name"] for p in operation["parameters"]}
