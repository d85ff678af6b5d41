"""``scripts/perf/console_arrivals.py`` splits each alert into first console and spread."""

from __future__ import annotations

from types import ModuleType

from tests.support import perf_script
from winback_local.bench.stats import Ack, Arrival


def tool() -> ModuleType:
    """The script as a module."""
    return perf_script("console_arrivals")


def test_each_alert_gets_its_first_median_and_last_console_from_its_own_schedule() -> None:
    acks = [Ack(0, 0, 10, 500, 202), Ack(1, 100_000, 100_010, 100_500, 202)]
    arrivals = [
        Arrival(console=0, index=0, arrival_us=50_000),
        Arrival(console=1, index=0, arrival_us=80_000),
        Arrival(console=2, index=0, arrival_us=350_000),
        Arrival(console=0, index=1, arrival_us=160_000),
        Arrival(console=1, index=1, arrival_us=140_000),
    ]
    rows = tool().per_alert(acks, arrivals)
    assert [(r.index, r.consoles, r.first, r.median, r.last) for r in rows] == [
        (0, 3, 50.0, 80.0, 350.0),
        (1, 2, 40.0, 50.0, 60.0),
    ]
    assert [r.spread for r in rows] == [300.0, 20.0]


def test_a_refused_webhook_and_an_alert_nobody_read_are_left_out() -> None:
    acks = [Ack(0, 0, 10, 500, 503), Ack(1, 100_000, 100_010, 100_500, 202), Ack(2, 0, 0, 0, 202)]
    arrivals = [Arrival(0, 0, 70_000), Arrival(0, 1, 170_000)]
    rows = tool().per_alert(acks, arrivals)
    assert [r.index for r in rows] == [1]


def test_the_table_ends_with_the_medians_over_the_alerts() -> None:
    module = tool()
    rows = [
        module.AlertArrivals(0, 2, 10.0, 20.0, 30.0),
        module.AlertArrivals(1, 2, 30.0, 40.0, 90.0),
    ]
    text = module.table(rows)
    assert text.splitlines()[-1].split() == ["median", "20", "30", "60", "40"]
    assert module.table([]).count("\n") == 0
