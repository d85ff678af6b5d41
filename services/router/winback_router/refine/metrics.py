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
    "or revised (changed under the refiner; refined again later).",
    ["outcome"],
)
BATCH_SECONDS = Histogram(
    "winback_refiner_batch_seconds",
    "One batch: read, code with the full model, re-code what differs, mark refined.",
    buckets=LATENCY_BUCKETS,
)
