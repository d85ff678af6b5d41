"""The router's broker and database in memory, for unit tests of its batch logic.

``MemoryRecordSource``, ``MemoryPublisher`` and ``MemoryStore`` satisfy the protocols the loop
is written against (``winback_router.stream``, ``winback_router.batch_store``) the way Kafka
and PostgreSQL do, as far as the loop can tell: offsets per partition, a commit names the next
offset to read, a publish returns once every message is acknowledged, a batch is stored all or
nothing and a repeat delivery changes nothing but hands back a case never alerted. Each writes
what it did to one shared ``journal``, so a test reads the order of events in one list.

The publisher and the store can be told to fail their next calls (``failures``,
``save_failures``, ``mark_failures``) and the publisher to hold an acknowledgement (``hold``):
that is how the tests break the loop where a real outage would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from winback_router.batch_store import Coder
from winback_router.dead_letters.store import Failure
from winback_router.revisions import content_digest, merge_revision
from winback_router.store import CaseChange
from winback_router.stream import Batches, Message, Partition
from winback_shared.case_vocabulary import CaseStatus, HistoryKind
from winback_shared.events.base import utc_now
from winback_shared.events.recovery_alerts import CaseSummary, CodedReason
from winback_shared.survey import SurveyResponse

Journal = list[tuple[str, Any]]
"""(what happened, with what) in the order it happened."""


class MemoryPartition(NamedTuple):
    """Like aiokafka's ``TopicPartition``."""

    topic: str
    partition: int


@dataclass(frozen=True)
class MemoryRecord:
    """Like aiokafka's ``ConsumerRecord``, with what the router reads of it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


class Failures:
    """Errors for one operation to raise, one per call."""

    def __init__(self) -> None:
        self._queued: list[BaseException] = []

    def fail_next(self, *errors: BaseException) -> None:
        """Raise these on the next calls, in order."""
        self._queued.extend(errors)

    def raise_if_due(self) -> None:
        """Raise the next queued error, if any."""
        if self._queued:
            raise self._queued.pop(0)


class MemoryRecordSource:
    """A topic's partitions as lists, one consumer group's position and commits over them."""

    def __init__(self, journal: Journal, topic: str = "survey-responses") -> None:
        self.journal = journal
        self.topic = topic
        self.log: dict[MemoryPartition, list[MemoryRecord]] = {}
        self.committed: dict[MemoryPartition, int] = {}
        self.commits: list[dict[MemoryPartition, int]] = []
        self.in_flight: asyncio.Lock | None = None
        self.revocations = 0
        self._position: dict[MemoryPartition, int] = {}
        self._arrived = asyncio.Event()
        self._committed = asyncio.Event()

    def append(
        self,
        value: bytes,
        *,
        partition: int = 0,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> MemoryRecord:
        """Write a record at the end of ``partition``, as a producer would."""
        records = self.log.setdefault(MemoryPartition(self.topic, partition), [])
        record = MemoryRecord(self.topic, partition, len(records), key, value, tuple(headers))
        records.append(record)
        self._arrived.set()
        return record

    def restart(self) -> None:
        """Forget what was fetched but not committed, as a restarted consumer does."""
        self._position = dict(self.committed)

    async def rebalance(self) -> None:
        """Take the partitions away and give them back, as a group rebalance does: wait for the
        batch in flight (``in_flight``), count the revocation, and read again from the
        committed offsets (what was fetched and not committed is fetched again)."""
        assert self.in_flight is not None, "not subscribed"
        async with self.in_flight:
            self.revocations += 1
            self._position = dict(self.committed)
            self.journal.append(("rebalance", self.revocations))

    async def commits_reach(self, count: int) -> None:
        """Wait until ``count`` commits have been made."""
        while len(self.commits) < count:
            self._committed.clear()
            await self._committed.wait()

    def wake(self) -> None:
        """End a fetch that is waiting for records (so a stopped loop notices at once)."""
        self._arrived.set()

    def subscribe(self, topic: str, *, in_flight: asyncio.Lock) -> None:
        """Remember the lock a rebalance would wait for."""
        assert topic == self.topic, f"subscribed to {topic}, records are on {self.topic}"
        self.in_flight = in_flight

    async def fetch(self, *, timeout_ms: int, max_records: int) -> Batches:
        """Records after each partition's position, up to ``max_records`` in all."""
        if not self._unread():
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), timeout_ms / 1000)
            except TimeoutError:
                return {}
        batches: dict[Partition, list[MemoryRecord]] = {}
        room = max_records
        for partition, records in self._unread().items():
            taken = records[:room]
            if not taken:
                break
            batches[partition] = taken
            self._position[partition] = taken[-1].offset + 1
            room -= len(taken)
        return batches

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Record the next offset to read, per partition."""
        committed = {MemoryPartition(p.topic, p.partition): offset for p, offset in offsets.items()}
        self.committed.update(committed)
        self.commits.append(committed)
        self.journal.append(("commit", committed))
        self._committed.set()

    def highwater(self, partition: Partition) -> int | None:
        """The offset the next record of ``partition`` will get."""
        return len(self.log.get(MemoryPartition(partition.topic, partition.partition), []))

    def _unread(self) -> dict[MemoryPartition, list[MemoryRecord]]:
        unread = {p: records[self._position.get(p, 0) :] for p, records in self.log.items()}
        return {p: records for p, records in unread.items() if records}


class MemoryPublisher:
    """Messages per topic, acknowledged at once unless told to fail or to hold."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.failures = Failures()
        self.sent: list[Message] = []
        self.acknowledged: list[Message] = []
        self.waiting = asyncio.Event()
        self._release: asyncio.Event | None = None

    def hold(self) -> None:
        """Keep the next publish waiting for its acknowledgement until ``release``."""
        self._release = asyncio.Event()

    def release(self) -> None:
        """Let a held publish be acknowledged."""
        assert self._release is not None, "nothing is held"
        self._release.set()

    def on(self, topic: str) -> list[Message]:
        """What was acknowledged on ``topic``, in order."""
        return [message for message in self.acknowledged if message.topic == topic]

    async def publish(self, messages: Sequence[Message]) -> None:
        """Send; fail (nothing acknowledged) or wait for the hold; then acknowledge all."""
        self.sent.extend(messages)
        self.journal.append(("publish", [message.topic for message in messages]))
        self.failures.raise_if_due()
        if self._release is not None:
            self.waiting.set()
            await self._release.wait()
            self._release = None
        self.acknowledged.extend(messages)
        self.journal.append(("acknowledged", len(messages)))


