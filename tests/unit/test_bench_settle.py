"""The consoles steps wait for the refiner, and show what their consoles read beside the alerts
(docs/performance.md, section 25). Pure: the backlog readings, clock and sleep are stand-ins."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path

import pytest

from winback_local.bench import cli, probes, report, stats
from winback_local.bench.experiments import Bench, ConsolesResult, Frames
from winback_local.bench.settle import Backlog, Settled, wait_until_settled
from winback_local.bench.stats import Ack, Arrival
from winback_local.stack import StackInfo


class FakeTime:
    """A clock that moves only when slept on, and the readings it hands out one per look."""

    def __init__(self, readings: Iterable[Backlog | None]) -> None:
        self.now = 100.0
        self.readings = iter(readings)
        self.looks: list[float] = []
        self.sleeps: list[float] = []

    def read(self) -> Backlog | None:
        self.looks.append(self.now)
        return next(self.readings)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def wait(self, timeout: float, poll: float = 1.0) -> Settled:
        return wait_until_settled(
            self.read, timeout, poll=poll, clock=lambda: self.now, sleep=self.sleep
        )


def test_an_empty_backlog_starts_the_step_at_once() -> None:
    time = FakeTime([Backlog(0, 0)])
    settled = time.wait(60)
    assert settled == Settled(True, 0.0, Backlog(0, 0), Backlog(0, 0))
    assert time.sleeps == []
    assert settled.text() == "nothing pending"


def test_the_wait_lasts_until_nothing_is_left_to_refine_or_to_send() -> None:
    """Refined is not enough: the re-codes must also have left the outbox (they reach the
    consoles only through its sweep)."""
    time = FakeTime([Backlog(300, 0), Backlog(40, 200), Backlog(0, 12), Backlog(0, 0)])
    settled = time.wait(60)
    assert settled.settled
    assert settled.seconds == 3.0
    assert (settled.first, settled.last) == (Backlog(300, 0), Backlog(0, 0))
    assert time.looks == [100.0, 101.0, 102.0, 103.0]
    assert settled.text() == "300 to refine · 0 unsent: settled in 3.0 s"


def test_a_wait_that_runs_out_says_what_was_left_and_never_overshoots_its_bound() -> None:
    time = FakeTime([Backlog(900 - 10 * n, 5) for n in range(100)])
    settled = time.wait(2.5)
    assert not settled.settled
    assert settled.seconds == 2.5
    # Looks at 0, 1, 2 s and one last at the deadline itself, not a second past it.
    assert time.looks == [100.0, 101.0, 102.0, 102.5]
    assert time.sleeps == [1.0, 1.0, 0.5]
    assert settled.last == Backlog(870, 5)
    assert settled.text() == "NOT SETTLED after 2 s: 870 to refine · 5 unsent left"


def test_a_backlog_that_could_not_be_read_never_counts_as_empty() -> None:
    unread = FakeTime([None, None, None])
    settled = unread.wait(2)
    assert not settled.settled and settled.first is None and settled.last is None
    assert settled.text() == "NOT READ in 2 s"

    later = FakeTime([None, Backlog(7, 0), None, Backlog(0, 0)])
    settled = later.wait(10)
    assert settled.settled and settled.first == Backlog(7, 0) and settled.seconds == 3.0


def test_without_a_refiner_the_steps_do_not_wait(tmp_path: Path) -> None:
    info = StackInfo("http://i", "http://n", "http://r", "demo", "s", "t", "k", "postgresql://x")
    assert Bench(tmp_path, tmp_path, info, {}).settle_refiner() is None


def test_an_unreachable_database_reads_as_unknown_and_a_bad_query_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert probes.refiner_backlog("postgresql://bench@127.0.0.1:1/none") is None

    async def broken(_url: str) -> Backlog:
        raise ValueError("a bug, not the database being away")

    monkeypatch.setattr(probes, "_read_backlog", broken)
    with pytest.raises(ValueError, match="a bug"):
        probes.refiner_backlog("postgresql://bench@127.0.0.1:1/none")


def test_the_wait_is_an_option_bounded_like_the_others() -> None:
    assert cli.parse_args([]).settle_wait == 120
    assert cli.parse_args(["--short"]).settle_wait == 60
    assert cli.parse_args(["--settle-wait", "300"]).settle_wait == 300
    with pytest.raises(SystemExit):
        cli.parse_args(["--settle-wait", "4000"])


def _step(
    settled: Settled | None, frames: Frames | None, target: str = "notifier"
) -> ConsolesResult:
    fan = stats.fanout([Ack(0, 0, 0, 1000, 202)], [Arrival(0, 0, 5000)], [0])
    return ConsolesResult(
        1000, 1001, 4.0, fan, [], [], target=target, settled=settled, frames=frames
    )


def test_frames_beside_the_alerts_are_read_from_the_generator_s_summary() -> None:
    summary = {
        "frames": {"besides": [256, 0, 256, 257], "by_type": {"case.changed": 769}, "before": 3}
    }
    frames = Frames.of(summary)
    assert frames == Frames((256, 0, 256, 257), {"case.changed": 769}, 3)
    assert frames.per_console() == (256, 257)
    assert Frames.of({}) is None  # no consoles, or a generator from before it counted
    assert Frames((), {}, 0).per_console() == (0, 0)


def test_a_polluted_step_shows_in_its_row_and_a_clean_one_reads_zero() -> None:
    clean = _step(Settled(True, 0.0, Backlog(0, 0), Backlog(0, 0)), Frames((0, 0), {}, 0))
    polluted = _step(
        Settled(False, 60.0, Backlog(300, 0), Backlog(250, 6)),
        Frames((256, 256), {"case.changed": 512, "case.opened": 2}, 0),
    )
    table = report.consoles_table([clean, polluted, _step(None, None)])
    assert table[2].endswith("| nothing pending | 0 / 0 |")
    assert table[3].endswith(
        "| NOT SETTLED after 60 s: 250 to refine · 6 unsent left "
        "| 256 / 256 (case.changed 256.0, case.opened 1.0) |"
    )
    assert table[4].endswith("| - | - |")
    assert all(line.count("|") == table[0].count("|") for line in table)


def test_a_step_started_unsettled_is_noted_under_the_tables() -> None:
    result = report.Result(machine="m", calibration=argparse.Namespace())  # type: ignore[arg-type]
    cli._settle_note(result, _step(Settled(True, 4.0, Backlog(9, 0), Backlog(0, 0)), None))
    cli._settle_note(result, _step(None, None))
    assert result.notes == []
    late = Settled(False, 60.0, Backlog(300, 0), Backlog(250, 6))
    cli._settle_note(result, _step(late, None, target="bare"))
    assert result.notes == [
        "consoles step (1,000 consoles, bare fan-out) started unsettled: refiner "
        "NOT SETTLED after 60 s: 250 to refine · 6 unsent left"
    ]


def test_a_sweep_cut_short_never_reads_as_every_alert_received() -> None:
    """A sweep step whose generator ran out of time ends the sweep; the rows measured so far
    are printed, and the verdict says something is missing."""
    result = report.Result(machine="m", calibration=argparse.Namespace())  # type: ignore[arg-type]
    assert result.all_alerts
    result.cut_short = True
    assert report.render(result).splitlines()[-1] == "verdict: ALERTS MISSING or errors"
