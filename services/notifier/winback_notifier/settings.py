"""Notifier settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field

from winback_notifier.calls.local_time import CallingHours, CallTimeZones
from winback_notifier.live.coalesce import HOLD_MAX_SECONDS, HOLD_QUIET_SECONDS
from winback_notifier.outbound.safety import WithOutboundSafety
from winback_shared.agents import DEFAULT_TOKEN_LIFETIME
from winback_shared.customer_match import CustomerMatchSettings
from winback_shared.deadlines import WithContactPolicy
from winback_shared.settings import CommonSettings


class NotifierSettings(CommonSettings, WithContactPolicy, WithOutboundSafety):
    """Fan-out, authentication and case workflow limits.

    The contact targets and business hours (``WINBACK_CONTACT_TARGET_MINUTES``,
    ``WINBACK_BUSINESS_HOURS``) come from :class:`winback_shared.deadlines.WithContactPolicy`,
    shared with the router, which stamps each case's deadline from them. The outbound target
    policy and secret keys (the admin API checks URLs and seals secrets) come from
    :class:`winback_notifier.outbound.safety.WithOutboundSafety`.
    """

    client_queue_size: Annotated[int, Field(gt=0)] = 1000
    """Messages a console may fall behind before it is disconnected to resynchronise."""
    auth_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    allowed_origins: list[str] = Field(default_factory=list)
    """Origins besides the notifier's own whose pages may open the console's websocket, e.g.
    ``WINBACK_ALLOWED_ORIGINS='["https://console.example.com"]'`` (scheme, host, port)."""
    token_lifetime_days: Annotated[float, Field(ge=0)] = DEFAULT_TOKEN_LIFETIME / timedelta(days=1)
    """How long an agent token issued here (admin API, agents CLI) works; 0: for ever."""
    unreachable_after_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    """Failed contact attempts before an agent may mark a case unreachable."""
    sla_warning_seconds: Annotated[float, Field(ge=0)] = 180.0
    """How long before a case's contact deadline the SLA warning fires (0: no warning)."""
    sla_claim_lapse_minutes: Annotated[float, Field(ge=0)] = 10.0
    """A claim with no contact attempt for this long lapses: the case goes back to its queue,
    unowned, for someone else to take (0: claims never lapse)."""
    sla_escalation_queue: str | None = None
    """Where a case breaching its deadline unclaimed is re-routed (unset: it stays put)."""
    call_back_grace_minutes: Annotated[float, Field(ge=0)] = 5.0
    """How late a call-back the customer asked for may be before the SLA timers flag it
    missed (``call_back_missed``)."""
    calling_hours: CallingHours = Field(default_factory=CallingHours)
    """The customer's local hours when a call is reasonable, per weekday (the case panel shows
    their local time and warns outside these); see :mod:`winback_notifier.calls.local_time`."""
    call_time_zones: CallTimeZones = Field(default_factory=CallTimeZones)
    """Zones to assume per source, per queue or by default when the phone number does not
    place the customer."""
    call_guidance_path: Path | None = None
    """The words for the call, by reason (the shipped defaults when unset); see
    :mod:`winback_notifier.calls.guidance`."""
    sla_max_sleep_seconds: Annotated[float, Field(gt=0)] = 30.0
    """The longest the SLA timers sleep without looking at PostgreSQL again. Case events wake
    them sooner; this only bounds how long a change no event announced can go unnoticed."""
    offer_approval_minutes: Annotated[float, Field(ge=0)] = 5.0
    """How long an offer above the agent's limit may wait for a supervisor's answer before it is
    flagged overdue (history ``offer_overdue``, a pop-up for supervisors again); 0: never."""
    offer_check_seconds: Annotated[float, Field(gt=0)] = 15.0
    """How often pending offers are checked against ``offer_approval_minutes``: a flag comes
    at most this late."""
    taxonomy_path: Path | None = None
    """The reason taxonomy root causes are chosen from (the shipped one by default)."""
    publish_timeout_seconds: Annotated[float, Field(gt=0)] = 3.0
    """How long a case change waits for Kafka before answering; the outbox sends it later."""
    outbox_interval_seconds: Annotated[float, Field(gt=0)] = 2.0
    """How often unpublished case changes (Kafka was down) and agent changes (the admin CLI, or
    Kafka was down) are looked for and sent: the most a CLI change waits to reach consoles."""
    quiet_changes_wait_seconds: Annotated[float, Field(ge=0)] = HOLD_QUIET_SECONDS
    """Re-codings the live feed holds leave together (one ``cases.changed`` frame per view) once
    nothing more was read for this long (``live.coalesce``)."""
    quiet_changes_max_seconds: Annotated[float, Field(ge=0)] = HOLD_MAX_SECONDS
    """...and at the latest this long after the first of them was read."""
    floor_gauges_interval_seconds: Annotated[float, Field(gt=0)] = 15.0
    """How often the open, at-risk and breached case gauges (and consoles per queue) are
    counted for Prometheus; about one scrape interval."""
    board_limit: Annotated[int, Field(gt=0, le=5000)] = 500
    """Cases a console's snapshot carries at most: the most urgent open ones first.

    A board of thousands helps no agent and costs every reconnect; the snapshot says how many
    were left out so the console can say so instead of pretending the board is complete.
    """
    board_reuse_seconds: Annotated[float, Field(ge=0, le=10)] = 1.0
    """How old a board read may be and still be handed to a console signing in (``live.board``);
    0 turns reuse off.

    A read is reused only when PostgreSQL says nothing a board shows changed since its
    snapshot (migration 0037's ``board_changes``), asked after the console subscribed: the
    console gets exactly the board a read of its own would have returned, for one index probe
    instead of a read. Past this age the view is read again even when nothing changed, which
    bounds how late a change the triggers cannot see (a hand edit with them disabled) shows.
    """
    outcome_window_days: Annotated[float, Field(gt=0, le=3660)] = 90.0
    """A later survey response of the customer measures a resolved case when it comes within
    this many days of the resolution (the outcome report; the API and CLI can override it)."""
    outcome_gain_points: Annotated[float, Field(gt=0, le=10)] = 3.0
    """A customer counts as recovered when the later score is passive or better (7+ on 0-10),
    or rose by at least this many points on 0-10."""
    chart_js_path: Path | None = None
    """Chart.js's browser build (``chart.umd.min.js``) for the ops page's charts. Unset: the
    copy ``scripts/bootstrap.sh`` installs from the npm registry into ``node_modules/`` (found
    from the working directory or this package upwards); without either the page shows its
    tables alone."""

    customer_match: CustomerMatchSettings = Field(default_factory=CustomerMatchSettings)
    """Which responses are the same customer's, and the repeat-complainer window
    (``WINBACK_CUSTOMER_MATCH_*``, see ``docs/customer-matching.md``)."""

    def token_lifetime(self) -> timedelta | None:
        """``token_lifetime_days`` as :func:`winback_shared.agents.issue_token` takes it."""
        return timedelta(days=self.token_lifetime_days) if self.token_lifetime_days else None
