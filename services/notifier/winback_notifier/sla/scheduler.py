"""Firing SLA timers on time: one scheduler per notifier, sleeping until the next due moment.

There is no periodic sweep: the scheduler asks PostgreSQL when the earliest pending timer of any
open case is due, sleeps exactly that long, fires what is due, and asks again. A case event or
alert the notifier consumes wakes it early when it may bring a timer before that moment (a new
case, a claim or a priority raise: :meth:`SlaScheduler.nudge_for`); ``max_sleep`` bounds how
long a change that no event announced (a psql fix, say) can go unnoticed. Delays are computed by
PostgreSQL against its own clock, the one every stored deadline was stamped with, so a notifier
host's clock skew does not matter.

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
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from winback_notifier.cases import flows
from winback_notifier.cases import service as cases
from winback_notifier.cases.publisher import CaseEventPublisher
from winback_notifier.cases.rules import CaseState
from winback_notifier.cases.service import Change
from winback_notifier.metrics import SLA_NUDGES, SLA_TIMER_DELAY_SECONDS, SLA_TIMERS
from winback_notifier.settings import NotifierSettings
from winback_notifier.sla.rules import (
    SLA_ACTOR,
    SlaClock,
    SlaPolicy,
    Timer,
    due_timer,
    earliest_possible,
    fire,
    pending,
)
from winback_shared.case_changes import FIRST_NOW, NOW, CaseColumn, CaseColumns
from winback_shared.case_vocabulary import FINISHED_STATUSES, CaseStatus
from winback_shared.db import Connection
from winback_shared.events.recovery_alerts import CaseSummary
from winback_shared.transient import is_transient

log = logging.getLogger("winback.notifier")

RETRY_SECONDS = 0.25
"""Pause when a due case was locked by someone else (another notifier firing it, an agent acting
on it), or PostgreSQL failed: the next look is soon, but not a busy loop."""
OVERSLEEP_SECONDS = 0.002
"""Added to each sleep so the scheduler wakes just after a moment, not a hair before it."""

# Statuses are written into this SQL as literals (from the vocabulary, never from input), not
# bound as parameters: the partial indexes of migration 0007 name them literally, and PostgreSQL
# uses a partial index only when it can prove the query's condition implies the index's, which
# it cannot for a parameter's unknown value.
FINISHED_SQL = (
    "(" + ", ".join(f"'{status}'" for status in CaseStatus if status in FINISHED_STATUSES) + ")"
)
_CLAIMED_SQL = f"'{CaseStatus.CLAIMED}'"

# The SQL mirrors sla.pending: it finds candidates, sla.due_timer decides under the lock.
_CONTACT_CLOCK = f"""
    c.status NOT IN {FINISHED_SQL} AND c.first_attempt_at IS NULL
    AND c.contact_due_at IS NOT NULL AND c.sla_breached_at IS NULL"""
_CLAIM_UNTRIED = f"""
    $2::interval IS NOT NULL AND c.status = {_CLAIMED_SQL} AND c.owned_at IS NOT NULL
    AND (c.last_attempt_at IS NULL OR c.last_attempt_at < c.owned_at)"""
_CALL_BACK_WAITS = f"""
    c.status NOT IN {FINISHED_SQL} AND c.call_back_due_at IS NOT NULL
    AND c.call_back_missed_at IS NULL"""
_WARN_AT = (
    "CASE WHEN c.sla_warned_at IS NULL AND $1::interval > interval '0'"
    " THEN c.contact_due_at - $1::interval ELSE c.contact_due_at END"
)

NEXT_DELAY_SQL = f"""
    SELECT extract(epoch FROM min(moment) - now()) AS delay, min(moment) AS moment FROM (
        SELECT min({_WARN_AT}) AS moment FROM recovery_cases c WHERE {_CONTACT_CLOCK}
        UNION ALL
        SELECT min(c.owned_at + $2::interval) FROM recovery_cases c WHERE {_CLAIM_UNTRIED}
        UNION ALL
        SELECT min(c.call_back_due_at + $3::interval) FROM recovery_cases c
        WHERE {_CALL_BACK_WAITS}
    ) moments
"""

DUE_CASE_SQL = f"""
    SELECT c.id, c.status, c.queue, c.owner_id, c.failed_attempts, c.contact_due_at,
           c.first_attempt_at, c.last_attempt_at, c.owned_at, c.sla_warned_at,
           c.sla_breached_at, c.call_back_due_at, c.call_back_missed_at, now() AS now,
           (SELECT a.name FROM agents a WHERE a.id = c.owner_id) AS owner
    FROM recovery_cases c
    WHERE ({_CONTACT_CLOCK} AND {_WARN_AT} <= now())
       OR ({_CLAIM_UNTRIED} AND c.owned_at + $2::interval <= now())
       OR ({_CALL_BACK_WAITS} AND c.call_back_due_at + $3::interval <= now())
    ORDER BY c.id
    LIMIT 1
    FOR UPDATE OF c SKIP LOCKED
