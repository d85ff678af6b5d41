"""The router's metrics: outcomes, batch time, consumer lag, and how old a response is when it
is stored and when its alert is acknowledged."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram

from winback_shared.case_vocabulary import HistoryKind
from winback_shared.metrics import LATENCY_BUCKETS

RECORDS = Counter(
    "winback_router_records_total",
    "Records processed: stored, dead_letter, or skipped (authentic but no survey response).",
    ["outcome"],
)
CASE_ALERTS = Counter(
    "winback_router_case_alerts_total", "Alerts published and acknowledged.", ["kind"]
)
CODING_FAILURES = Counter(
    "winback_router_coding_failures_total",
    "Responses whose comment coding failed on (a bug to report): coded from their chosen "
    "answers alone, stored and alerted.",
)
PAST_WINDOW_RESPONSES = Counter(
    "winback_router_past_window_total",
    "Responses answered longer before they reached us than the recovery window "
    "(WINBACK_RECOVERY_WINDOW_HOURS) that would otherwise have opened a case: stored and "
    "coded, no case. By source, so a vendor whose submission times are wrong stands out.",
    ["source"],
)
ALERT_LABELS = {HistoryKind.OPENED: "opened", HistoryKind.REVISED: "updated"}
"""``CASE_ALERTS``' kind per change: the alert's type (``case.opened``, ``case.updated``)."""
BATCH_SECONDS = Histogram(
    "winback_router_batch_seconds",
    "One fetched batch: normalise, store, publish, acknowledge.",
    buckets=LATENCY_BUCKETS,
)
STAGE_SECONDS = Histogram(
    "winback_router_stage_seconds",
    "Where a batch's wall time goes, per stage: fetch (waiting for records included), normalise,"
    " code, store, publish (until acknowledged), mark_alerted, commit, and handover (the next"
    " batch, prepared, waiting for the one before it to commit).",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
BATCH_RECORDS = Histogram(
    "winback_router_batch_records",
    "Records per fetched batch.",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
RESPONSE_AGE_SECONDS = Histogram(
    "winback_router_response_age_seconds",
    "Time since ingest received the delivery, at each stage: stored (committed), alerted (acked).",
    ["stage"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "winback_router_consumer_lag",
    "Records on the partition not yet processed by this router, after its last batch.",
    ["partition"],
)


def observe_all(histogram: Histogram, amounts: Sequence[float]) -> None:
    """Observe each of ``amounts`` on ``histogram`` (an unlabelled one or a labelled child).

    What calling ``observe`` once per amount gives (each bucket counts the amounts at or below
    its bound, the sum adds them all), but one increment per bucket touched and one of the
    sum, instead of a lock and a scan of the bounds per amount: the router observes two ages
    per record, which cost more than the rest of its metrics (docs/performance.md, 21). It
    reaches into ``prometheus_client``'s histogram (its bounds, buckets and sum);
    ``tests/unit/test_router_metrics.py`` holds it to ``observe``'s exposition.
    """
    if not amounts:
        return
    bounds = histogram._upper_bounds
    for index, count in Tally(bisect_left(bounds, amount) for amount in amounts).items():
        histogram._buckets[index].inc(count)
    histogram._sum.inc(sum(amounts))
