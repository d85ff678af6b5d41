"""The case lifecycle through the API on a real notifier and PostgreSQL: legal paths, refused
transitions (nothing changes), and the append-only history every change leaves behind."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.case_support import CaseDesk

RESOLUTION: dict[str, Any] = {
    "root_cause": "billing_error",
    "resolution": {
        "apology": True,
        "explanation": "The plan change was applied twice.",
        "compensation": {"kind": "credit", "value": 25, "currency": "EUR"},
        "process_change": "Plan changes are now checked before billing.",
    },
    "customer_reaction": "satisfied",
    "note": "Listened first; she chose the credit over a refund.",
}


async def test_full_recovery_from_open_to_closed_with_history(case_desk: CaseDesk) -> None:
    token = await case_desk.agent("ana")
    case_id = await case_desk.case()

    claimed = await case_desk.act(token, case_id, "claim")
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["status"] == "claimed" and claimed.json()["owner"] == "ana"
    failed = await case_desk.act(
        token, case_id, "attempts", {"channel": "phone", "reached": False, "note": "voicemail"}
    )
    assert failed.json()["status"] == "claimed" and failed.json()["failed_attempts"] == 1
    reached = await case_desk.act(
        token, case_id, "attempts", {"channel": "phone", "reached": True, "note": "talked 10 min"}
    )
    assert reached.json()["status"] == "contacted"
    resolved = await case_desk.act(token, case_id, "resolve", RESOLUTION)
    assert resolved.status_code == 200, resolved.text
    card = resolved.json()
    assert card["status"] == "resolved"
    assert card["root_cause"] == "billing_error"
    assert card["resolution"]["compensation"] == {
        "kind": "credit",
        "value": 25.0,
        "currency": "EUR",
    }
    assert card["customer_reaction"] == "satisfied"
    closed = await case_desk.act(token, case_id, "close", {"follow_up_outcome": "credit arrived"})
    assert closed.json()["status"] == "closed"

    detail = (await case_desk.call("GET", f"/api/cases/{case_id}", token)).json()
    history = detail["history"]
    assert [entry["kind"] for entry in history] == [
        "opened",
        "claimed",
        "contact_attempted",
        "contact_attempted",
        "resolved",
        "closed",
    ]
    assert [entry["seq"] for entry in history] == [1, 2, 3, 4, 5, 6]
    assert all(entry["actor"] == "ana" for entry in history[1:])
    assert history[0]["actor"] == "router"
    assert history[2]["data"] == {
        "status": "claimed",
        "channel": "phone",
        "reached": False,
        "outcome": "no_answer",  # sent as `reached` alone, by a client from before outcomes
        "note": "voicemail",
    }
    assert history[4]["data"]["resolution"]["compensation"]["value"] == 25
    assert [(a["channel"], a["reached"], a["agent"]) for a in detail["attempts"]] == [
        ("phone", False, "ana"),
        ("phone", True, "ana"),
    ]
    case = detail["case"]
    for stamp in ("claimed_at", "first_attempt_at", "first_contact_at", "resolved_at", "closed_at"):
        assert case[stamp] is not None, stamp
    assert case["first_attempt_at"] < case["first_contact_at"]
    assert case["seq"] == 6
    assert case["follow_up_outcome"] == "credit arrived"


async def test_unreachable_only_after_the_configured_failed_attempts(case_desk: CaseDesk) -> None:
    token = await case_desk.agent("ana")
    case_id = await case_desk.case()
    await case_desk.act(token, case_id, "claim")
    for _ in range(2):
        await case_desk.act(token, case_id, "attempts", {"channel": "phone", "reached": False})

    too_soon = await case_desk.act(token, case_id, "unreachable", {"note": "no answer"})
    assert too_soon.status_code == 409
    assert too_soon.json()["error"]["code"] == "not_enough_attempts"
    assert "3 are needed" in too_soon.json()["error"]["message"]
    await case_desk.act(token, case_id, "attempts", {"channel": "sms", "reached": False})
    marked = await case_desk.act(token, case_id, "unreachable", {"note": "no answer"})
    assert marked.status_code == 200 and marked.json()["status"] == "unreachable"

    # A customer who calls back later is still reachable from there.
    later = await case_desk.act(token, case_id, "attempts", {"channel": "phone", "reached": True})
    assert later.json()["status"] == "contacted"


async def test_reopen_puts_a_closed_case_back_in_the_queue_unowned(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    ben = await case_desk.agent("ben")
    case_id = await case_desk.case()
    await case_desk.act(ana, case_id, "claim")
    await case_desk.act(ana, case_id, "attempts", {"channel": "phone", "reached": True})
    await case_desk.act(ana, case_id, "resolve", RESOLUTION)
    await case_desk.act(ana, case_id, "close", {})

    reopened = await case_desk.act(ben, case_id, "reopen", {"reason": "credit never arrived"})
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "reopened" and reopened.json()["owner"] is None
    assert reopened.json()["closed_at"] is None
    claimed = await case_desk.act(ben, case_id, "claim")
    assert claimed.json()["owner"] == "ben" and claimed.json()["status"] == "claimed"
    history = (await case_desk.call("GET", f"/api/cases/{case_id}/history", ben)).json()
    assert history[-2]["kind"] == "reopened"
    assert history[-2]["data"]["previous_owner"] == "ana"
    assert history[-2]["data"]["reason"] == "credit never arrived"


@pytest.mark.parametrize(
    ("steps", "action", "body", "code"),
    [
        ([], "attempts", {"channel": "phone", "reached": True}, "illegal_transition"),
        ([], "resolve", RESOLUTION, "illegal_transition"),
        ([], "close", {}, "illegal_transition"),
        ([], "reopen", {"reason": "x"}, "illegal_transition"),
        (["claim"], "resolve", RESOLUTION, "illegal_transition"),  # never reached the customer
        (["claim"], "close", {}, "illegal_transition"),
        (["claim", "reached"], "unreachable", {}, "illegal_transition"),
        (
            ["claim", "reached", "resolve"],
            "attempts",
            {"channel": "phone", "reached": True},
            "illegal_transition",
        ),
        (["claim", "reached", "resolve", "close"], "claim", {}, "illegal_transition"),
        (["claim"], "claim", {}, "already_claimed"),
    ],
)
async def test_illegal_transitions_are_refused_and_change_nothing(
    case_desk: CaseDesk, steps: list[str], action: str, body: dict[str, Any], code: str
) -> None:
    token = await case_desk.agent("ana")
    case_id = await case_desk.case()
    bodies: dict[str, tuple[str, dict[str, Any]]] = {
        "claim": ("claim", {}),
        "reached": ("attempts", {"channel": "phone", "reached": True}),
        "resolve": ("resolve", RESOLUTION),
        "close": ("close", {}),
    }
    for step in steps:
        name, step_body = bodies[step]
        assert (await case_desk.act(token, case_id, name, step_body)).status_code == 200
    before = await case_desk.status(case_id)
    history_before = await history_count(case_desk.pool, case_id)

    refused = await case_desk.act(token, case_id, action, body)

    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == code
    if code == "illegal_transition":
        assert f"while it is {before[0]}" in error["message"]
        assert "allowed from:" in error["message"]
    assert await case_desk.status(case_id) == before
    assert await history_count(case_desk.pool, case_id) == history_before


async def test_resolve_needs_a_known_root_cause_and_an_offer(case_desk: CaseDesk) -> None:
    token = await case_desk.agent("ana")
    case_id = await case_desk.case()
    await case_desk.act(token, case_id, "claim")
    await case_desk.act(token, case_id, "attempts", {"channel": "phone", "reached": True})

    unknown = await case_desk.act(token, case_id, "resolve", {**RESOLUTION, "root_cause": "bad"})
    nothing = await case_desk.act(
        token, case_id, "resolve", {**RESOLUTION, "resolution": {"apology": False}}
    )
    negative = await case_desk.act(
        token,
        case_id,
        "resolve",
        {**RESOLUTION, "resolution": {"compensation": {"value": -5}}},
    )

    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_root_cause"
    assert "billing_error" in unknown.json()["error"]["message"]  # it lists the valid ones
    assert nothing.status_code == 422 and nothing.json()["error"]["code"] == "nothing_offered"
    assert negative.status_code == 422 and negative.json()["error"]["code"] == "invalid_request"
    assert await case_desk.status(case_id) == ("contacted", 3)


async def test_unknown_case_is_404(case_desk: CaseDesk) -> None:
    token = await case_desk.agent("ana")
    answer = await case_desk.act(token, 999_999, "claim")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "case_not_found"


async def test_history_cannot_be_rewritten(case_desk: CaseDesk) -> None:
    token = await case_desk.agent("ana")
    case_id = await case_desk.case()
    await case_desk.act(token, case_id, "claim")

    for statement in (
        "UPDATE case_history SET actor = 'mallory' WHERE case_id = $1",
        "DELETE FROM case_history WHERE case_id = $1",
    ):
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await case_desk.pool.execute(statement, case_id)
    assert await history_count(case_desk.pool, case_id) == 2


async def test_notes_are_kept_verbatim_in_history(case_desk: CaseDesk) -> None:
    token = await case_desk.agent("ana")
    case_id = await case_desk.case()
    text = '<script>alert(1)</script><img src=x onerror="alert(2)"> called twice'
    answer = await case_desk.act(token, case_id, "notes", {"text": text})
    assert answer.status_code == 200 and answer.json()["seq"] == 2
    history = (await case_desk.call("GET", f"/api/cases/{case_id}/history", token)).json()
    assert history[-1]["kind"] == "note_added" and history[-1]["data"]["text"] == text


async def test_a_history_kind_of_a_newer_version_leaves_the_case_usable(
    case_desk: CaseDesk,
) -> None:
    """During a rolling upgrade a newer notifier may write a kind this one cannot name: the
    case must still open, show its history and take actions here."""
    token = await case_desk.agent("ana")
    case_id = await case_desk.case()
    await case_desk.act(token, case_id, "claim")
    async with case_desk.pool.acquire() as conn, conn.transaction():  # as a notifier writes
        await conn.execute("UPDATE recovery_cases SET seq = 3 WHERE id = $1", case_id)
        await conn.execute(
            "INSERT INTO case_history (case_id, seq, kind, actor)"
            " VALUES ($1, 3, 'escalated', 'ben')",
            case_id,
        )

    case = await case_desk.call("GET", f"/api/cases/{case_id}", token)
    assert case.status_code == 200, case.text
    assert [entry["kind"] for entry in case.json()["history"]] == ["opened", "claimed"]
    history = await case_desk.call("GET", f"/api/cases/{case_id}/history", token)
    assert history.status_code == 200 and [entry["seq"] for entry in history.json()] == [1, 2]
    noted = await case_desk.act(token, case_id, "notes", {"text": "left a voicemail"})
    assert noted.status_code == 200 and noted.json()["seq"] == 4


async def history_count(pool: asyncpg.Pool, case_id: int) -> int:
    """How many history entries the case has."""
    count: int = await pool.fetchval(
        "SELECT count(*) FROM case_history WHERE case_id = $1", case_id
    )
    return count
