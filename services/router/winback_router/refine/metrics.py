"""The refiner's metrics: its lag (responses waiting) and what it did with each response."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from winback_shared.metrics import LATENCY_BUCKETS

PENDING = Gauge(
    "winback_refiner_pending",
    "Stored responses whose current revision the refiner has not coded yet (its lag).",
)
RESPONSES = Counter(
    "winback_refiner_responses_total",
    "Responses refined: unchanged (same codes), recoded, reviewed (an agent's reasons kept), "
    "revised (changed under the refiner; refined again later), or failed (the full model "
    "failed on it, a bug: it keeps the codes it has).",
    ["outcome"],
)
BATCH_SECONDS = Histogram(
    "winback_refiner_batch_seconds",
    "One batch: read, code with the full model, re-code what differs, mark refined.",
    buckets=LATENCY_BUCKETS,
)
PAUSED = Gauge(
    "winback_refiner_paused",
    "1 while the refiner yields to the hot path (the router group lagging), else 0.",
)
PAUSED_SECONDS = Counter(
    "winback_refiner_paused_seconds_total",
    "Seconds the refiner spent paused for the hot path (small batches while paused included).",
)
ROUTER_LAG = Gauge(
    "winback_refiner_router_lag",
    "The router group's consumer lag on survey-responses at the refiner's last look "
    "(records; NaN when the brokers did not answer).",
)
SMALL_BATCHES = Counter(
    "winback_refiner_starvation_batches_total",
    "Small batches refined while paused, because the pause had lasted its maximum.",
)
