"""Agents label the reasons (the case panel's "reasons right / wrong", and the root cause at
resolution), on a real notifier, Kafka and PostgreSQL; ``evaluate --split agent`` scores the
coding against those labels, read back from the database, and ``train --with-agent-labels``
trains on them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.case_support import CaseDesk
from winback_router.coding import evaluate, train
from winback_shared.agents import Role

WAIT = "Waited 45 minutes on hold."
WAIT_REASON = {
    "code": "long_wait",
    "label": "Long hold or wait",
    "evidence": "Waited 45 minutes on hold",
    "method": "free_text_rules",
    "confidence": 0.8,
    "evidence_source": "comment",
}
REACHED = {"channel": "phone", "reached": True, "note": "talked it through"}


def review(codes: list[str], follow_up: bool = False, note: str = "") -> dict[str, Any]:
    return {"codes": codes, "follow_up_requested": follow_up, "note": note}


def resolution(root_cause: str) -> dict[str, Any]:
    return {
        "root_cause": root_cause,
        "resolution": {"apology": True},
        "customer_reaction": "satisfied",
    }


async def history(desk: CaseDesk, token: str, case_id: int) -> list[dict[str, Any]]:
    answer = await desk.call("GET", f"/api/cases/{case_id}/history", token)
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()
    return entries


async def test_the_owner_confirms_a_supervisor_corrects_and_consoles_see_it_live(
    case_desk: CaseDesk,
) -> None:
    ana = await case_desk.agent("ana")
    sue = await case_desk.agent("sue", Role.SUPERVISOR, queues=[])
    case_id = await case_desk.case(comment=WAIT, reasons=[WAIT_REASON])
    assert (await case_desk.act(ana, case_id, "claim")).status_code == 200

    async with case_desk.console(sue) as console:
        confirmed = await case_desk.act(ana, case_id, "reasons", review(["long_wait"]))
        assert confirmed.status_code == 200, confirmed.text
        card = confirmed.json()
        assert (card["status"], card["owner"], card["seq"]) == ("claimed", "ana", 3)
        assert [r["code"] for r in card["reasons"]] == ["long_wait"]  # the coding stays as is
        change = await console.next_of("case.changed")
        assert change["change"]["kind"] == "reasons_reviewed" and change["case"]["seq"] == 3

        corrected = await case_desk.act(
            sue, case_id, "reasons", review(["rude", "long_wait"], True, "she was cut off")
        )
        assert corrected.status_code == 200, corrected.text
        change = await console.next_of("case.changed")
        assert change["change"]["actor"] == "sue" and change["case"]["seq"] == 4

    entries = [e for e in await history(case_desk, ana, case_id) if e["kind"] == "reasons_reviewed"]
    assert [(e["actor"], e["data"]) for e in entries] == [
        (
            "ana",
            {
                "verdict": "confirmed",
                "codes": ["long_wait"],
                "follow_up_requested": False,
                "coded": ["long_wait"],
                "coded_follow_up": False,
                "note": "",
                "status": "claimed",
            },
        ),
        (
            "sue",
            {
                "verdict": "corrected",
                "codes": ["long_wait", "rude"],  # in the taxonomy's order
                "follow_up_requested": True,
                "coded": ["long_wait"],
                "coded_follow_up": False,
                "note": "she was cut off",
                "status": "claimed",
            },
        ),
    ]


async def test_who_may_not_review_and_unknown_codes_change_nothing(case_desk: CaseDesk) -> None:
    ana = await case_desk.agent("ana")
    ben = await case_desk.agent("ben")
    olga = await case_desk.agent("olga", queues=["billing"])
    case_id = await case_desk.case(comment=WAIT, reasons=[WAIT_REASON])

    unclaimed = await case_desk.act(ana, case_id, "reasons", review(["long_wait"]))
    assert unclaimed.status_code == 409 and unclaimed.json()["error"]["code"] == "not_claimed"
    assert (await case_desk.act(ana, case_id, "claim")).status_code == 200

    by_colleague = await case_desk.act(ben, case_id, "reasons", review(["long_wait"]))
    assert by_colleague.status_code == 403, by_colleague.text
    assert by_colleague.json()["error"]["code"] == "not_owner"
    assert "owned by ana" in by_colleague.json()["error"]["message"]
    by_outsider = await case_desk.act(olga, case_id, "reasons", review(["long_wait"]))
    assert by_outsider.status_code == 403 and by_outsider.json()["error"]["code"] == "forbidden"

    unknown = await case_desk.act(ana, case_id, "reasons", review(["long_wait", "parking"]))
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["error"]["code"] == "unknown_reason_code"
    assert "'parking'" in unknown.json()["error"]["message"]
    assert "billing_error" in unknown.json()["error"]["message"]  # says what is accepted
    reserved = await case_desk.act(ana, case_id, "reasons", review(["asks_contact"]))
    assert reserved.status_code == 422
    malformed = await case_desk.act(ana, case_id, "reasons", {"codes": "long_wait"})
    assert malformed.status_code == 422

    assert await case_desk.status(case_id) == ("claimed", 2)


async def test_evaluate_scores_the_coding_against_what_agents_said(
    case_desk: CaseDesk,
    schema_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    ana = await case_desk.agent("ana")

    async def worked(comment: str, *, reached: bool = False) -> int:
        case_id = await case_desk.case(comment=comment, reasons=[WAIT_REASON])
        assert (await case_desk.act(ana, case_id, "claim")).status_code == 200
        if reached:
            assert (await case_desk.act(ana, case_id, "attempts", REACHED)).status_code == 200
        return case_id

    async def ok(case_id: int, action: str, body: dict[str, Any]) -> None:
        answer = await case_desk.act(ana, case_id, action, body)
        assert answer.status_code == 200, answer.text

    confirmed = await worked(WAIT)
    await ok(confirmed, "reasons", review(["long_wait"]))
    twice = await worked(WAIT)  # the latest correction wins
    await ok(twice, "reasons", review(["billing_error"]))
    await ok(twice, "reasons", review(["long_wait", "billing_error"]))
    found = await worked("The agent had no idea how my tariff works.", reached=True)
    await ok(found, "resolve", resolution("product_knowledge"))  # partial, found
    missed = await worked("n/a", reached=True)
    await ok(missed, "resolve", resolution("billing_error"))  # partial, missed
    later = await worked(WAIT, reached=True)
    await ok(later, "reasons", review(["long_wait"], follow_up=True))  # asked on the phone
    await ok(later, "resolve", resolution("rude"))  # learned on the call: joins the review
    await worked(WAIT)  # claimed, never labelled: not counted

    monkeypatch.setenv("DATABASE_URL", schema_url)
    await asyncio.to_thread(evaluate.main, ["--split", "agent", "--no-model"])
    table = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[2:]}
    assert table.startswith("rules alone, agent: 5 comments")
    assert rows["long_wait"] == ["1.00", "1.00", "1.00", "3"]
    assert rows["billing_error"] == ["1.00", "0.00", "0.00", "2"]  # one full, one partial miss
    assert rows["product_knowledge"] == ["1.00", "1.00", "1.00", "1"]
    assert rows["rude"] == ["1.00", "0.00", "0.00", "1"]
    assert rows["transferred"][-1] == "0"
    assert "macro-F1 0.500" in table
    assert "labels: 3 reviewed by an agent (full), 2 root cause at resolution only" in table
    assert "asks to be contacted P / R / F1 (full labels): 1.00 / 0.00 / 0.00 (1)" in table

    output = tmp_path / "with-agents.npz"
    argv = ["--sample", "120", "--output", str(output), "--with-agent-labels"]
    await asyncio.to_thread(train.main, argv)
    trained = capsys.readouterr().out
    assert "agent-reviewed cases: 3 (full labels with text)" in trained
    assert "trained on 123 comments" in trained
    assert output.exists()
