"""``winback send``'s wait for a delivery's fate, without a stack: the router's decision from
what the database holds, the client's polling, and the line the user reads."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from winback_local import cli
from winback_local.delivery_fate import (
    NoAnswer,
    Sent,
    ask_router,
    describe_fate,
    fate_url,
    report_fate,
    wait_for_fate,
)
from winback_router.dead_letters.fates import LetterSeen, StoredResponse, decide

SENT = Sent(receipt_id="rcpt-1", source="demo", response_id="demo-1")


def stored(receipt_id: str = "rcpt-1", case_id: int | None = 7) -> StoredResponse:
    """A stored response as the router's lookup returns it."""
    return StoredResponse(
        receipt_id=receipt_id,
        needs_recovery=case_id is not None,
        scores=[{"kind": "nps", "value": 2.0}],
        codes=["agent_knowledge"],
        case_id=case_id,
    )


def test_a_stored_response_with_a_case_is_a_case_and_without_one_is_stored() -> None:
    with_case = decide("rcpt-1", stored(), None)
    assert (with_case.fate, with_case.case_id) == ("case", 7)
    assert with_case.reasons == ["agent_knowledge"]
    assert decide("rcpt-1", stored(case_id=None), None).fate == "stored"
    assert decide("rcpt-1", None, None).fate == "unseen"


def test_this_receipts_dead_letter_wins_over_an_earlier_delivery_of_the_response() -> None:
    letter = LetterSeen(id=3, error="no score")
    fate = decide("rcpt-2", stored(receipt_id="rcpt-1"), letter)
    assert (fate.fate, fate.dead_letter_id, fate.error) == ("dead_letter", 3, "no score")
    # Replayed once fixed, the same receipt is stored: that is the fate now.
    assert decide("rcpt-1", stored(receipt_id="rcpt-1"), letter).fate == "case"
    # A repeat that did not fail is reported as what is stored, with the other receipt.
    repeat = decide("rcpt-2", stored(receipt_id="rcpt-1"), None)
    assert (repeat.fate, repeat.stored_receipt_id) == ("case", "rcpt-1")


def test_the_url_names_the_receipt_and_the_response_when_known() -> None:
    assert fate_url("http://r", SENT) == (
        "http://r/ops/deliveries/rcpt-1?source=demo&response_id=demo-1"
    )
    odd = Sent(receipt_id="a/b", source="s", response_id=None)
    assert fate_url("http://r", odd) == "http://r/ops/deliveries/a%2Fb"


class FakeClock:
    """Time that passes only when the wait sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_wait_stops_at_a_final_answer() -> None:
    replies: list[dict[str, Any]] = [{"fate": "unseen"}, {"fate": "unseen"}, {"fate": "case"}]
    answers = iter(replies)
    clock = FakeClock()
    got = wait_for_fate(lambda: next(answers), 10, clock=lambda: clock.now, sleep=clock.sleep)
    assert got["fate"] == "case"
    assert clock.now == pytest.approx(0.5)


def test_the_wait_gives_up_after_its_time_having_asked_at_the_end() -> None:
    asked: list[float] = []
    clock = FakeClock()

    def ask() -> dict[str, Any]:
        asked.append(clock.now)
        return {"fate": "unseen"}

    got = wait_for_fate(ask, 1, clock=lambda: clock.now, sleep=clock.sleep)
    assert got["fate"] == "unseen"
    assert asked[-1] == pytest.approx(1.0), "a last question once the time is up"
    assert len(asked) == 5


@pytest.mark.parametrize(
    ("fate", "expected"),
    [
        ({"fate": "case", "case_id": 12, "reasons": ["billing", "rude"]}, "case 12 opened"),
        ({"fate": "case", "case_id": 12, "reasons": []}, "(reasons none coded)"),
        (
            {"fate": "stored", "scores": [{"kind": "nps", "value": 10.0}]},
            "stored, no case needed (score nps 10)",
        ),
        (
            {"fate": "dead_letter", "dead_letter_id": 4, "error": "no score found"},
            "dead letter 4: no score found",
        ),
        ({"fate": "unseen"}, "not seen yet after 10 s"),
    ],
)
def test_each_fate_reads_as_one_line(fate: dict[str, Any], expected: str) -> None:
    assert expected in describe_fate(fate, SENT, 10)


def test_a_repeat_says_an_earlier_delivery_stored_the_response() -> None:
    line = describe_fate({"fate": "case", "case_id": 1, "stored_receipt_id": "old"}, SENT, 10)
    assert "earlier delivery (receipt old)" in line
    assert "earlier" not in describe_fate({"fate": "case", "case_id": 1}, SENT, 10)


def test_without_a_response_id_only_a_dead_letter_could_have_been_seen() -> None:
    blind = Sent(receipt_id="r", source="my-typeform", response_id=None)
    line = describe_fate({"fate": "unseen"}, blind, 10)
    assert "no dead letter after 10 s" in line and "console" in line


class _Router(http.server.BaseHTTPRequestHandler):
    """Answers the fate route with a fixed status and body; keeps the paths asked."""

    status = 200
    body = b'{"fate": "dead_letter", "dead_letter_id": 9, "error": "bad"}'
    asked: ClassVar[list[tuple[str, str | None]]] = []

    def do_GET(self) -> None:
        type(self).asked.append((self.path, self.headers.get("Authorization")))
        self.send_response(self.status)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads ``asked``."""


@pytest.fixture
def router_url() -> Iterator[str]:
    """A fake router on a free loopback port."""
    _Router.status, _Router.asked = 200, []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Router)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_router_is_asked_with_the_agents_token(router_url: str) -> None:
    line, dead = report_fate(router_url, "tok", SENT, 5)
    assert dead and line.startswith("dead letter 9: bad")
    assert _Router.asked == [
        ("/ops/deliveries/rcpt-1?source=demo&response_id=demo-1", "Bearer tok")
    ]


def test_a_router_that_refuses_or_is_down_leaves_the_fate_unknown(router_url: str) -> None:
    _Router.status = 403
    with pytest.raises(NoAnswer, match="answered 403"):
        ask_router(router_url, "tok", SENT)
    line, dead = report_fate("http://127.0.0.1:9", "tok", SENT, 5)
    assert not dead and line.startswith("fate unknown: the router at http://127.0.0.1:9")


def test_send_waits_by_default_and_not_with_no_wait() -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["send", "--nps", "2"]).wait == 10
    assert parser.parse_args(["send", "--nps", "2", "--wait", "3"]).wait == 3
    assert parser.parse_args(["send", "--nps", "2", "--no-wait"]).wait == 0
    with pytest.raises(SystemExit):
        parser.parse_args(["send", "--nps", "2", "--no-wait", "--wait", "3"])
