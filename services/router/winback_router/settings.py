"""Router settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL
from winback_router.consumer import DEFAULT_BATCHES_AHEAD, DEFAULT_MAX_BATCH
from winback_router.queues import QueueRules, QueueRulesError, load_queue_rules
from winback_shared.deadlines import WithContactPolicy
from winback_shared.settings import CommonSettings
from winback_shared.sources import WithSources


class RouterSettings(CommonSettings, WithSources, WithContactPolicy):
    """``WINBACK_ROUTER_GROUP`` names the consumer group; instances sharing it split partitions.

    The router reads the same sources as ingest (``WINBACK_SOURCES`` / ``WINBACK_SOURCES_FILE``)
    for their vendor, field map and API settings; their secrets are not used here. Queue rules
    come from ``WINBACK_QUEUE_RULES`` (JSON) or ``WINBACK_QUEUE_RULES_FILE`` (TOML or JSON).
    Each case's contact deadline is computed from ``WINBACK_CONTACT_TARGET_MINUTES`` and
    ``WINBACK_BUSINESS_HOURS`` (:mod:`winback_shared.deadlines`), as the notifier reads them.
    Comments are coded with the rules and the learned model ``WINBACK_REASON_MODEL_PATH``
    (default: the fast TF-IDF-only one shipped with the router, so no sentence encoder in the
    hot path); the refiner (:mod:`winback_router.refine`) and re-coding runs code with
    ``WINBACK_REFINE_MODEL_PATH`` (default: the full model, sentence vectors included), the
    codes a response ends with. ``WINBACK_USE_REASON_MODEL=false`` codes with the rules alone
    everywhere, e.g. under a taxonomy with other codes until the models are re-trained.
    ``WINBACK_ROUTER_MAX_BATCH`` caps the records stored in one transaction before their alerts
    go out (docs/performance.md).
    """

    router_group: str = "winback-router"
    router_instance_id: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    """This instance's stable name in the group (Kafka's static membership, KIP-345), e.g. the
    pod's name in a StatefulSet. Set, a restarted router takes its partitions back at once
    instead of waiting for a rebalance; every instance needs its own (two with one name throw
    each other out of the group, and the one whose commit is refused stops). Unset: dynamic
    membership, as before."""
    router_session_timeout_seconds: Annotated[float, Field(ge=6, le=300)] = 10.0
    """How long the group waits for a silent instance before giving its partitions to others.
    With a ``router_instance_id`` it is also how long a restart may take and still need no
    rebalance, and how long a stopped instance's partitions wait (a static member does not
    leave the group on stop)."""
    taxonomy_path: Path | None = None
    use_reason_model: bool = True
    reason_model_path: Path = FAST_MODEL
    refine_model_path: Path = DEFAULT_MODEL
    refine_batch: Annotated[int, Field(ge=1, le=10_000)] = 256
    """Responses the refiner codes in one encoder call."""
    refine_idle_seconds: Annotated[float, Field(gt=0, le=60)] = 0.5
    """How long the refiner waits before looking again when nothing is pending."""
    refine_nice: Annotated[int, Field(ge=0, le=19)] = 10
    """Niceness the refiner adds to itself: it takes the CPU the hot path leaves idle."""
    refine_yield: bool = True
    """``WINBACK_REFINE_YIELD``: pause the refiner while the router group lags on
    ``survey-responses`` (false: refine regardless, niced only)."""
    refine_pause_lag: Annotated[int, Field(ge=1)] = 200
    """Router lag (records not committed) at which the refiner pauses: a full router batch."""
    refine_resume_lag: Annotated[int, Field(ge=0)] = 50
    """Lag at or below which the refiner may resume (below ``refine_pause_lag``)..."""
    refine_resume_after_seconds: Annotated[float, Field(ge=0, le=600)] = 5.0
    """... once the lag has stayed there this long."""
    refine_max_pause_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """Longest pause: then one small batch is refined anyway, so nothing waits forever."""
    refine_small_batch: Annotated[int, Field(ge=1, le=10_000)] = 32
    """Responses refined per small batch while paused, and the chunk a batch is coded in
    between two looks at the router's lag."""
    flood_window: Annotated[int, Field(ge=1)] = 200
    flood_min_records: Annotated[int, Field(ge=1)] = 50
    flood_max_ratio: Annotated[float, Field(gt=0, le=1)] = 0.5
    router_max_batch: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_MAX_BATCH
    router_overlap: bool = True
    """``WINBACK_ROUTER_OVERLAP``: prepare the next batch while the last is stored and
    acknowledged (false: one batch at a time, to compare the two on the same tree)."""
    router_batches_ahead: Annotated[int, Field(ge=1, le=4)] = DEFAULT_BATCHES_AHEAD
    """``WINBACK_ROUTER_BATCHES_AHEAD``: coded batches that may wait behind the one being
    stored and acknowledged, with the overlap on (1, the overlap of performance.md section 8;
    2 is measured in section 16)."""
    router_normalise_ahead: bool = False
    """``WINBACK_ROUTER_NORMALISE_AHEAD``: fetch and normalise the next batch while one is
    coded, so the coder starts on it at once (off by default: not shown to pay on the loaded
    machine, where the loop's work then takes the GIL from the coder; docs/performance.md,
    section 23)."""
    router_coding_process: bool = False
    """``WINBACK_ROUTER_CODING_PROCESS``: code each batch in a worker process of its own
    instead of a thread, so the event loop does not wait for the GIL behind the coding
    (docs/performance.md, section 17)."""
    recovery_window_hours: Annotated[float | None, Field(gt=0, le=87_600)] = None
    """``WINBACK_RECOVERY_WINDOW_HOURS``: a response the customer answered longer than this
    before it reached us opens no case (stored and coded all the same), unless the customer
    asked to be contacted. Unset (the default): every answer is in time, however old. Set it
    before importing past responses; 72 suits most programmes (a vendor's weekend outage still
    opens cases, a month-old export does not)."""
    queue_rules: QueueRules = Field(default_factory=QueueRules)
    queue_rules_file: Path | None = None

    @property
    def reason_model(self) -> Path | None:
        """The model file to code with, or None for the rules alone."""
        return self.reason_model_path if self.use_reason_model else None

    @property
    def refine_model(self) -> Path | None:
        """The model a response's codes end with (refiner, re-coding), or None for the rules."""
        return self.refine_model_path if self.use_reason_model else None

    @property
    def recovery_window(self) -> timedelta | None:
        """The recovery window, or None when every answer is in time."""
        hours = self.recovery_window_hours
        return None if hours is None else timedelta(hours=hours)

    @model_validator(mode="after")
    def _resume_below_pause(self) -> RouterSettings:
        if self.refine_resume_lag >= self.refine_pause_lag:
            raise ValueError("WINBACK_REFINE_RESUME_LAG must be below WINBACK_REFINE_PAUSE_LAG")
        return self

    @model_validator(mode="after")
    def _read_queue_rules_file(self) -> RouterSettings:
        if self.queue_rules_file is not None:
            try:
                self.queue_rules = load_queue_rules(self.queue_rules_file)
            except QueueRulesError as exc:
                raise ValueError(str(exc)) from None
        return self
