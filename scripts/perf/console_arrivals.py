"""One kept consoles step, alert by alert: when the first, the median and the last console read it.

    .venv/bin/python scripts/perf/console_arrivals.py /tmp/winback-bench-XXXX/05-consoles-1000

A measuring aid for ``docs/performance.md`` (section 31), not the load harness. The harness's
consoles table gives one alert's time to reach all consoles as percentiles over the step's
alerts; this splits each alert into the time to its first console (the pipeline and the
notifier's read, for the notifier's row) and the spread from its first console to its last
(the fan-out: the server's writes and the consoles' reads). Times are milliseconds from the
webhook's scheduled send, on the generator's clock, read from the step's ``acks.csv`` and
``alerts.csv`` (``python -m winback_local.bench --keep``). Running it on a step and on its
bare fan-out row side by side shows which part of the gap is the spread.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from winback_local.bench.loadgen import read_records
from winback_local.bench.stats import Ack, Arrival, accepted


class AlertArrivals(NamedTuple):
    """One alert across the consoles that read it (ms from its scheduled send)."""

    index: int
    consoles: int
    first: float
    median: float
    last: float

    @property
    def spread(self) -> float:
        """From the first console to the last."""
        return self.last - self.first


def per_alert(acks: Iterable[Ack], arrivals: Iterable[Arrival]) -> list[AlertArrivals]:
    """Each accepted alert that reached at least one console, in index order."""
    scheduled = {ack.index: ack.scheduled_us for ack in accepted(acks)}
    waits: dict[int, list[int]] = {}
    for arrival in arrivals:
        if arrival.index in scheduled:
            waits.setdefault(arrival.index, []).append(
                arrival.arrival_us - scheduled[arrival.index]
            )
    return [
        AlertArrivals(
            index=index,
            consoles=len(us),
            first=min(us) / 1000,
            median=statistics.median(us) / 1000,
            last=max(us) / 1000,
        )
        for index, us in sorted(waits.items())
    ]


def table(rows: Sequence[AlertArrivals]) -> str:
    """The rows as text, with the medians over the alerts last."""
    lines = ["alert  consoles   first  median    last  spread (ms)"]
    lines += [
        f"{r.index:5d} {r.consoles:9d} {r.first:7.0f} {r.median:7.0f} {r.last:7.0f} {r.spread:7.0f}"
        for r in rows
    ]
    if rows:
        mid = statistics.median
        lines.append(
            f"median {'':8} {mid(r.first for r in rows):7.0f} {mid(r.median for r in rows):7.0f} "
            f"{mid(r.last for r in rows):7.0f} {mid(r.spread for r in rows):7.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    """Print the table for each step directory given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("steps", type=Path, nargs="+", help="kept consoles step directories")
    for step in parser.parse_args().steps:
        records = read_records(step)
        print(f"{step}:\n{table(per_alert(records.acks, records.arrivals))}\n")


if __name__ == "__main__":
    main()
