"""Firing SLA timers on time: one scheduler per notifier, sleeping until the next due moment.

There is no periodic sweep: the scheduler asks PostgreSQL when the earliest pending timer of any
open case is due, sleeps exactly that long, fires what is due, and asks again. Every case event
and alert the notifier consumes wakes it early (a new case, a claim or a priority raise may
bring the next moment forward); ``max_sleep`` bounds how long a change that no event announced
(a psql fix, say) can go unnoticed. Delays are computed by PostgreSQL against its own clock, the
one every stored deadline was stamped with, so a notifier host's clock skew does not matter.

Several notifiers run this side by side. Each firing is one transaction that picks a due case
with ``FOR UPDATE SKIP LOCKED``, re-checks it under the lock with :func:`sla.due_timer`, and
marks the timer fired (``sla_warned_at`` ...) with ``seq + 1`` and a history entry: whichever
instance gets the row fires the timer, the others skip it, and once it is marked it is never
due again. So each timer fires exactly once, and each firing is published like any other case
change (the outbox sends it if Kafka was down).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from winback_notifier.cases import service as cases
from winback_notifier.cases.publisher import CaseEventPublisher
from winback_notifier.cases.rules import CaseState, Status
from winback_notifier.cases.service import Change
from winback_notifier.metrics import SLA_TIMER_DELAY_SECONDS, SLA_TIMERS
from winback_notifier.settings import NotifierSettings
from winback_notifier.sla.rules import (
    SLA_ACTOR,
    SlaClock,
    SlaPolicy,
    Timer,
    due_timer,
    fire,
    pending,
)
from winback_shared.agents import ensure_queues
from winback_shared.transient import is_transient

log = logging.getLogger("winback.notifier")

RETRY_SECONDS = 0.25
"""Pause when a due case was locked by someone else (another notifier firing it, an agent acting
on it), or PostgreSQL failed: the next look is soon, but not a busy loop."""
OVERSLEEP_SECONDS = 0.002
"""Added to each sleep so the scheduler wakes just after a moment, not a hair before it."""

FINISHED_SQL = "('resolved', 'closed')"

# The SQL mirrors sla.pending: it finds candidates, sla.due_timer decides under the lock.
_CONTACT_CLOCK = f"""
    c.status NOT IN {FINISHED_SQL} AND c.first_attempt_at IS NULL
    AND c.contact_due_at IS NOT NULL AND c.sla_breached_at IS NULL"""
_CLAIM_UNTRIED = """
    $2::interval IS NOT NULL AND c.status = 'claimed' AND c.owned_at IS NOT NULL
    AND (c.last_attempt_at IS NULL OR c.last_attempt_at < c.owned_at)"""
_WARN_AT = (
    "CASE WHEN c.sla_warned_at IS NULL AND $1::interval > interval '0'"
    " THEN c.contact_due_at - $1::interval ELSE c.contact_due_at END"
)

NEXT_DELAY_SQL = f"""
    SELECT extract(epoch FROM min(moment) - now()) FROM (
        SELECT min({_WARN_AT}) AS moment FROM recovery_cases c WHERE {_CONTACT_CLOCK}
        UNION ALL
        SELECT min(c.owned_at + $2::interval) FROM recovery_cases c WHERE {_CLAIM_UNTRIED}
    ) moments
"""

DUE_CASE_SQL = f"""
    SELECT c.id, c.status, c.queue, c.owner_id, c.failed_attempts, c.contact_due_at,
           c.first_attempt_at, c.last_attempt_at, c.owned_at, c.sla_warned_at,
           c.sla_breached_at, now() AS now,
           (SELECT a.name FROM agents a WHERE a.id = c.owner_id) AS owner
    FROM recovery_cases c
    WHERE ({_CONTACT_CLOCK} AND {_WARN_AT} <= now())
       OR ({_CLAIM_UNTRIED} AND c.owned_at + $2::interval <= now())
    ORDER BY c.id
    LIMIT 1
    FOR UPDATE OF c SKIP LOCKED
