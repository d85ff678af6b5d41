"""The router's consumer loop: records in, durable cases and acknowledged alerts out.

Contract: an offset is committed only after every record before it is stored in PostgreSQL (as
a response or a dead letter) and every alert it produced is acknowledged by Kafka. A crash
anywhere replays from the last commit; the idempotent store makes the replay harmless.

The loop knows the broker and the database only through ``stream.RecordSource``,
``stream.Publisher`` and ``batch_store.BatchStore``: ``kafka_stream`` and ``PostgresBatchStore``
in production, in-memory ones in the unit tests that hold the loop to this contract.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_when_event_set,
    wait_exponential_jitter,
)

from winback_router.adapters import AdapterContext, InvalidPayload, NotASurveyResponse, normalise
from winback_router.adapters.vendor_api import VendorUnavailable
from winback_router.batch_store import BatchStore, Coded, Coder
from winback_router.coding import code_chosen_reasons, code_response, code_responses
from winback_router.coding_process import CodingProcess, CodingWorkerDied
from winback_router.dead_letters.flood_guard import FloodGuard
from winback_router.dead_letters.store import REPLAY_HEADER, Failure
from winback_router.decision import PAST_WINDOW, decide
from winback_router.metrics import (
    ALERT_LABELS,
    BATCH_RECORDS,
    BATCH_SECONDS,
    CASE_ALERTS,
    CODING_FAILURES,
    CONSUMER_LAG,
    PAST_WINDOW_RESPONSES,
    RECORDS,
    RESPONSE_AGE_SECONDS,
    STAGE_SECONDS,
    observe_all,
)
from winback_router.queues import QueueRules, choose_queue
from winback_router.refusals import refused_for_its_values
from winback_router.store import CaseChange, ConcurrentDelivery
from winback_router.stream import Batches, Message, Partition, Publisher, Record, RecordSource
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.events.base import utc_now
from winback_shared.events.recovery_alerts import (
    CodedReason,
    RecoveryCaseOpened,
    RecoveryCaseUpdated,
)
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.lone_surrogates import without_lone_surrogates
from winback_shared.sources import Sources
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy
from winback_shared.transient import is_transient

log = logging.getLogger("winback.router")


def worth_retrying(exc: BaseException) -> bool:
    """Whether to retry the batch in place: it will likely succeed once the peer is back.

    The shared definition of transient errors, plus two conditions of the router's own: a
    vendor API that stayed down through its retries, and another router that stored the same
    response first during a rebalance.
    """
    return is_transient(exc) or isinstance(exc, (VendorUnavailable, ConcurrentDelivery))


NORMALISE_CONCURRENCY = 8
FETCH_TIMEOUT_MS = 200
DEFAULT_MAX_BATCH = 200
"""Records per batch (one transaction, then its alerts). A batch's alerts wait for all of it,
so a cap keeps a record's wait from growing with the lag; docs/performance.md has the
measurements behind the default."""


DEFAULT_BATCHES_AHEAD = 1
"""Coded batches that may wait behind the one being stored and acknowledged (0: one batch at
a time). With one, the coding thread idles whenever a batch's store, alerts and commit take
longer than coding the next; two took that wait away but, paced near the router's limit, gave
smaller batches and later alerts in three pairs of four (docs/performance.md, section 16), so
one stays the default until a quiet machine says otherwise."""


_T = TypeVar("_T")


@dataclass(frozen=True)
class _Normalised:
    """A batch fetched and normalised, not yet coded."""

    batches: Batches
    records: list[Record]
    outcomes: list[SurveyResponse | Failure | None]


@dataclass(frozen=True)
class _Prepared:
    """A batch normalised and coded, ready to store: the work done outside any transaction."""

    batches: Batches
    records: list[Record]
    outcomes: list[SurveyResponse | Failure | None]
    code: Coder


@dataclass(frozen=True)
class _Coding:
    """A batch being coded, and the rebalance count when it was fetched."""

    task: asyncio.Task[_Prepared]
    revocations: int


@dataclass(frozen=True)
class _PartitionOf:
    """A partition named by a record (``process_batch`` is given records, not batches)."""

    topic: str
    partition: int


def _reap(pending: deque[asyncio.Task[None]]) -> None:
    """Drop the finished batches from the front of ``pending``; a failed one's error is
    raised here."""
    while pending and pending[0].done():
        pending.popleft().result()


async def _settle(task: asyncio.Task[None], error: BaseException) -> None:
    """Wait for the batch in flight while ``error`` ends the loop; log the batch's own error
    (unless it is that one)."""
    try:
        await task
    except Exception as exc:
        if exc is not error:
            log.error("batch in flight failed too", extra={"fields": {"error": repr(exc)}})


async def _drop(fetching: asyncio.Task[tuple[Batches, int]] | None, coding: _Coding | None) -> None:
    """Cancel a fetch and a batch being coded, neither stored: their records are read again
    from the committed offsets."""
    tasks = [task for task in (fetching, coding.task if coding else None) if task is not None]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@dataclass(frozen=True)
class RouterTopics:
    """Where the router reads and writes."""

    responses: str
    alerts: str
    dead_letters: str


def _observe_ages(stage: str, received: Sequence[datetime]) -> None:
    """Record how long ago ingest received each delivery, as of now (one clock reading, one
    labelled child and one increment per bucket touched for the batch, not one per record)."""
    if not received:
        return
    now = utc_now()
    observe_all(
        RESPONSE_AGE_SECONDS.labels(stage),
        [(now - received_at).total_seconds() for received_at in received],
    )


def _replay_of(record: Record) -> int | None:
    for name, value in record.headers or ():
        if name == REPLAY_HEADER and value and value.isdigit():
            return int(value)
    return None


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else None
    log.warning(
        "transient failure, retrying batch",
        extra={"fields": {"error": repr(error), "retry_in": wait, "attempt": state.attempt_number}},
    )


class RecoveryRouter:
    """Consumes ``survey-responses``; writes responses and cases; publishes alerts."""

    def __init__(
        self,
        *,
        records: RecordSource,
        publisher: Publisher,
        store: BatchStore,
        taxonomy: Taxonomy,
        sources: Sources,
        adapter_context: AdapterContext,
        topics: RouterTopics,
        queue_rules: QueueRules | None = None,
        flood_guard: FloodGuard | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        overlap: bool = True,
        batches_ahead: int = DEFAULT_BATCHES_AHEAD,
        normalise_ahead: bool = False,
        coding_process: CodingProcess | None = None,
        recovery_window: timedelta | None = None,
    ) -> None:
        self._records = records
        self._publisher = publisher
        self._store = store
        self._taxonomy = taxonomy
        self._sources = sources
        self._context = adapter_context
        self._topics = topics
        self._queue_rules = queue_rules or QueueRules()
        self._flood_guard = flood_guard or FloodGuard()
        self._max_batch = max_batch
        self._batches_ahead = batches_ahead if overlap else 0
        self._normalise_ahead = normalise_ahead
        self._batch_lock = asyncio.Lock()
        self._coding_process = coding_process
        self._recovery_window = recovery_window

    def subscribe(self) -> None:
        """Join the group; call before the consumer starts fetching."""
        self._records.subscribe(self._topics.responses, in_flight=self._batch_lock)

    async def run(self, stop: asyncio.Event) -> None:
        """Process batches until ``stop`` is set; the batches in flight finish and commit.

        Batches overlap. While batch N is stored, published and committed (``_finish``, in a
        task holding the in-flight lock), batch N+1 is coded (a worker thread, or the coding
        process); with ``normalise_ahead`` the loop meanwhile fetches and normalises batch N+2,
        so the coder never waits for a fetch or for normalising: it starts on the next batch as
        soon as it hands one over (docs/performance.md, section 23). Up to ``batches_ahead`` coded
        batches wait behind the one being finished; a batch is coded only once the one before
        it was handed over. Each batch's task waits for the one before it, so stores, alerts
        and commits keep the order of the records. A batch fetched before a rebalance revoked
        partitions is dropped unstored: its records are fetched again from the committed
        offsets by whichever member owns them now (and so is every batch fetched after it and
        before the rebalance). Without ``normalise_ahead`` (the default: on the loaded machine it
        was not shown to pay, docs/performance.md section 23) the next batch is fetched only once
        the last is coded, as in section 8.

        Transient failures retry the failing step with backoff until they pass or the router
        is stopped; a value that cannot be stored sends its batch through ``_store_one_by_one``
        (the record refused becomes a dead letter), and an error in coding through
        ``_code_batch``'s response-by-response coding; anything else (including a dead-letter
        flood) ends the loop, after the batches in flight have finished or failed, with nothing
        after the failure committed (a batch being coded then is dropped unstored).
        """
        pending: deque[asyncio.Task[None]] = deque()
        coding: _Coding | None = None
        fetching: asyncio.Task[tuple[Batches, int]] | None = None
        try:
            while not stop.is_set():
                fetching = fetching or asyncio.create_task(self._fetch())
                if coding is not None and not fetching.done():
                    # Hand the coded batch over as soon as it is ready, fetch or no fetch.
                    await asyncio.wait({fetching, coding.task}, return_when=asyncio.FIRST_COMPLETED)
                    if coding.task.done():
                        await self._hand_over(coding, pending, stop)
                        coding = None
                    continue
                batches, revocations = await fetching
                fetching = None
                _reap(pending)  # a finished batch's error ends the loop now
                if not batches:
                    continue
                normalised = await self._retrying(stop, partial(self._normalise_batch, batches))
                if coding is not None:  # the batch before is still being coded: it goes first
                    await self._hand_over(coding, pending, stop)
                coding = _Coding(
                    asyncio.create_task(self._retrying(stop, partial(self._code, normalised))),
                    revocations,
                )
                if self._batches_ahead == 0 or not self._normalise_ahead:
                    # Coded before the next fetch (section 8's two stages, for comparisons).
                    await self._hand_over(coding, pending, stop)
                    coding = None
                if self._batches_ahead == 0:  # one batch at a time, as before (for comparisons)
                    await pending[0]
                    _reap(pending)
        except asyncio.CancelledError:
            for task in pending:
                task.cancel()
            await _drop(fetching, coding)
            await asyncio.gather(*pending, return_exceptions=True)
            raise
        except BaseException as error:
            await _drop(fetching, coding)
            for task in pending:
                await _settle(task, error)
            raise
        await _drop(fetching, None)
        if coding is not None:
            await self._hand_over(coding, pending, stop)
        for task in list(pending):
            await task

    async def _fetch(self) -> tuple[Batches, int]:
        """The next records (``getmany``), up to a batch, waiting a little for some, and the
        rebalance count as they were fetched.

        The count is read as ``fetch`` returns, with no await in between: the loop may take the
        result much later (after handing a coded batch over), and a rebalance counted
        meanwhile must still drop this batch.
        """
        with STAGE_SECONDS.labels("fetch").time():
            batches = await self._records.fetch(
                timeout_ms=FETCH_TIMEOUT_MS, max_records=self._max_batch
            )
        return batches, self._records.revocations

    async def _hand_over(
        self, coding: _Coding, pending: deque[asyncio.Task[None]], stop: asyncio.Event
    ) -> None:
        """Queue the coded batch to be finished after the ones before it, once fewer than
        ``batches_ahead`` of those wait (their order is kept by ``_finish_after``)."""
        prepared = await coding.task
        with STAGE_SECONDS.labels("handover").time():
            while pending and len(pending) >= self._batches_ahead:
                await pending[0]
                _reap(pending)
        previous = pending[-1] if pending else None
        pending.append(
            asyncio.create_task(self._finish_after(previous, prepared, coding.revocations, stop))
        )

    async def _finish_after(
        self,
        previous: asyncio.Task[None] | None,
        prepared: _Prepared,
        revocations: int,
        stop: asyncio.Event,
    ) -> None:
        """Finish ``prepared`` once the batch before it has committed, holding the in-flight
        lock; drop it unstored if a rebalance revoked partitions since it was fetched. If the
        batch before it failed, this one fails with the same error and stores nothing."""
        if previous is not None:
            await previous
        async with self._batch_lock:
            if self._records.revocations != revocations:
                log.info(
                    "batch dropped: partitions were revoked after it was fetched",
                    extra={"fields": {"records": len(prepared.records)}},
                )
                return
            await self._finish(prepared, stop)

    async def _retrying(self, stop: asyncio.Event, step: Callable[[], Awaitable[_T]]) -> _T:
        """``step()``, retried with backoff while it fails transiently and ``stop`` is unset."""
        async for attempt in AsyncRetrying(
            retry=retry_if_exception(worth_retrying),
            wait=wait_exponential_jitter(multiplier=0.2, max=10, jitter=0.2),
            stop=stop_when_event_set(stop),  # type: ignore[arg-type]
            before_sleep=_log_retry,
            reraise=True,
        ):
            with attempt:
                return await step()
        raise AssertionError("unreachable: tenacity reraises or returns")  # pragma: no cover

    async def _finish(self, prepared: _Prepared, stop: asyncio.Event) -> None:
        """Store, publish, mark alerted, then commit (run holding the in-flight lock)."""
        started = time.perf_counter()
        try:
            await self._retrying(stop, partial(self._store_and_alert, prepared))
        except Exception as error:
            if not refused_for_its_values(error):
                raise
            await self._store_one_by_one(prepared, error, stop)
        with STAGE_SECONDS.labels("commit").time():
            await self._records.commit(
                {partition: batch[-1].offset + 1 for partition, batch in prepared.batches.items()}
            )
        BATCH_SECONDS.observe(time.perf_counter() - started)
        for partition, batch in prepared.batches.items():
            highwater = self._records.highwater(partition)
            if highwater is not None:
                lag = max(0, highwater - batch[-1].offset - 1)
                CONSUMER_LAG.labels(str(partition.partition)).set(lag)

    async def _store_one_by_one(
        self, prepared: _Prepared, error: Exception, stop: asyncio.Event
    ) -> None:
        """Store a batch with a value that could not be stored record by record, each in its
        own transaction; a record refused alone becomes a dead letter saying why.

        Without this the batch would fail at every retry and every restart, and the router
        would stop on it for good (``refusals``). The others are stored, alerted and later
        committed as they would have been; one already stored is not stored twice (the store
        is idempotent, and a case whose alert was not acknowledged is alerted again). Refused
        records count against the flood guard, so a fault that refuses every record stops
        the router after a few instead of dead-lettering the stream.
        """
        log.warning(
            "a value in a batch could not be stored; storing its records one by one",
            extra={"fields": {"records": len(prepared.records), "error": _brief(error)}},
        )
        for record, outcome in zip(prepared.records, prepared.outcomes, strict=True):
            if outcome is None:
                continue
            alone = _Prepared(prepared.batches, [record], [outcome], prepared.code)
            try:
                await self._retrying(stop, partial(self._store_and_alert, alone))
            except Exception as refusal:
                if isinstance(outcome, Failure) or not refused_for_its_values(refusal):
                    raise
                self._flood_guard.check([True])
                failure = _refused(record, outcome, refusal)
                log.warning(
                    "record dead-lettered: it could not be stored",
                    extra={
                        "fields": {
                            "receipt_id": failure.receipt_id,
                            "source": failure.source,
                            "offset": record.offset,
                            "error": failure.error[:300],
                        }
                    },
                )
                refused = _Prepared(prepared.batches, [record], [failure], prepared.code)
                await self._retrying(stop, partial(self._store_and_alert, refused))

    async def process_batch(self, records: Sequence[Record]) -> None:
        """Normalise and code every record, store the batch in one transaction, then publish
        and confirm (everything but the commit, in one call)."""
        partitions: dict[Partition, list[Record]] = {}
        for record in records:
            partitions.setdefault(_PartitionOf(record.topic, record.partition), []).append(record)
        await self._store_and_alert(await self._prepare(partitions))

    async def _prepare(self, batches: Batches) -> _Prepared:
        """Normalise every record and code the batch: no database, nothing published."""
        return await self._code(await self._normalise_batch(batches))

    async def _normalise_batch(self, batches: Batches) -> _Normalised:
        """Every record normalised (before any transaction is open: it may call a vendor's
        API); a flood of dead letters stops here."""
        records = [record for partition in batches.values() for record in partition]
        BATCH_RECORDS.observe(len(records))
        with STAGE_SECONDS.labels("normalise").time():
            outcomes = await self._normalise_all(records)
        self._flood_guard.check(
            isinstance(outcome, Failure) for outcome in outcomes if outcome is not None
        )
        return _Normalised(batches, records, outcomes)

    async def _code(self, normalised: _Normalised) -> _Prepared:
        """Code the batch's responses at once.

        Coding is CPU work (rules, the model's sentence vectors in one call): a worker thread,
        so the event loop keeps serving the broker, the pool and the batch in flight meanwhile;
        or, given a :class:`CodingProcess`, a process of its own, so the loop does not wait
        for the GIL behind it either (docs/performance.md, section 17).
        """
        outcomes = normalised.outcomes
        stored = [outcome for outcome in outcomes if isinstance(outcome, SurveyResponse)]
        with STAGE_SECONDS.labels("code").time():
            if self._coding_process is None:
                code = await asyncio.to_thread(self._code_batch, stored)
            else:
                try:
                    coded = await self._coding_process.code(stored)
                    code = self._coder(stored, self._without_lost_comments(stored, coded))
                except Exception as error:
                    if isinstance(error, CodingWorkerDied) or worth_retrying(error):
                        raise
                    # An error coding raised in the worker: the same isolation in a thread.
                    code = await asyncio.to_thread(self._code_batch, stored)
        return _Prepared(normalised.batches, normalised.records, outcomes, code)

    async def _normalise_all(
        self, records: Sequence[Record]
    ) -> list[SurveyResponse | Failure | None]:
        """Every record's outcome, in order, at most ``NORMALISE_CONCURRENCY`` at a time.

        A few workers take the records in turn (an adapter that calls its vendor's API waits
        without holding up the others) instead of a task per record: most adapters never wait,
        and a task per record cost more than their work (docs/performance.md, section 12).
        """
        outcomes: list[SurveyResponse | Failure | None] = [None] * len(records)
        turns = iter(enumerate(records))

        async def worker() -> None:
            for index, record in turns:
                outcomes[index] = await self._normalise(record)

        workers = min(NORMALISE_CONCURRENCY, len(records))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return outcomes

    async def _store_and_alert(self, prepared: _Prepared) -> None:
        """Store the batch in one transaction, then publish its alerts and dead-letter copies
        and wait for their acknowledgement, then stamp the opened cases as alerted.

        One commit per batch instead of per record is what lets the router keep up with a
        burst; no transaction is open while Kafka is waited for.
        """
        outcomes = prepared.outcomes
        failures = [outcome for outcome in outcomes if isinstance(outcome, Failure)]
        kept = [outcome for outcome in outcomes if outcome is not None]
        stored = [outcome for outcome in outcomes if isinstance(outcome, SurveyResponse)]
        with STAGE_SECONDS.labels("store").time():
            changes = _latest_per_case(await self._store.save(kept, prepared.code))
        _observe_ages("stored", [response.received_at for response in stored])
        with STAGE_SECONDS.labels("publish").time():
            await self._publisher.publish(self._messages(changes, failures))
        with STAGE_SECONDS.labels("mark_alerted").time():
            await self._store.mark_alerted(
                [c.case.case_id for c in changes if c.kind is HistoryKind.OPENED]
            )
        RECORDS.labels("stored").inc(len(stored))
        RECORDS.labels("dead_letter").inc(len(failures))
        RECORDS.labels("skipped").inc(sum(outcome is None for outcome in outcomes))
        kinds = Counter(change.kind for change in changes)
        for kind, count in kinds.items():
            CASE_ALERTS.labels(ALERT_LABELS[kind]).inc(count)
        _observe_ages(
            "alerted",
            [c.case.received_at for c in changes if c.kind is HistoryKind.OPENED],
        )
        log.info(
            "batch routed",
            extra={
                "fields": {
                    "records": len(prepared.records),
                    "alerts": len(changes),
                    "dead_letters": len(failures),
                }
            },
        )

    async def _normalise(self, record: Record) -> SurveyResponse | Failure | None:
        value = record.value or b""
        envelope: SurveyReceived | None = None
        try:
            envelope = SurveyReceived.from_bytes(value)
            return await normalise(envelope, self._sources, self._context)
        except NotASurveyResponse as exc:
            log.info(
                "delivery skipped: not a survey response",
                extra={"fields": {"receipt_id": envelope and envelope.receipt_id, "why": str(exc)}},
            )
            return None
        except (ValidationError, InvalidPayload) as exc:
            failure = Failure(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                record=value,
                error=str(exc),
                receipt_id=envelope.receipt_id if envelope else None,
                source=envelope.source if envelope else None,
                vendor=envelope.vendor if envelope else None,
                replay_of=_replay_of(record),
            )
            log.warning(
                "record dead-lettered",
                extra={
                    "fields": {
                        "receipt_id": failure.receipt_id,
                        "source": failure.source,
                        "offset": record.offset,
                        "error": failure.error[:300],
                    }
                },
            )
            return failure

    def _code_batch(self, responses: Sequence[SurveyResponse]) -> Coder:
        """Code a batch at once (rules, then the model's sentence vectors in one call); the
        returned coder answers from it, and codes anything else (a revision merged with what was
        stored, which is rare) on the spot.

        Coding is pure computation, so an error in it is a bug that a retry meets again: the
        batch would fail at every retry and every restart, and the router would stop on it for
        good. So a batch whose coding fails is coded response by response, and a response whose
        coding fails alone keeps its chosen answers' codes (``_coded_without_the_comment``): it
        is stored and its case opened, as on the day the comment's words were unknown."""
        try:
            batch = code_responses(responses, self._taxonomy)
        except Exception:
            log.exception(
                "coding a batch failed; coding its responses one by one",
                extra={"fields": {"responses": len(responses)}},
            )
            batch = [self._code_alone(response) for response in responses]
        return self._coder(responses, batch)

    def _code_alone(self, response: SurveyResponse) -> list[CodedReason]:
        try:
            return code_responses([response], self._taxonomy)[0]
        except Exception:
            return self._coded_without_the_comment(response)

    def _without_lost_comments(
        self, responses: Sequence[SurveyResponse], coded: list[list[CodedReason] | None]
    ) -> list[list[CodedReason]]:
        """The coding process's reasons, a response it could not code alone (its worker died
        on the comment, or coding raised on it) coded from its chosen answers here: never its
        comment, which might kill the router's own process as it killed the worker."""
        return [
            reasons
            if reasons is not None
            else self._coded_without_the_comment(response, in_worker=True)
            for response, reasons in zip(responses, coded, strict=True)
        ]

    def _coded_without_the_comment(
        self, response: SurveyResponse, *, in_worker: bool = False
    ) -> list[CodedReason]:
        """The codes of the chosen answers alone, for a response whose comment coding failed
        on (the error is logged with its receipt id, to be reported and fixed)."""
        fields = {"receipt_id": response.receipt_id, "source": response.source}
        if in_worker:
            log.error(
                "the coding process could not code one response's comment (its log says why); "
                "its chosen answers alone code it",
                extra={"fields": fields},
            )
        else:
            log.exception(
                "coding failed for one response; its chosen answers alone code it",
                extra={"fields": fields},
            )
        CODING_FAILURES.inc()
        try:
            return code_chosen_reasons(response, self._taxonomy)
        except Exception:
            log.exception("coding its chosen answers failed too; no reason is coded")
            return []

    def _coder(self, responses: Sequence[SurveyResponse], batch: list[list[CodedReason]]) -> Coder:
        """The coder that answers from ``batch``, the reasons of ``responses``."""
        done = {
            id(response): (response, self._decide(response, reasons))
            for response, reasons in zip(responses, batch, strict=True)
        }

        def one(response: SurveyResponse) -> Coded:
            entry = done.get(id(response))
            if entry is not None and entry[0] is response:
                return entry[1]
            try:
                reasons = code_response(response, self._taxonomy)
            except Exception:
                reasons = self._coded_without_the_comment(response)
            return self._decide(response, reasons)

        def code(wanted: Sequence[SurveyResponse]) -> list[Coded]:
            return [one(response) for response in wanted]

        return code

    def _decide(self, response: SurveyResponse, reasons: list[CodedReason]) -> Coded:
        decision = decide(response, reasons, window=self._recovery_window)
        if decision.triggers == (PAST_WINDOW,):
            PAST_WINDOW_RESPONSES.labels(response.source).inc()
        queue = choose_queue(
            self._queue_rules,
            reason_codes=[reason.code for reason in reasons],
            priority=decision.priority,
            segment=response.customer.segment,
        )
        return reasons, decision, queue

    def _messages(self, changes: list[CaseChange], failures: list[Failure]) -> list[Message]:
        """The alerts and dead-letter copies a batch publishes, alerts first."""
        messages = []
        for change in changes:
            event = (
                RecoveryCaseOpened(case=change.case)
                if change.kind is HistoryKind.OPENED
                else RecoveryCaseUpdated(case=change.case)
            )
            messages.append(
                Message(
                    self._topics.alerts, event.to_bytes(), key=str(change.case.case_id).encode()
                )
            )
        for failure in failures:
            headers = [
                ("error", failure.error[:1000].encode()),
                ("source", (failure.source or "").encode()),
                ("origin", f"{failure.topic}/{failure.partition}/{failure.offset}".encode()),
            ]
            messages.append(
                Message(self._topics.dead_letters, failure.record, key=failure.key, headers=headers)
            )
        return messages


def _brief(error: BaseException) -> str:
    """An error's text for a log line or a dead letter, in text UTF-8 can hold (an encoding
    error quotes the very character it could not encode)."""
    return without_lone_surrogates(f"{type(error).__name__}: {error}")


def _refused(record: Record, response: SurveyResponse, error: BaseException) -> Failure:
    """The dead letter of a record whose response could not be stored."""
    return Failure(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        record=record.value or b"",
        error=f"this response could not be stored: {_brief(error)}",
        receipt_id=response.receipt_id,
        source=response.source,
        vendor=response.vendor,
        replay_of=_replay_of(record),
    )


def _latest_per_case(changes: list[CaseChange]) -> list[CaseChange]:
    """One alert per case per batch, with its latest state; opened if it opened in this batch."""
    latest: dict[int, CaseChange] = {}
    for change in changes:
        earlier = latest.get(change.case.case_id)
        kind = earlier.kind if earlier and earlier.kind is HistoryKind.OPENED else change.kind
        latest[change.case.case_id] = CaseChange(kind, change.case)
    return list(latest.values())
