"""The notifier's metrics: frames pushed, consoles connected, and how old a case is when its
pop-up is handed to the consoles."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from winback_shared.metrics import LATENCY_BUCKETS

FRAMES = Counter("winback_notifier_frames_total", "Messages handed to consoles, by type.", ["type"])
CONSOLES = Gauge("winback_notifier_consoles", "Consoles connected to this notifier.")
ALERT_AGE_SECONDS = Histogram(
    "winback_notifier_alert_age_seconds",
    "Time since ingest received the response, when its new-case alert reaches the consoles.",
    buckets=LATENCY_BUCKETS,
)
