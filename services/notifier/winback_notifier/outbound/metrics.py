"""The outbound process's metrics: what it recorded, what each attempt did, open circuits."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from winback_shared.metrics import LATENCY_BUCKETS

OUTBOUND_RECORDED = Counter(
    "winback_outbound_recorded_total",
    "Deliveries recorded from case events (one per event and subscription that takes it).",
)
OUTBOUND_ATTEMPTS = Counter(
    "winback_outbound_attempts_total",
    "Delivery attempts, by subscription and outcome (delivered, retry, refused, dead).",
    ["subscription", "outcome"],
)
OUTBOUND_ATTEMPT_SECONDS = Histogram(
    "winback_outbound_attempt_seconds",
    "How long an attempt took, answer or failure included, by channel.",
    ["channel"],
    buckets=LATENCY_BUCKETS,
)
OUTBOUND_CIRCUIT_OPEN = Gauge(
    "winback_outbound_circuit_open",
    "1 while a subscription's endpoint circuit is open (its deliveries wait), else 0.",
    ["subscription"],
)
