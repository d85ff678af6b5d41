"""Ingest's metrics: what each source sent and how long the vendor waited for its answer."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from winback_shared.metrics import LATENCY_BUCKETS

DELIVERIES = Counter(
    "winback_ingest_deliveries_total",
    "Deliveries by configured source and HTTP outcome (202, 400, 401, 413, 429, 503).",
    ["source", "outcome"],
)
ANSWER_SECONDS = Histogram(
    "winback_ingest_answer_seconds",
    "From request received to answer sent; a 202 includes waiting for Kafka's acknowledgement.",
    buckets=LATENCY_BUCKETS,
)
