"""Reads ``recovery-alerts`` and ``case-events`` and hands each message to the hub.

Every notifier instance reads every message (no consumer group), starting from the end of the
topics: a console that connects gets its cases from PostgreSQL (a snapshot, or, for a console
that was connected before, everything changed since its cursor: see ``live.cursor``), so
nothing before "now" needs replaying, even what was published while this notifier was down,
and several notifiers can run side by side. Each message goes to the consoles of the
case's queue (and, when a change moved the case, of the queue it left, so they drop it).
An ``agent.changed`` on ``case-events`` is no frame: the hub tells that agent's consoles to
resynchronise.

Quiet changes (``recoded``) are held while more keep coming and then published together, one
``cases.changed`` frame per view (``live.coalesce``); everything else is published as it is
read, alerts included, so a burst of re-codings never delays a pop-up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from winback_notifier.live.coalesce import BATCH_TYPE, HELD_KINDS, QuietChanges, batch_frame
from winback_notifier.live.hub import AlertHub
from winback_notifier.metrics import ALERT_AGE_SECONDS, FRAMES
from winback_shared.events.base import utc_now
from winback_shared.events.case_events import CASE_EVENT, AgentChanged, CaseChanged
from winback_shared.events.recovery_alerts import (
    RECOVERY_ALERT,
    CaseSummary,
    RecoveryCaseOpened,
    RecoveryCaseUpdated,
)

log = logging.getLogger("winback.notifier")

READ_MAX_RECORDS = 200
"""Records published per read of the topics. The frames of one read go out without a pause
(no console's sender runs meanwhile), so a console whose socket still held bytes got every
frame of the read in its mailbox; aiokafka hands over everything it has buffered when not
bounded (up to 1 MB a partition: thousands of alerts after a stall of a few seconds), enough to
fill a mailbox (``WINBACK_CLIENT_QUEUE_SIZE``, 1,000) and drop a console that was reading
fine. With reads of at most a fifth of the default mailbox, a console's sender gets a turn
after every 200 frames at most."""


def route_message(topic: str, raw: bytes, *, case_events_topic: str) -> tuple[str, frozenset[str]]:
    """The console frame for a record and the queues that should see it.

    Raises ``ValueError`` (pydantic's ``ValidationError`` is one) for an unreadable record.
    """
    if topic == case_events_topic:
        return route_case_change(CaseChanged.from_bytes(raw))
    return route_alert(RECOVERY_ALERT.validate_json(raw))


def route_alert(alert: RecoveryCaseOpened | RecoveryCaseUpdated) -> tuple[str, frozenset[str]]:
    """The frame for an alert: for its case's queue."""
    if isinstance(alert, RecoveryCaseOpened):
        ALERT_AGE_SECONDS.observe((utc_now() - alert.case.received_at).total_seconds())
    return alert.model_dump_json(), frozenset({alert.case.queue})


def route_case_change(changed: CaseChanged) -> tuple[str, frozenset[str]]:
    """The frame for a case change: for its queue, and the queue it left if it moved."""
    queues = {changed.case.queue}
    if changed.previous_queue:
        queues.add(changed.previous_queue)
    return changed.model_dump_json(), frozenset(queues)


class AlertsFeed:
    """Consumes alerts and case changes into the hub; ``ready`` is set once it reads the ends."""

    def __init__(
        self,
        bootstrap_servers: str,
        alerts_topic: str,
        case_events_topic: str,
        hub: AlertHub,
        on_batch: Callable[[Sequence[CaseSummary] | None], None] | None = None,
        quiet: QuietChanges | None = None,
    ) -> None:
        """``on_batch`` is called after each batch of records with the cases it carried, or
        ``None`` when a record could not be read (the SLA timers' wake-up);
        ``quiet`` holds the quiet changes until they leave together (its defaults if ``None``)."""
        self._consumer = AIOKafkaConsumer(
            alerts_topic,
            case_events_topic,
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        self._case_events_topic = case_events_topic
        self._hub = hub
        self._on_batch = on_batch
        self._quiet = quiet if quiet is not None else QuietChanges()
        self.ready = asyncio.Event()

    @property
    def consumer(self) -> AIOKafkaConsumer:
        """The underlying consumer, for readiness probes."""
        return self._consumer

    async def start(self) -> None:
        """Connect and pin the start positions, so messages published after this are seen."""
        await self._consumer.start()
        for _ in range(200):
            if self._consumer.assignment():
                break
            await asyncio.sleep(0.05)
        for partition in self._consumer.assignment():
            await self._consumer.position(partition)
        self.ready.set()

    async def run(self) -> None:
        """Forward messages until cancelled.

        While quiet changes are held, each read waits only briefly: held changes leave once a
        read comes back empty (the burst is over) or they are due (``QuietChanges.due``).
        """
        while True:
            wait = self._quiet.wait_seconds(time.monotonic(), idle=0.5)
            batches = await self._consumer.getmany(
                timeout_ms=round(wait * 1000), max_records=READ_MAX_RECORDS
            )
            cases: list[CaseSummary] | None = []
            for records in batches.values():
                for record in records:
                    try:
                        case = self._deliver(record.topic, record.value or b"")
                    except (ValueError, ValidationError):
                        log.error(
                            "unreadable message skipped",
                            extra={"fields": {"topic": record.topic, "offset": record.offset}},
                        )
                        cases = None  # what it changed is unknown
                        continue
                    if case is not None and cases is not None:
                        cases.append(case)
            if not batches or self._quiet.due(time.monotonic()):
                self.flush()
            if batches and self._on_batch is not None:
                self._on_batch(cases)
            # A read is published without a pause, so the consoles' senders run only between
            # reads: give them that turn even when the next read is already buffered.
            await asyncio.sleep(0)

    def _deliver(self, topic: str, raw: bytes) -> CaseSummary | None:
        """Hand one record to the hub: a frame for consoles, or a resync for an agent's. The
        case it carried is returned (``None``: an agent's change).

        A quiet change is held instead (:meth:`flush` publishes it); anything else about a case
        with a held change first publishes what is held, so per case the order stays.
        """
        if topic != self._case_events_topic:
            alert = RECOVERY_ALERT.validate_json(raw)
            if self._quiet.holds(alert.case.case_id):
                self.flush()
            self._hub.publish(*route_alert(alert))
            FRAMES.labels(alert.type).inc()
            return alert.case
        event = CASE_EVENT.validate_json(raw)
        if isinstance(event, AgentChanged):
            self.flush()  # its consoles resynchronise after what was read before
            consoles = self._hub.agent_changed(event.agent_id)
            log.info(
                "agent changed; its consoles resynchronise",
                extra={"fields": {"agent_id": event.agent_id, "consoles": consoles}},
            )
            return None
        frame, audience = route_case_change(event)
        if event.change.kind in HELD_KINDS:
            self._quiet.hold(frame, audience, event.case.case_id, time.monotonic())
            return event.case
        if self._quiet.holds(event.case.case_id):
            self.flush()
        self._hub.publish(frame, audience)
        FRAMES.labels(event.type).inc()
        return event.case

    def flush(self) -> None:
        """Publish the held quiet changes: one frame per view (``cases.changed``).

        Counted once in ``frames_total``, like any message published, however many changes it
        carries (a single change leaves as the ``case.changed`` it is, and counts as one)."""
        if self._quiet:
            held = self._quiet.take()
            self._hub.publish_batch(held, batch_frame)
            FRAMES.labels(BATCH_TYPE if len(held) > 1 else "case.changed").inc()

    async def stop(self) -> None:
        """Disconnect."""
        await self._consumer.stop()
