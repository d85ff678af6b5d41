"""The notifier's metrics: frames pushed, consoles connected, how old a case is when its
pop-up is handed to the consoles, and how punctually SLA timers fire."""

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
SLA_TIMERS = Counter(
    "winback_notifier_sla_timers_total",
    "SLA timers this notifier fired, by timer (sla_warning, sla_breached, claim_lapsed).",
    ["timer"],
)
SLA_TIMER_DELAY_SECONDS = Histogram(
    "winback_notifier_sla_timer_delay_seconds",
    "How long after its due moment a timer fired (PostgreSQL's clock on both ends).",
    buckets=LATENCY_BUCKETS,
)
