"""The consoles experiment's own figures: sign-in stages, the notifier's publish-to-written
histogram, and the bare fan-out the same generator is calibrated against."""

from __future__ import annotations

import math

from winback_local.bench import report, stats
from winback_local.bench.bare_consoles import frame_for
from winback_local.bench.experiments import ConsolesResult
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
