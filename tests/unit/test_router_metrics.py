"""``metrics.observe_all``: a batch of amounts observed at once exposes what ``observe`` once per
amount exposes (the router's response ages, docs/performance.md section 21)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from winback_router.metrics import observe_all
from winback_shared.metrics import LATENCY_BUCKETS

AMOUNTS = [0.0, 0.004, 0.005, 0.0051, 1.0, 2.5, 7.25, 1e9, -3.0, 0.25, 0.25]
"""On bounds and between them, below the first, above the last finite one, negative."""


def exposition(labelled: bool, each: bool) -> list[str]:
    """The histogram's text lines after observing ``AMOUNTS`` one by one or all at once (sums
    rounded: adding in another order may change the last bits)."""
    registry = CollectorRegistry()
    histogram = Histogram(
        "ages_seconds",
        "ages",
        ["stage"] if labelled else [],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    child = histogram.labels("stored") if labelled else histogram
    if each:
        for amount in AMOUNTS:
            child.observe(amount)
    else:
        observe_all(child, AMOUNTS)
        observe_all(child, [])
    lines = []
    for line in generate_latest(registry).decode().splitlines():
        if line.startswith("ages_seconds_sum"):
            name, value = line.rsplit(" ", 1)
            line = f"{name} {float(value):.6f}"
        if not line.startswith("ages_seconds_created"):
            lines.append(line)
    return lines


@pytest.mark.parametrize("labelled", [False, True])
def test_observing_a_batch_at_once_exposes_what_observing_each_does(labelled: bool) -> None:
    at_once = exposition(labelled, each=False)
    assert at_once == exposition(labelled, each=True)
    assert any(line.endswith(f" {float(len(AMOUNTS))}") for line in at_once)  # the count