"""

_MARKS: dict[Timer, CaseColumns] = {
    Timer.WARNING: {CaseColumn.SLA_WARNED_AT: NOW},
    Timer.BREACH: {CaseColumn.SLA_BREACHED_AT: NOW, CaseColumn.SLA_WARNED_AT: FIRST_NOW},
    Timer.CLAIM_LAPSE: {CaseColumn.OWNED_AT: None},
    Timer.CALL_BACK: {CaseColumn.CALL_BACK_MISSED_AT: NOW},
}
"""What firing each timer records, so it is never due again."""


def policy_from(settings: NotifierSettings) -> SlaPolicy:
    """The timers' policy from the notifier's settings."""
    lapse = settings.sla_claim_lapse_minutes
    return SlaPolicy(
        warning=timedelta(seconds=settings.sla_warning_seconds),
        claim_lapse=timedelta(minutes=lapse) if lapse > 0 else None,
        escalation_queue=settings.sla_escalation_queue,
        call_back_grace=timedelta(minutes=settings.call_back_grace_minutes),
    )


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
        self._asleep = False
        self._next_moment: datetime | None = None
        """While asleep: the earliest pending timer at the last look (PostgreSQL's clock), or
        ``None`` when none was pending."""
        self.fired = 0
        """Timers this instance fired (for tests and logs)."""
        self.looks_spared = 0
        """Changes that did not wake it: none could bring a timer before its next moment."""

    def nudge(self) -> None:
        """Something changed that no message describes: look again at once."""
        self._wake.set()

    def nudge_for(self, cases: Sequence[CaseSummary] | None) -> None:
        """These cases changed (a batch of alerts and case changes): look again only if one of
        them may have a timer due before the moment the scheduler sleeps towards.

        Each look is two queries over every open case, and every batch the feed reads used to
        wake it: under a burst with thousands of cases waiting, that was a large share of
        PostgreSQL's time (docs/performance.md, section 40). A new case's timers lie minutes
        after the ones already waiting, so most batches need no look. While the scheduler is
        between looks (firing, querying), every change wakes it, as before: its next moment is
        not known yet. Moments come from the changes' own timestamps, stamped by PostgreSQL
        like the moment compared with, so host clocks do not matter.
        """
        if not self._asleep or cases is None:  # between looks, or a change nobody could read
            self._woken()
            return
        moments = [m for case in cases if (m := earliest_possible(case, self._policy)) is not None]
        if moments and (self._next_moment is None or min(moments) < self._next_moment):
            self._woken()
        else:
            self.looks_spared += 1
            SLA_NUDGES.labels("spared").inc()

    def _woken(self) -> None:
        self._wake.set()
        SLA_NUDGES.labels("woken").inc()

    def _args(self) -> tuple[timedelta, timedelta | None, timedelta]:
        return self._policy.warning, self._policy.claim_lapse, self._policy.call_back_grace

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
            self._asleep = True
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except TimeoutError:
                pass
            finally:
                self._asleep = False

    async def seconds_to_next(self) -> float | None:
        """Seconds until the earliest pending timer of any case (negative: overdue); the
        moment itself is kept for :meth:`nudge_for`."""
        row = await self._pool.fetchrow(NEXT_DELAY_SQL, *self._args())
        self._next_moment = None if row is None else row["moment"]
        delay = None if row is None else row["delay"]
        return None if delay is None else float(delay)

    async def fire_due(self) -> int:
        """Fire every timer due now, one transaction each; returns how many fired."""
        fired = 0
        while (
            change := await flows.commit_and_publish(self._pool, self._publisher, self._fire_one)
        ) is not None:
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
        return fired

    async def _fire_one(self, conn: Connection) -> Change | None:
        async with conn.transaction():
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
                conn,
                state,
                firing.outcome,
                timer.kind,
                actor=SLA_ACTOR,
                actor_id=None,
                data=data,
                columns=_MARKS[timer],
            )
        SLA_TIMERS.labels(timer.value).inc()
        SLA_TIMER_DELAY_SECONDS.observe(delay.total_seconds())
        return change


def _clock(row: asyncpg.Record) -> SlaClock:
    """The clock of a row of ``DUE_CASE_SQL``, which selects every field of :class:`SlaClock`."""
    values = {field.name: row[field.name] for field in fields(SlaClock)}
    return SlaClock(**{**values, "status": CaseStatus(row["status"])})


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
