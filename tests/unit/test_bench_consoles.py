"""The consoles experiment's own figures: sign-in stages, the notifier's publish-to-written
histogram, the pause before the alerts, and the bare fan-out the same generator is calibrated
against (with a snapshot as large as the notifier's)."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from winback_local.bench import report, stats
from winback_local.bench.bare_consoles import create_app, frame_for, snapshot_of
from winback_local.bench.experiments import ConsolesResult, Quiet
from winback_local.bench.loadgen import Consoles, Plan
from winback_local.bench.stats import Arrival


def test_a_quantile_is_read_from_what_the_histogram_gained_over_the_step() -> None:
    before = {0.01: 5.0, 0.1: 5.0, 1.0: 5.0, math.inf: 5.0}
    after = {0.01: 5.0, 0.1: 95.0, 1.0: 104.0, math.inf: 105.0}  # 100 new: 90 ≤ 0.1 s

    assert stats.bucket_quantile(before, after, 0.5) == 0.1
    assert stats.bucket_quantile(before, after, 0.99) == 1.0
    assert math.isnan(stats.bucket_quantile(after, after, 0.5))
    assert math.isnan(stats.bucket_quantile({}, {}, 0.5))


def test_sign_in_stages_are_percentiles_of_each_console() -> None:
    rows = [
        {"dial_us": 1000 * n, "hello_us": 2000 * n, "snapshot_us": 100, "snapshot_bytes": 9}
        for n in range(1, 101)
    ]

    stages = stats.signin_stages(rows)

    assert (stages["dial"].p50, stages["hello"].p99, stages["snapshot"].p50) == (50.0, 198.0, 0.1)


def test_the_table_shows_the_bare_row_and_both_sides_of_the_socket() -> None:
    fan = stats.fanout([stats.Ack(0, 0, 0, 1, 202, "")], [Arrival(0, 0, 5000)], [0])
    signin = stats.signin_stages([{"dial_us": 3000, "hello_us": 40000, "snapshot_us": 2000}])
    notifier = ConsolesResult(
        1000, 1001, 9.5, fan, [], [], signin=signin, snapshot_bytes=2048, written=(0.05, 0.25)
    )
    bare = ConsolesResult(1000, 1001, 2.0, fan, [], [], target="bare")

    table = report.consoles_table([notifier, bare])

    assert "| 3 / 3 · 40 / 40 · 2 / 2 (2 KB) |" in table[2]
    assert "| ≤ 50 / ≤ 250 |" in table[2]
    assert table[3].startswith("| 1,000, bare fan-out | 1,001 |")


def test_a_webhook_becomes_one_frame_carrying_its_body_as_the_case() -> None:
    assert frame_for(b'{"response_id": "r-1", "nps": 2}') == (
        '{"type":"case.opened","case":{"response_id":"r-1","nps":2}}'
    )
    assert frame_for(b"not json") is None
    assert frame_for(b'{"no": "id"}') is None


@pytest.mark.parametrize("size", [100, 3000, 2049, 1_473_000, 1_508_123])
def test_the_bare_snapshot_is_as_large_as_asked_and_a_snapshot_still(size: int) -> None:
    text = snapshot_of(size)

    assert len(text.encode()) == size
    assert text.startswith('{"type":"snapshot",')  # the generator reads the type token first
    assert json.loads(text)["total"] == len(json.loads(text)["cases"])


def test_a_bare_snapshot_smaller_than_an_empty_one_is_the_empty_one() -> None:
    assert (
        snapshot_of(0)
        == snapshot_of(10)
        == ('{"type":"snapshot","cases":[],"total":0,"cursor":"bare"}')
    )


async def test_each_bare_console_signs_in_to_a_snapshot_of_the_size_given() -> None:
    """Driven as uvicorn drives it (ASGI messages): auth, then hello and the snapshot."""
    incoming: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": '{"type":"auth","token":"any"}'},
    ]
    sent: list[MutableMapping[str, Any]] = []
    signed_in = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await signed_in.wait()  # then the console leaves
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)
        if len(sent) == 3:  # accept, hello, snapshot
            signed_in.set()

    scope = {"type": "websocket", "path": "/ws", "headers": [], "query_string": b""}
    await asyncio.wait_for(create_app(snapshot_bytes=5000)(scope, receive, send), 5)

    assert [m["type"] for m in sent[:3]] == ["websocket.accept", *["websocket.send"] * 2]
    assert json.loads(sent[1]["text"])["type"] == "hello"
    assert len(sent[2]["text"].encode()) == 5000


def test_the_generator_is_told_to_settle_before_the_alerts(tmp_path: Path) -> None:
    consoles = Consoles("ws://127.0.0.1:2/ws", "tok", reading=3, slow=1, settle=1.5)
    argv = Plan(requests=tmp_path / "r", url="u", out=tmp_path, consoles=consoles).argv(
        Path("/bin/loadgen")
    )

    assert "-settle=1.5s" in argv


def test_the_pause_before_the_alerts_is_read_from_the_generators_summary() -> None:
    summary = {
        "quiet": {"after_snapshot_us": 1_250_000, "cpu_us": 4_000, "pings_before": 7},
        "pings_during": 2,
    }

    assert Quiet.of(summary) == Quiet(1.25, 0.004, 7, 2)
    assert Quiet.of({"quiet": None}) is None  # no consoles in that run


def test_the_table_shows_the_pause_and_what_closed_the_console_not_reading() -> None:
    fan = stats.fanout([stats.Ack(0, 0, 0, 1, 202, "")], [Arrival(0, 0, 5000)], [0])
    queue = {"closed": "closed by the notifier: 1013", "frames_left": 1048}
    ping = {"closed": "closed by the notifier: 1011", "frames_left": 60}
    still = {"closed": "still open", "frames_left": 50}
    quiet = Quiet(1.25, 0.004, 7, 0)
    rows = [
        ConsolesResult(1000, 1001, 9.5, fan, [queue], [], quiet=quiet),
        ConsolesResult(1000, 1001, 9.5, fan, [ping], []),
        ConsolesResult(1000, 1001, 9.5, fan, [still], [], target="bare"),
    ]

    table = report.consoles_table(rows)

    assert table[2].endswith("| 1.2 s · 4 ms · 7 / 0 | - | - |")
    assert "1013, 1048 frames unread (its queue was full)" in table[2]
    assert "1011, 60 frames unread (no pong in time: uvicorn's ping timeout" in table[3]
    assert table[3].endswith("| - | - | - |")
    assert "| still open, 50 frames unread |" in table[4]
