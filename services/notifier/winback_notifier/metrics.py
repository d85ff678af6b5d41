"""The notifier's metrics: frames pushed, consoles connected, how old a case is when its
pop-up is handed to the consoles, and how punctually SLA timers fire."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from winback_shared.metrics import LATENCY_BUCKETS

FRAMES = Counter(
    "winback_notifier_frames_total",
    "Messages published to the consoles, by type: one per message, however many consoles get "
    "it; quiet changes sent together count once, as cases.changed, however many they carry.",
    ["type"],
)
CONSOLES = Gauge("winback_notifier_consoles", "Consoles connected to this notifier.")
BOARD_READS = Counter(
    "winback_notifier_board_reads_total",
    "Boards read from PostgreSQL for consoles' snapshots (consoles signing in together share one).",
)
BOARD_SNAPSHOTS = Counter(
    "winback_notifier_board_snapshots_total", "Snapshots handed to consoles from those reads."
)
BOARD_REUSES = Counter(
    "winback_notifier_board_reuses_total",
    "Snapshots served from a board read just before the console subscribed (plus the frames "
    "published since), without reading the board again.",
)
BOARD_CHECKS = Counter(
    "winback_notifier_board_reuse_checks_total",
    "Questions to PostgreSQL whether a board read just done still holds (one per batch of "
    "consoles signing in together); the answers that allowed it are the reuses.",
)
FRAME_WRITTEN_SECONDS = Histogram(
    "winback_notifier_frame_written_seconds",
    "From a frame's publish to its write on one console's socket, per console (a sample: the "
    "first and every 8th): how long a fan-out takes to reach the consoles, on the server's "
    "side of the socket.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5),
)
FRAMES_DIRECT = Counter(
    "winback_notifier_frames_direct_total",
    "Frames the hub wrote straight to a console's socket in its publish pass (the console's "
    "sender idle, its socket with nothing else to send); the others went through the console's "
    "mailbox and sender.",
)
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
SLA_NUDGES = Counter(
    "winback_notifier_sla_nudges_total",
    "Batches of case changes handed to the SLA timers, by outcome: woken (they looked at the"
    " open cases again) or spared (no change could bring a timer before the next one).",
    ["outcome"],
)
SLA_TIMER_DELAY_SECONDS = Histogram(
    "winback_notifier_sla_timer_delay_seconds",
    "How long after its due moment a timer fired (PostgreSQL's clock on both ends).",
    buckets=LATENCY_BUCKETS,
)

# The floor as PostgreSQL has it, refreshed every WINBACK_FLOOR_GAUGES_INTERVAL_SECONDS by each
# notifier (every notifier reports the same figures: alert rules take ``max`` across them).
OPEN_CASES = Gauge(
    "winback_notifier_open_cases",
    "Cases not yet resolved or closed, by queue and priority.",
    ["queue", "priority"],
)
CASES_AT_RISK = Gauge(
    "winback_notifier_cases_at_risk",
    "Open cases whose SLA warning fired, not yet tried and not yet breached, by queue.",
    ["queue"],
)
CASES_BREACHED = Gauge(
    "winback_notifier_cases_breached",
    "Open cases past their contact deadline and never tried, by queue.",
    ["queue"],
)
QUEUE_CONSOLES = Gauge(
    "winback_notifier_queue_consoles",
    "Consoles connected to this notifier that show the queue's cases (supervisors': every "
    "queue), by queue; summed across notifiers, zero means nobody sees a new case there.",
    ["queue"],
)
OUTBOX_UNSENDABLE = Counter(
    "winback_notifier_outbox_unsendable_total",
    "Case changes the outbox sweep could not build an event from (a history kind or a card "
    "this notifier's version does not know, say a newer one's during a rolling upgrade) and "
    "left unsent for another notifier; each is logged with its case and seq.",
)
