"""Several of each service on the real broker (issue 16), as CI runs it.

``python -m winback_local.chaos --scale --given-infrastructure`` starts 2 ingest, 3 router and 2
notifier processes on this run's broker and database (topics and a schema of their own,
``tests/fault_harness_support.py``), sends a steady signed load through both ingests, keeps a
console on each notifier, and meanwhile: a router leaves for good, a new one joins (the group
rebalances both times), another router and a notifier crash and restart. The guarantees: every
response answered 202 is stored with exactly one case, and every console sees every case
whichever notifier it is connected to. Timings are printed by the harness, never asserted.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fault_harness_support import run_fault_harness

pytestmark = [pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
async def scale_run(kafka_bootstrap: str, database_url: str) -> dict[str, Any]:
    return await run_fault_harness("scale", 840, kafka_bootstrap, database_url)


def test_every_response_is_handled_once_while_routers_leave_and_join(
    scale_run: dict[str, Any],
) -> None:
    counts = scale_run["counts"]
    assert counts["accepted"] > 0
    assert counts["cases"] == counts["stored"] >= counts["accepted"]  # every one a detractor
    assert counts["lost"] == 0
    assert counts["duplicated"] == 0
    assert [r["label"] for r in scale_run["recoveries"]] == [
        "router-2 leaves",
        "router-4 joins",
        "router-3",
        "notifier-2",
    ]


def test_every_console_sees_every_case_whichever_notifier_it_is_on(
    scale_run: dict[str, Any],
) -> None:
    counts = scale_run["counts"]
    assert counts["consoles_connections"] >= 3  # two consoles, one reconnect after notifier-2
    assert counts["never_shown"] == 0
    assert scale_run["ok"] is True
