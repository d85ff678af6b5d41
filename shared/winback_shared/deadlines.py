"""Contact deadlines: the moment someone must have tried to reach a case's customer.

The SLA policy is two settings, read by the router and the notifier alike:
``WINBACK_CONTACT_TARGET_MINUTES`` (minutes per priority, JSON, fractions allowed) and
``WINBACK_BUSINESS_HOURS`` (see :mod:`winback_shared.business_hours`). The deadline itself is
computed here only, by :func:`contact_deadline`, and stored on the case
(``recovery_cases.contact_due_at``) by whoever opens it (the router) or raises its priority (a
revision, also the router); the notifier's timers, consoles and reports read the stored value.

Why the router computes it: a case must never wait for a deadline, and the router is the one
service that is always there when a case opens. Until migration 0008 PostgreSQL stamped it from
a table each notifier rewrote at start-up, so the router's insert silently depended on a
notifier having started and the last notifier started decided the targets of every new case.
Run the router and the notifier with the same two settings (the notifier counts down to the
stored deadline and shows the targets to agents and in reports).

A stored deadline is a promise: changing the targets applies to cases opened from then on. A
priority raised by a revision tightens the deadline to the new priority's target, counted from
the opening; nothing loosens it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from winback_shared.business_hours import BusinessHours, add_business_time

DEFAULT_CONTACT_TARGETS: dict[int, float] = {1: 10, 2: 15, 3: 60, 4: 240}
"""Minutes to the first contact attempt per priority, unless configured."""


@dataclass(frozen=True)
class ContactPolicy:
    """How long each priority may wait for its first contact attempt, and in which hours."""

    targets: Mapping[int, timedelta] = field(
        default_factory=lambda: {
            priority: timedelta(minutes=minutes)
            for priority, minutes in DEFAULT_CONTACT_TARGETS.items()
        }
    )
    """Per priority; a priority without a target gets no deadline."""
    hours: BusinessHours | None = None
    """``None``: targets count wall-clock time, around the clock."""


def contact_deadline(policy: ContactPolicy, opened_at: datetime, priority: int) -> datetime | None:
    """When a case of ``priority`` opened at ``opened_at`` must have had a contact attempt.

    The priority's target counted from the opening, in business time if hours are set (a case
    opened while closed starts counting at the next opening); ``None`` if the priority has no
    target. Pure: the same policy, opening and priority always give the same moment (UTC).
    """
    target = policy.targets.get(priority)
    if target is None:
        return None
    return add_business_time(opened_at, target, policy.hours)


class WithContactPolicy(BaseModel):
    """Settings mixin: ``WINBACK_CONTACT_TARGET_MINUTES`` and ``WINBACK_BUSINESS_HOURS``.

    Shared by the router (which stamps deadlines) and the notifier (which fires timers at them,
    shows the targets and reports against them), so both read one definition of each setting.
    """

    contact_target_minutes: dict[int, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_CONTACT_TARGETS)
    )
    """Minutes from opening to the first contact attempt, per priority (fractions allowed: 0.5 is
    30 seconds). Each case's deadline is computed from it when the router opens the case (see
    :func:`contact_deadline`); consoles count down to that stored deadline."""
    business_hours: BusinessHours | None = None
    """Opening hours per weekday in a timezone; deadlines then count only business time (unset:
    around the clock). See :mod:`winback_shared.business_hours`."""

    @field_validator("contact_target_minutes")
    @classmethod
    def _every_priority_has_a_target(cls, targets: dict[int, float]) -> dict[int, float]:
        missing = [p for p in DEFAULT_CONTACT_TARGETS if p not in targets]
        if missing:
            raise ValueError(f"contact_target_minutes lacks priorities {missing}")
        return targets

    def contact_policy(self) -> ContactPolicy:
        """The policy :func:`contact_deadline` applies, from these settings."""
        return ContactPolicy(
            targets={
                priority: timedelta(minutes=minutes)
                for priority, minutes in self.contact_target_minutes.items()
            },
            hours=self.business_hours,
        )