@dataclass
class _Stored:
    response: SurveyResponse
    case: CaseSummary | None = None


class MemoryStore:
    """Responses by (source, response id), their cases, dead letters by Kafka position."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.save_failures = Failures()
        self.mark_failures = Failures()
        self.responses: dict[tuple[str, str], _Stored] = {}
        self.dead_letters: dict[tuple[str, int, int], Failure] = {}
        self.alerted: set[int] = set()
        self.refuses: Callable[[SurveyResponse], BaseException | None] = lambda response: None
        """What the database says of a response it cannot store (``None``: it can), as
        PostgreSQL refuses a value: the whole batch's transaction fails."""

    @property
    def cases(self) -> list[CaseSummary]:
        """Every case, in the order they were opened."""
        found = [stored.case for stored in self.responses.values() if stored.case is not None]
        return sorted(found, key=lambda case: case.case_id)

    async def save(
        self, outcomes: Sequence[SurveyResponse | Failure], code: Coder
    ) -> list[CaseChange]:
        """All or nothing: the batch is applied to copies and swapped in at the end."""
        self.save_failures.raise_if_due()
        for outcome in outcomes:
            refusal = None if isinstance(outcome, Failure) else self.refuses(outcome)
            if refusal is not None:
                raise refusal
        responses = {key: _Stored(s.response, s.case) for key, s in self.responses.items()}
        dead_letters = dict(self.dead_letters)
        changes: list[CaseChange] = []
        for outcome in outcomes:
            if isinstance(outcome, Failure):
                dead_letters.setdefault((outcome.topic, outcome.partition, outcome.offset), outcome)
                continue
            change = self._store(responses, outcome, code)
            if change is not None:
                changes.append(change)
        self.responses, self.dead_letters = responses, dead_letters
        self.journal.append(("save", len(outcomes)))
        return changes

    async def mark_alerted(self, case_ids: Sequence[int]) -> None:
        """Remember which cases' alerts were acknowledged."""
        self.mark_failures.raise_if_due()
        self.alerted.update(case_ids)
        self.journal.append(("mark_alerted", list(case_ids)))

    def _store(
        self, responses: dict[tuple[str, str], _Stored], response: SurveyResponse, code: Coder
    ) -> CaseChange | None:
        key = (response.source, response.response_id)
        stored = responses.get(key)
        if stored is None:
            stored = responses[key] = _Stored(response)
            return _open_if_needed(responses, stored, code)
        merged = merge_revision(stored.response, response)
        if content_digest(merged) == content_digest(stored.response):
            if stored.case is None or stored.case.case_id in self.alerted:
                return None
            return CaseChange(HistoryKind.OPENED, stored.case)
        stored.response = merged
        if stored.case is None:
            return _open_if_needed(responses, stored, code)
        ((reasons, decision, _),) = code([merged])
        stored.case = _summary(
            merged,
            reasons,
            case_id=stored.case.case_id,
            seq=stored.case.seq + 1,
            priority=min(stored.case.priority, decision.priority),
            queue=stored.case.queue,
        )
        alerted = stored.case.case_id in self.alerted
        return CaseChange(HistoryKind.REVISED if alerted else HistoryKind.OPENED, stored.case)


def _open_if_needed(
    responses: dict[tuple[str, str], _Stored], stored: _Stored, code: Coder
) -> CaseChange | None:
    ((reasons, decision, queue),) = code([stored.response])
    if not decision.needs_recovery:
        return None
    case_id = 1 + max((s.case.case_id for s in responses.values() if s.case), default=0)
    stored.case = _summary(
        stored.response, reasons, case_id=case_id, seq=1, priority=decision.priority, queue=queue
    )
    return CaseChange(HistoryKind.OPENED, stored.case)


def _summary(
    response: SurveyResponse,
    reasons: list[CodedReason],
    *,
    case_id: int,
    seq: int,
    priority: int,
    queue: str,
) -> CaseSummary:
    return CaseSummary(
        case_id=case_id,
        seq=seq,
        status=CaseStatus.OPEN,
        priority=priority,
        queue=queue,
        source=response.source,
        response_id=response.response_id,
        customer=response.customer,
        interaction=response.interaction,
        scores=response.scores,
        reasons=reasons,
        comment=response.comment,
        follow_up_requested=response.follow_up_requested,
        submitted_at=response.submitted_at,
        received_at=response.received_at,
        opened_at=utc_now(),
    )
