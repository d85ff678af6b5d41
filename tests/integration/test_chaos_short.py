"""The fault harness's short form, as CI runs it: a router and a notifier killed under load.

It runs ``python -m winback_local.chaos --short --given-infrastructure`` (its services on free
ports, on this run's broker and database in topics and a schema of its own: the faults never
reach either, ``tests/fault_harness_support.py``) and checks the three guarantees: nothing
answered 202 is lost, no response gets two cases, every case reaches the console that stayed
connected (reconnecting with its cursor across the notifier's restart). Timings are printed by
the harness, never asserted.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fault_harness_support import run_fault_harness

pytestmark = [pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
async def short_run(kafka_bootstrap: str, database_url: str) -> dict[str, Any]:
    """One short harness run shared by the tests below (it costs about half a minute)."""
    return await run_fault_harness("short", 540, kafka_bootstrap, database_url)


def test_short_fault_run_loses_nothing_and_doubles_nothing(short_run: dict[str, Any]) -> None:
    counts = short_run["counts"]
    assert counts["accepted"] > 0
    assert counts["cases"] > 0
    assert counts["lost"] == 0
    assert counts["duplicated"] == 0
    assert [r["label"] for r in short_run["recoveries"]] == ["router", "notifier"]


def test_short_fault_run_shows_every_case_to_the_connected_console(
    short_run: dict[str, Any],
) -> None:
    assert short_run["counts"]["never_shown"] == 0
