"""Notifier settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from winback_shared.deadlines import WithContactPolicy
from winback_shared.settings import CommonSettings


class NotifierSettings(CommonSettings, WithContactPolicy):
    """Fan-out, authentication and case workflow limits.

    The contact targets and business hours (``WINBACK_CONTACT_TARGET_MINUTES``,
    ``WINBACK_BUSINESS_HOURS``) come from :class:`winback_shared.deadlines.WithContactPolicy`,
    shared with the router, which stamps each case's deadline from them.
    """

    client_queue_size: Annotated[int, Field(gt=0)] = 1000
    """Messages a console may fall behind before it is disconnected to resynchronise."""
    auth_timeout_seconds: Annotated[float, Field(gt=0)] = 10.0
    unreachable_after_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    """Failed contact attempts before an agent may mark a case unreachable."""
    sla_warning_seconds: Annotated[float, Field(ge=0)] = 180.0
    """How long before a case's contact deadline the SLA warning fires (0: no warning)."""
    sla_claim_lapse_minutes: Annotated[float, Field(ge=0)] = 10.0
    """A claim with no contact attempt for this long lapses: the case goes back to its queue,
    unowned, for someone else to take (0: claims never lapse)."""
    sla_escalation_queue: str | None = None
    """Where a case breaching its deadline unclaimed is re-routed (unset: it stays put)."""
    sla_max_sleep_seconds: Annotated[float, Field(gt=0)] = 30.0
    """The longest the SLA timers sleep without looking at PostgreSQL again. Case events wake
    them sooner; this only bounds how long a change no event announced can go unnoticed."""
    taxonomy_path: Path | None = None
    """The reason taxonomy root causes are chosen from (the shipped one by default)."""
    publish_timeout_seconds: Annotated[float, Field(gt=0)] = 3.0
    """How long a case change waits for Kafka before answering; the outbox sends it later."""
    outbox_interval_seconds: Annotated[float, Field(gt=0)] = 2.0
    """How often unpublished case changes (Kafka was down) and agent changes (the admin CLI, or
    Kafka was down) are looked for and sent: the most a CLI change waits to reach consoles."""
    floor_gauges_interval_seconds: Annotated[float, Field(gt=0)] = 15.0
    """How often the open, at-risk and breached case gauges (and consoles per queue) are
    counted for Prometheus; about one scrape interval."""
    board_limit: Annotated[int, Field(gt=0, le=5000)] = 500
    """Cases a console's snapshot carries at most: the most urgent open ones first.

    A board of thousands helps no agent and costs every reconnect; the snapshot says how many
    were left out so the console can say so instead of pretending the board is complete.
    """
