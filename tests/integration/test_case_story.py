"""The story so far (issue 17) on a real notifier and PostgreSQL: a repeat customer's earlier
cases across sources with their outcomes, the triggering interaction, what must not be linked,
and claiming a customer's open cases together, safely when two agents click at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.case_support import CaseDesk
from winback_shared.agents import Role
from winback_shared.survey import Customer, Interaction

RESOLVED: dict[str, Any] = {
    "root_cause": "billing_error",
    "resolution": {"apology": True, "explanation": "Charged twice for the plan change."},
    "customer_reaction": "satisfied",
}
CALL = Interaction(
    id="call-5521",
    channel="phone",
    agent="jmoreau",
    team="Billing T2",
    occurred_at=datetime(2026, 11, 23, 8, 52, tzinfo=UTC),
)
DAYS_AGO = datetime.now(UTC) - timedelta(days=20)


def dana(source_id: str, **fields: str) -> Customer:
    """Dana as one source knows her: its own customer id, the contact details it has."""
    return Customer.model_validate({"id": source_id, "name": "Dana Whitfield", **fields})


async def resolve(desk: CaseDesk, token: str, case_id: int) -> None:
    for action, body in (
        ("claim", {}),
        ("attempts", {"channel": "phone", "reached": True, "note": "talked"}),
        ("resolve", RESOLVED),
    ):
        answer = await desk.act(token, case_id, action, body)
        assert answer.status_code == 200, answer.text


async def story(desk: CaseDesk, token: str, case_id: int) -> dict[str, Any]:
    answer = await desk.call("GET", f"/api/cases/{case_id}/story", token)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_a_repeat_customer_across_sources_with_outcomes_and_the_interaction(
    case_desk: CaseDesk,
) -> None:
    ana = await case_desk.agent("ana")
    earlier = await case_desk.case(
        source="typeform",
        customer=dana("t-1", email="dana@example.com", phone="07700 900123"),
        comment="Billed twice.",
        submitted_at=DAYS_AGO,
    )
    await resolve(case_desk, ana, earlier)
    # Someone else in Dana's household, answering the same shop's survey from the same landline.
    household = await case_desk.case(
        source="typeform", customer=dana("t-2", phone="07700 900123"), comment="Mine, not hers."
    )
    now = await case_desk.case(
        source="zendesk",
        customer=dana("z-9", email=" Dana@Example.com", phone="+44 7700 900123"),
        interaction=CALL,
    )

    found = await story(case_desk, ana, now)
    assert found["interaction"] == {
        "id": "call-5521",
        "channel": "phone",
        "agent": "jmoreau",
        "team": "Billing T2",
        "occurred_at": "2026-11-23T08:52:00Z",
        "source": "zendesk",
        "survey_id": None,
        "response_id": found["interaction"]["response_id"],
        "submitted_at": None,
        "received_at": found["interaction"]["received_at"],
    }
    [before] = found["responses"]  # the household's case is not Dana's
    assert before["matched_by"] == ["email"]  # the landline is shared: it links nobody
    assert before["source"] == "typeform" and before["before"] is True
    assert before["comment"] == "Billed twice."
    case = before["case"]
    assert case["case_id"] == earlier and case["status"] == "resolved" and case["owner"] == "ana"
    assert case["root_cause"] == "billing_error" and case["root_cause_label"]
    assert case["resolution"]["explanation"] == "Charged twice for the plan change."
    assert case["customer_reaction"] == "satisfied"
    assert found["repeat"] is True and found["open_cases"] == []

    assert (await story(case_desk, ana, household))["responses"] == []
    marks = await case_desk.call(
        "GET", f"/api/repeat-customers?case_id={now}&case_id={household}&case_id={earlier}", ana
    )
    assert [mark["case_id"] for mark in marks.json()] == [now]


async def test_the_story_is_read_as_the_case_is(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    vip = await case_desk.agent("vic", queues=("vip",))
    mine = await case_desk.case()
    theirs = await case_desk.case(queue="vip", comment="Private words.")
    refused = await case_desk.call("GET", f"/api/cases/{theirs}/story", ana)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    missing = await case_desk.call("GET", "/api/cases/999999/story", ana)
    assert missing.status_code == 404
    assert (await case_desk.call("GET", f"/api/cases/{mine}/story", None)).status_code == 401
    # The other queue's case of the same customer is shown (not to call twice), not its words.
    [linked] = (await story(case_desk, ana, mine))["open_cases"]
    assert linked["case_id"] == theirs and linked["visible"] is False
    assert linked["claimable"] is False
    [response] = (await story(case_desk, ana, mine))["responses"]
    assert response["comment"] is None
    assert (await story(case_desk, vip, theirs))["responses"][0]["comment"] is None  # ana's queue
    sue = await case_desk.agent("sue", Role.SUPERVISOR)  # sees every queue
    assert (await story(case_desk, sue, mine))["responses"][0]["comment"] == "Private words."


async def test_claiming_together_takes_all_or_none(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    bob = await case_desk.agent("bob")
    first, second, third = [await case_desk.case() for _ in range(3)]
    listed = (await story(case_desk, ana, first))["open_cases"]
    assert [(c["case_id"], c["claimable"], c["owner"]) for c in listed] == [
        (second, True, None),
        (third, True, None),
    ]
    assert (await case_desk.act(bob, third, "claim")).status_code == 200
    listed = (await story(case_desk, ana, first))["open_cases"]
    assert [(c["case_id"], c["claimable"], c["owner"]) for c in listed] == [
        (second, True, None),
        (third, False, "bob"),
    ]

    refused = await case_desk.act(ana, first, "claim-together", {"linked": [second, third]})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "linked_owned"
    assert "bob" in refused.json()["error"]["message"]
    assert [await case_desk.status(c) for c in (first, second)] == [("open", 1), ("open", 1)]

    claimed = await case_desk.act(ana, first, "claim-together", {"linked": [second]})
    assert claimed.status_code == 200, claimed.text
    assert [(card["case_id"], card["owner"]) for card in claimed.json()] == [
        (first, "ana"),
        (second, "ana"),
    ]
    stranger = await case_desk.case(customer=Customer(id="c-2", name="Sam Okafor"))
    unlinked = await case_desk.act(bob, stranger, "claim-together", {"linked": [first]})
    assert unlinked.status_code == 409 and unlinked.json()["error"]["code"] == "not_linked"
    assert await case_desk.status(stranger) == ("open", 1)


async def test_two_agents_claiming_one_customer_at_once_never_split_the_cases(
    case_desk: CaseDesk,
) -> None:
    ana = await case_desk.agent("ana")
    bob = await case_desk.agent("bob")
    for _ in range(5):
        customer = Customer(id=f"c-{datetime.now(UTC).timestamp()}", name="Lee Park")
        one, two = [await case_desk.case(customer=customer) for _ in range(2)]
        answers = await asyncio.gather(
            case_desk.act(ana, one, "claim-together", {"linked": [two]}),
            case_desk.act(bob, two, "claim-together", {"linked": [one]}),
        )
        assert sorted(answer.status_code for answer in answers) == [200, 409]
        owners = await case_desk.pool.fetch(
            "SELECT DISTINCT owner_id FROM recovery_cases WHERE id = ANY($1::bigint[])", [one, two]
        )
        assert len(owners) == 1 and owners[0]["owner_id"] is not None