"""

_MARKS = {
    Timer.WARNING: ", sla_warned_at = now()",
    Timer.BREACH: ", sla_breached_at = now(), sla_warned_at = COALESCE(sla_warned_at, now())",
    Timer.CLAIM_LAPSE: ", owned_at = NULL",
}
"""What firing each timer records, so it is never due again."""


def policy_from(settings: NotifierSettings) -> SlaPolicy:
    """The timers' policy from the notifier's settings."""
    lapse = settings.sla_claim_lapse_minutes
    return SlaPolicy(
        warning=timedelta(seconds=settings.sla_warning_seconds),
        claim_lapse=timedelta(minutes=lapse) if lapse > 0 else None,
        escalation_queue=settings.sla_escalation_queue,
    )


async def install_targets(pool: asyncpg.Pool, settings: NotifierSettings) -> None:
    """Write this notifier's contact targets and business hours where new cases' deadlines are
    stamped from.

    Deadlines are stamped by PostgreSQL as the router opens a case (migration 0007), because
    the router does not know the targets and a case must never be without a deadline, even
    while no notifier runs. Each notifier writes its settings at start-up; notifiers are meant
    to share one configuration, and if they do not, the last one started wins for new cases.
    Cases already open keep the deadline they were given. Open cases that never got one (opened
    before the migration) get it now, from their opening time.
    """
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            """
            INSERT INTO sla_targets (priority, target_seconds) VALUES ($1, $2)
            ON CONFLICT (priority) DO UPDATE SET target_seconds = EXCLUDED.target_seconds,
                updated_at = now()
            WHERE sla_targets.target_seconds <> EXCLUDED.target_seconds
            """,
            [(p, minutes * 60.0) for p, minutes in sorted(settings.contact_target_minutes.items())],
        )
        # Several notifiers may start at once: one replaces the hours at a time.
        await conn.execute("LOCK TABLE sla_business_hours IN EXCLUSIVE MODE")
        await conn.execute("DELETE FROM sla_business_hours")
        hours = settings.business_hours
        if hours is not None:
            await conn.executemany(
                "INSERT INTO sla_business_hours (timezone, isodow, opens_min, closes_min)"
                " VALUES ($1, $2, $3, $4)",
                [
                    (hours.timezone, weekday + 1, opens, closes)
                    for weekday, intervals in enumerate(hours.week())
                    for opens, closes in intervals
                ],
            )
        await conn.execute(
            f"""
            UPDATE recovery_cases c
            SET contact_due_at = sla_deadline(c.opened_at, t.target_seconds)
            FROM sla_targets t
            WHERE t.priority = c.priority AND c.contact_due_at IS NULL
              AND c.status NOT IN {FINISHED_SQL}
            """
        )
        if settings.sla_escalation_queue:
            await ensure_queues(conn, [settings.sla_escalation_queue])


class SlaScheduler:
    """Sleeps until the next SLA moment, fires what is due, publishes each firing."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publisher: CaseEventPublisher,
        policy: SlaPolicy,
        *,
        max_sleep: float = 30.0,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._policy = policy
        self._max_sleep = max_sleep
        self._wake = asyncio.Event()
        self.fired = 0
        """Timers this instance fired (for tests and logs)."""

    def nudge(self) -> None:
        """A case changed somewhere: look again at once (cheap; called for every event)."""
        self._wake.set()

    def _args(self) -> tuple[timedelta, timedelta | None]:
        return self._policy.warning, self._policy.claim_lapse

    async def run(self) -> None:
        """Fire timers on time until cancelled.

        Transient failures (:mod:`winback_shared.transient`) are retried soon; any other error
        is a bug every later look would meet too, so it is raised, for the app's loop watch to
        log and stop the notifier (:mod:`winback_shared.loops`).
        """
        while True:
            self._wake.clear()
            try:
                await self.fire_due()
                delay = await self.seconds_to_next()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("SLA timers failed; retrying", extra={"fields": {"error": repr(exc)}})
                delay = RETRY_SECONDS
            if delay is None:
                delay = self._max_sleep
            elif delay <= 0:
                delay = RETRY_SECONDS  # due but locked elsewhere: that holder will see to it
            else:
                delay = min(delay + OVERSLEEP_SECONDS, self._max_sleep)
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass

    async def seconds_to_next(self) -> float | None:
        """Seconds until the earliest pending timer of any case (negative: overdue)."""
        delay = await self._pool.fetchval(NEXT_DELAY_SQL, *self._args())
        return None if delay is None else float(delay)

    async def fire_due(self) -> int:
        """Fire every timer due now, one transaction each; returns how many fired."""
        fired = 0
        while (change := await self._fire_one()) is not None:
            fired += 1
            self.fired += 1
            log.info(
                "SLA timer fired",
                extra={
                    "fields": {
                        "case_id": change.card.case_id,
                        "timer": change.entry.kind,
                        "due_at": _iso(change.card.contact_due_at),
                    }
                },
            )
            await self._publisher.publish(change)
        return fired

    async def _fire_one(self) -> Change | None:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(DUE_CASE_SQL, *self._args())
            if row is None:
                return None
            clock = _clock(row)
            timer = due_timer(clock, self._policy, row["now"])
            if timer is None:  # the SQL and the rules disagree: a bug, but never fire twice
                log.error("case looked due but no timer is", extra={"fields": {"id": row["id"]}})
                return None
            delay = row["now"] - pending(clock, self._policy)[timer]
            firing = fire(timer, clock, self._policy)
            state = CaseState(
                case_id=row["id"],
                status=clock.status,
                queue=clock.queue,
                owner_id=clock.owner_id,
                owner=row["owner"],
                failed_attempts=row["failed_attempts"],
            )
            data: dict[str, Any] = dict(firing.data)
            if timer is Timer.CLAIM_LAPSE:
                data["previous_owner"] = row["owner"]
            change = await cases.commit_change(
                conn, state, firing.outcome, timer.value, None, SLA_ACTOR, data, _MARKS[timer]
            )
        SLA_TIMERS.labels(timer.value).inc()
        SLA_TIMER_DELAY_SECONDS.observe(delay.total_seconds())
        return change


def _clock(row: asyncpg.Record) -> SlaClock:
    return SlaClock(
        status=Status(row["status"]),
        queue=row["queue"],
        owner_id=row["owner_id"],
        contact_due_at=row["contact_due_at"],
        first_attempt_at=row["first_attempt_at"],
        last_attempt_at=row["last_attempt_at"],
        owned_at=row["owned_at"],
        sla_warned_at=row["sla_warned_at"],
        sla_breached_at=row["sla_breached_at"],
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
