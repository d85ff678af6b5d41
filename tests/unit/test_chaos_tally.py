"""The fault harness's arithmetic: what counts as lost, doubled, never shown, and recovered."""

from __future__ import annotations

from typing import Any

from winback_local.chaos.console import Console
from winback_local.chaos.faults import FaultRecord
from winback_local.chaos.load import Attempt, Delivery
from winback_local.chaos.plan import FULL, SHORT, Fault, Target
from winback_local.chaos.tally import StoredCase, count, format_table, recoveries


def delivery(response_id: str, *outcomes: tuple[float, str]) -> Delivery:
    d = Delivery(response_id, b"{}", {}, persistent=False)
    d.attempts = [Attempt(sent, sent + 0.1, outcome) for sent, outcome in outcomes]
    return d


def console(*frames: dict[str, object], at: float = 100.0) -> Console:
    c = Console("ws://127.0.0.1:1/ws", "token")
    for frame in frames:
        c.note(frame, at)
    return c


def card(case_id: int, response_id: str) -> dict[str, object]:
    return {"case_id": case_id, "response_id": response_id}


def test_accepted_but_not_stored_is_lost_and_a_refused_one_stored_anyway_is_counted() -> None:
    deliveries = [
        delivery("r1", (1.0, "202")),
        delivery("r2", (1.0, "503"), (2.0, "202")),  # a persistent vendor's retry
        delivery("r3", (1.0, "503")),  # abandoned, yet stored
        delivery("r4", (1.0, "ConnectError")),  # abandoned, not stored
        delivery("r5", (1.0, "202"), (2.0, "202")),  # re-sent after its 202: one delivery
    ]
    stored = [
        StoredCase("r2", 12, 3.0),
        StoredCase("r3", 13, 3.0),
        StoredCase("r5", 15, 3.0),
    ]
    shown = console({"type": "snapshot", "cases": [card(12, "r2"), card(13, "r3")]})

    counts = count(deliveries, stored, [shown])

    assert counts.sent == 5
    assert counts.attempts == 7
    assert counts.accepted == 3
    assert counts.refused_503 == 2
    assert counts.connection_errors == 1
    assert counts.abandoned == 2
    assert counts.abandoned_but_stored == 1
    assert counts.stored == 3
    assert counts.cases == 3
    assert counts.lost == 1  # r1
    assert counts.duplicated == 0
    assert counts.never_shown == 1  # case 15


def test_a_second_case_for_one_response_is_duplicated_whoever_saw_it() -> None:
    stored = [StoredCase("r1", 1, 3.0)]
    seen = console(
        {"type": "case.opened", "case": card(1, "r1")},
        {"type": "case.opened", "case": card(7, "r1")},  # the console was shown another case
    )

    counts = count([delivery("r1", (1.0, "202"))], stored, [seen])

    assert counts.duplicated == 1
    assert counts.never_shown == 0


def test_never_shown_is_the_worst_console_and_frames_without_cases_are_ignored() -> None:
    stored = [StoredCase("r1", 1, 3.0), StoredCase("r2", 2, 3.0)]
    both = console(
        {"type": "hello", "agent": {}},
        {"type": "case.changed", "case": card(1, "r1")},
        {"type": "case.updated", "case": card(2, "r2")},
    )
    one = console({"type": "pong"}, {"type": "case.opened", "case": card(1, "r1")})

    assert count([], stored, [both, one]).never_shown == 1


def test_cases_in_a_batch_of_changes_count_as_shown() -> None:
    stored = [StoredCase("r1", 1, 3.0), StoredCase("r2", 2, 3.0)]
    batch: dict[str, Any] = {
        "type": "cases.changed",
        "changes": [
            {"type": "case.changed", "case": card(1, "r1")},
            {"type": "case.changed", "case": card(2, "r2")},
        ],
    }

    assert count([], stored, [console(batch)]).never_shown == 0


def test_recovery_counts_only_work_begun_after_the_kill_or_the_restart() -> None:
    record = FaultRecord(Fault(Target.ROUTER, 2), "router", killed_at=10.0)
    record.restarting_at, record.restarted_at = 12.0, 15.0
    deliveries = [
        delivery("old", (9.5, "202")),  # sent before the kill, answered after: not recovery
        delivery("new", (10.5, "202")),
    ]
    stored = [StoredCase("old", 1, 11.0), StoredCase("new", 2, 16.0)]
    watcher = console()
    watcher.live_openings = [(11.5, 1), (16.5, 2)]  # case 1 opened before the restart began

    (recovered,) = recoveries([record], deliveries, stored, [watcher])

    assert recovered.ready == 5.0
    assert recovered.first_202 is not None and abs(recovered.first_202 - 0.6) < 1e-9
    assert recovered.first_case == 6.0
    assert recovered.first_alert == 6.5
    table = format_table(count(deliveries, stored, [watcher]), [recovered])
    assert "LOST" in table and "router" in table


def test_recovery_is_blank_when_nothing_came_back() -> None:
    record = FaultRecord(Fault(Target.NOTIFIER, 2), "notifier", killed_at=10.0)

    (recovered,) = recoveries([record], [], [], [console()])

    assert (recovered.ready, recovered.first_202, recovered.first_case) == (None, None, None)
    assert "-" in format_table(count([], [], [console()]), [recovered])


def test_the_plans_kill_what_the_issue_lists() -> None:
    targets = [f.target for f in FULL.faults]
    assert targets.count(Target.ROUTER) == 3
    assert {Target.BROKER, Target.POSTGRES, Target.NOTIFIER, Target.INGEST} <= set(targets)
    assert [f.target for f in SHORT.faults] == [Target.ROUTER, Target.NOTIFIER]


def test_the_console_counts_catch_up_pages_and_resumes_from_the_latest_cursor() -> None:
    c = Console("ws://127.0.0.1:1/ws", "token")
    c.note({"type": "snapshot", "cases": [], "total": 0, "cursor": "c1"}, 1.0)
    card = {"case_id": 7, "response_id": "r7"}
    c.note({"type": "catchup", "cases": [card], "cursor": None}, 2.0)
    assert c.cursor == "c1"  # only the last page of a catch-up carries the next cursor
    c.note({"type": "catchup", "cases": [{"case_id": 8, "response_id": "r8"}], "cursor": "c2"}, 3.0)
    assert c.cursor == "c2"
    assert c.seen == {7: 2.0, 8: 3.0}
