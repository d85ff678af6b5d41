"""The router's batch logic on an in-memory broker and store: the commit contract, in order.

``winback_router.consumer`` promises that an offset is committed only after its records are
stored (as responses or dead letters) and every alert they produced is acknowledged. Here the
loop runs against ``tests.router_memory``, which journals every step, so each test reads the
order of events directly. The same loop on real Kafka and PostgreSQL is covered in
``tests/integration/`` (``test_router_durability``, ``test_end_to_end``, ``test_dead_letters``).
"""

from __future__ import annotations

import asyncio
import json
import threading
from asyncio import FIRST_COMPLETED
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from asyncpg.exceptions import DataError, UndefinedColumnError

from tests.router_memory import (
    Journal,
    MemoryPartition,
    MemoryPublisher,
    MemoryRecord,
    MemoryRecordSource,
    MemoryStore,
)
from tests.support import generic_source
from winback_local.signing import new_secret, sample_response
from winback_router import consumer
from winback_router.adapters import AdapterContext, normalise
from winback_router.coding import code_responses
from winback_router.coding_process import CodingProcess, CodingWorkerDied
from winback_router.consumer import (
    DEFAULT_BATCHES_AHEAD,
    DEFAULT_MAX_BATCH,
    RecoveryRouter,
    RouterTopics,
)
from winback_router.dead_letters.flood_guard import DeadLetterFlood, FloodGuard
from winback_router.dead_letters.store import REPLAY_HEADER
from winback_router.metrics import CODING_FAILURES
from winback_shared.events.recovery_alerts import RecoveryCaseOpened, RecoveryCaseUpdated
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy, load_taxonomy

TOPICS = RouterTopics(responses="responses", alerts="alerts", dead_letters="dead-letters")
P0 = MemoryPartition("responses", 0)
P1 = MemoryPartition("responses", 1)
TAXONOMY = load_taxonomy()


def delivery(payload: dict[str, Any]) -> bytes:
    """Ingest's envelope around a generic-format payload, as it sits on the input topic."""
    return SurveyReceived(
        source="survey", vendor="generic", content_type="application/json", body=json.dumps(payload)
    ).to_bytes()


def detractor(**changes: Any) -> dict[str, Any]:
    """A response that needs recovery (NPS 1)."""
    return {**sample_response(nps=1, reasons=["Long wait time"]), **changes}


def promoter() -> dict[str, Any]:
    """A response that needs no case (NPS 10)."""
    return sample_response(nps=10, reasons=[])


@dataclass
class Rig:
    """A router on memory, and what it talks to."""

    journal: Journal
    records: MemoryRecordSource
    publisher: MemoryPublisher
    store: MemoryStore
    context: AdapterContext

    def router(
        self,
        flood_guard: FloodGuard | None = None,
        max_batch: int | None = None,
        *,
        overlap: bool = True,
        batches_ahead: int = DEFAULT_BATCHES_AHEAD,
        normalise_ahead: bool = False,
        coding_process: CodingProcess | None = None,
    ) -> RecoveryRouter:
        """A fresh router over this rig's broker and store (a restart keeps both)."""
        router = RecoveryRouter(
            records=self.records,
            publisher=self.publisher,
            store=self.store,
            taxonomy=TAXONOMY,
            sources={"survey": generic_source(new_secret())},
            adapter_context=self.context,
            topics=TOPICS,
            flood_guard=flood_guard,
            max_batch=max_batch or DEFAULT_MAX_BATCH,
            overlap=overlap,
            batches_ahead=batches_ahead,
            normalise_ahead=normalise_ahead,
            coding_process=coding_process,
        )
        router.subscribe()
        return router

    def steps(self) -> list[str]:
        """What happened, without the details."""
        return [step for step, _ in self.journal]

    @asynccontextmanager
    async def running(
        self, router: RecoveryRouter | None = None
    ) -> AsyncIterator[asyncio.Task[None]]:
        """The loop in the background; stopped (and its error raised) on the way out."""
        stop = asyncio.Event()
        loop = asyncio.create_task((router or self.router()).run(stop))
        try:
            yield loop
        finally:
            stop.set()
            self.records.wake()
            await asyncio.wait_for(loop, 10)

    async def committed(self, count: int, loop: asyncio.Task[None]) -> None:
        """Wait for the ``count``-th commit; fail at once if the loop ends first."""
        reached = asyncio.create_task(self.records.commits_reach(count))
        done, _ = await asyncio.wait({loop, reached}, timeout=10, return_when=FIRST_COMPLETED)
        reached.cancel()
        if loop in done:
            loop.result()
            raise AssertionError("the loop ended before the commit")
        assert reached in done, f"no commit number {count} within 10 s"

    async def run_until_committed(self, router: RecoveryRouter | None = None) -> None:
        """Run the loop until it commits once more, then stop it."""
        async with self.running(router) as loop:
            await self.committed(len(self.records.commits) + 1, loop)

    async def run_to_failure(self, router: RecoveryRouter | None = None) -> BaseException:
        """Run the loop until it ends on its own; return the error that ended it."""
        with pytest.raises(BaseException) as raised:
            await asyncio.wait_for((router or self.router()).run(asyncio.Event()), 10)
        return raised.value


@pytest.fixture
async def rig(context: AdapterContext) -> AsyncIterator[Rig]:
    """An empty in-memory broker and store sharing one journal."""
    journal: Journal = []
    yield Rig(
        journal=journal,
        records=MemoryRecordSource(journal, topic=TOPICS.responses),
        publisher=MemoryPublisher(journal),
        store=MemoryStore(journal),
        context=context,
    )


# --- the order of a batch ------------------------------------------------------------------


async def test_offsets_are_committed_only_after_the_store_and_the_alert_ack(rig: Rig) -> None:
    rig.records.append(delivery(detractor()))

    await rig.run_until_committed()

    [case] = rig.store.cases
    assert rig.journal == [
        ("save", 1),
        ("publish", ["alerts"]),
        ("acknowledged", 1),
        ("mark_alerted", [case.case_id]),
        ("commit", {P0: 1}),
    ]
    [alert] = rig.publisher.on("alerts")
    assert alert.key == str(case.case_id).encode()
    assert RecoveryCaseOpened.from_bytes(alert.value).case == case
    assert rig.store.alerted == {case.case_id}


async def test_while_the_ack_is_pending_nothing_is_committed_and_a_rebalance_waits(
    rig: Rig,
) -> None:
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    async with rig.running() as loop:
        await asyncio.wait_for(rig.publisher.waiting.wait(), 10)

        assert len(rig.store.cases) == 1  # stored and committed in the database
        assert rig.store.alerted == set()
        assert rig.records.commits == []
        assert rig.records.in_flight is not None and rig.records.in_flight.locked()

        rig.publisher.release()
        await rig.committed(1, loop)

    assert rig.records.commits == [{P0: 1}]
    assert not rig.records.in_flight.locked()


# --- alert publish fails -------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [KafkaConnectionError(), KafkaTimeoutError(), TimeoutError()],
    ids=["refused", "kafka-timeout", "timeout"],
)
async def test_unacknowledged_alert_commits_nothing_and_the_batch_is_retried(
    rig: Rig, error: BaseException
) -> None:
    rig.records.append(delivery(detractor()))
    rig.publisher.failures.fail_next(error)

    await rig.run_until_committed()

    [case] = rig.store.cases
    assert rig.journal == [
        ("save", 1),
        ("publish", ["alerts"]),  # sent, never acknowledged: no mark, no commit
        ("save", 1),  # the whole batch again: the store sees a repeat
        ("publish", ["alerts"]),
        ("acknowledged", 1),
        ("mark_alerted", [case.case_id]),
        ("commit", {P0: 1}),
    ]
    assert len(rig.store.responses) == 1
    [alert] = rig.publisher.on("alerts")
    assert RecoveryCaseOpened.from_bytes(alert.value).case.case_id == case.case_id


async def test_alert_refused_for_good_ends_the_loop_uncommitted_and_a_restart_alerts_again(
    rig: Rig,
) -> None:
    rig.records.append(delivery(detractor()))
    rig.publisher.failures.fail_next(RuntimeError("not a transient failure"))

    error = await rig.run_to_failure()

    assert isinstance(error, RuntimeError)
    assert rig.records.commits == []
    [case] = rig.store.cases
    assert rig.store.alerted == set()  # stored, but its alert is still owed

    rig.records.restart()
    rig.journal.clear()
    await rig.run_until_committed()

    assert rig.steps() == ["save", "publish", "acknowledged", "mark_alerted", "commit"]
    assert rig.store.cases == [case]  # the replay made no second case
    [alert] = rig.publisher.on("alerts")
    assert RecoveryCaseOpened.from_bytes(alert.value).case == case
    assert rig.store.alerted == {case.case_id}


async def test_store_failure_publishes_and_commits_nothing_until_it_passes(rig: Rig) -> None:
    rig.records.append(delivery(detractor()))
    rig.store.save_failures.fail_next(ConnectionResetError("database went away"))

    await rig.run_until_committed()

    assert rig.steps() == ["save", "publish", "acknowledged", "mark_alerted", "commit"]
    assert len(rig.publisher.sent) == 1


async def test_failure_to_record_the_ack_commits_nothing_and_retries(rig: Rig) -> None:
    rig.records.append(delivery(detractor()))
    rig.store.mark_failures.fail_next(ConnectionResetError("database went away"))

    await rig.run_until_committed()

    [case] = rig.store.cases
    assert rig.journal == [
        ("save", 1),
        ("publish", ["alerts"]),
        ("acknowledged", 1),
        ("save", 1),  # a repeat of a case never marked alerted: alerted again
        ("publish", ["alerts"]),
        ("acknowledged", 1),
        ("mark_alerted", [case.case_id]),
        ("commit", {P0: 1}),
    ]
    assert len(rig.publisher.on("alerts")) == 2  # consoles dedupe by case and seq
    assert rig.store.alerted == {case.case_id}


# --- dead letters and the flood guard ------------------------------------------------------


async def test_invalid_payload_is_dead_lettered_published_and_committed(rig: Rig) -> None:
    broken = SurveyReceived(
        source="survey", vendor="generic", content_type="application/json", body="{}"
    )
    rig.records.append(b"not an envelope", key=b"k1")
    rig.records.append(broken.to_bytes(), key=b"k2", headers=[(REPLAY_HEADER, b"41")])
    rig.records.append(delivery(detractor()))

    await rig.run_until_committed()

    assert rig.journal[1] == ("publish", ["alerts", "dead-letters", "dead-letters"])
    assert rig.records.commits == [{P0: 3}]
    garbled, invalid = (rig.store.dead_letters[("responses", 0, n)] for n in (0, 1))
    assert (garbled.receipt_id, garbled.source, garbled.record) == (None, None, b"not an envelope")
    assert (invalid.receipt_id, invalid.source, invalid.vendor) == (
        broken.receipt_id,
        "survey",
        "generic",
    )
    assert invalid.replay_of == 41 and "response_id" in invalid.error
    copies = rig.publisher.on("dead-letters")
    assert [(m.key, m.value) for m in copies] == [
        (b"k1", b"not an envelope"),
        (b"k2", broken.to_bytes()),
    ]
    headers = dict(copies[1].headers)
    assert headers["source"] == b"survey" and headers["origin"] == b"responses/0/1"
    assert b"response_id" in headers["error"]
    assert len(rig.store.cases) == 1


async def test_flood_of_invalid_payloads_stops_the_loop_before_storing_or_committing(
    rig: Rig,
) -> None:
    for _ in range(3):
        rig.records.append(b"garbage")
    rig.records.append(delivery(detractor()))

    error = await rig.run_to_failure(rig.router(FloodGuard(window=4, max_ratio=0.5, min_records=2)))

    assert isinstance(error, DeadLetterFlood)
    assert rig.journal == []
    assert rig.store.dead_letters == {} and rig.store.responses == {}


async def test_dead_letters_below_the_flood_limit_go_on(rig: Rig) -> None:
    rig.records.append(b"garbage")
    rig.records.append(delivery(detractor()))

    await rig.run_until_committed(rig.router(FloodGuard(window=4, max_ratio=0.5, min_records=2)))

    assert len(rig.store.dead_letters) == 1 and len(rig.store.cases) == 1


# --- values the database refuses -----------------------------------------------------------


def refuse_marked(response: SurveyResponse) -> BaseException | None:
    """PostgreSQL's answer to a value it cannot hold, for comments marked ``REFUSE``."""
    if "REFUSE" in (response.comment or ""):
        return DataError("invalid input for query argument $12: surrogates not allowed")
    return None


async def test_a_value_the_database_refuses_is_dead_lettered_and_its_batch_stored(
    rig: Rig,
) -> None:
    rig.records.append(delivery(detractor(comment="first")))
    rig.records.append(delivery(detractor(comment="REFUSE me")), key=b"k2")
    rig.records.append(delivery(detractor(comment="third")))
    rig.store.refuses = refuse_marked

    await rig.run_until_committed()

    assert rig.records.commits == [{P0: 3}]  # once, after every record of the batch
    assert rig.journal[-1][0] == "commit"
    assert [case.comment for case in rig.store.cases] == ["first", "third"]
    [refused] = rig.store.dead_letters.values()
    assert (refused.offset, refused.key, refused.source) == (1, b"k2", "survey")
    assert refused.record == rig.records.log[P0][1].value  # the record as it came, to replay
    assert refused.error.startswith("this response could not be stored: DataError: invalid")
    assert [m.key for m in rig.publisher.on("dead-letters")] == [b"k2"]
    assert len(rig.publisher.on("alerts")) == 2 and rig.store.alerted == {
        case.case_id for case in rig.store.cases
    }


async def test_a_store_that_refuses_every_record_trips_the_flood_guard_uncommitted(
    rig: Rig,
) -> None:
    for number in range(4):
        rig.records.append(delivery(detractor(comment=f"REFUSE {number}")))
    rig.store.refuses = refuse_marked

    error = await rig.run_to_failure(rig.router(FloodGuard(window=4, max_ratio=0.5, min_records=2)))

    assert isinstance(error, DeadLetterFlood)
    assert rig.records.commits == [] and rig.store.cases == []


async def test_a_schema_fault_stops_the_loop_and_dead_letters_nothing(rig: Rig) -> None:
    rig.records.append(delivery(detractor()))
    rig.store.save_failures.fail_next(UndefinedColumnError('column "queue" does not exist'))

    error = await rig.run_to_failure()

    assert isinstance(error, UndefinedColumnError)
    assert rig.records.commits == [] and rig.store.dead_letters == {}


# --- a comment coding fails on ----------------------------------------------------------------


async def test_a_comment_coding_fails_on_is_coded_by_its_chosen_answers_and_its_batch_goes_on(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def failing_on_marked(responses: Sequence[SurveyResponse], taxonomy: Taxonomy) -> Any:
        if any("CRASH" in (response.comment or "") for response in responses):
            raise IndexError("a bug the comment walks into")
        return code_responses(responses, taxonomy)

    monkeypatch.setattr(consumer, "code_responses", failing_on_marked)
    failures_before = CODING_FAILURES._value.get()
    rig.records.append(delivery(detractor(comment="nobody called me back")))
    rig.records.append(delivery(detractor(comment="CRASH the coder", reasons=["Billing error"])))
    rig.records.append(delivery(detractor(comment="on hold for an hour")))

    await rig.run_until_committed()

    assert rig.records.commits == [{P0: 3}]
    coded = {case.comment: case.reasons for case in rig.store.cases}
    assert [(r.code, r.method) for r in coded["CRASH the coder"]] == [
        ("billing_error", "chosen_answer")  # the chosen answer's code alone
    ]
    assert "long_wait" in [r.code for r in coded["on hold for an hour"]]  # the others, in full
    assert len(rig.publisher.on("alerts")) == 3 and rig.store.dead_letters == {}
    assert CODING_FAILURES._value.get() == failures_before + 1
    [failed] = [r for r in caplog.records if r.getMessage().startswith("coding failed for one")]
    assert failed.exc_info and vars(failed)["fields"]["receipt_id"]


# --- offsets per partition -----------------------------------------------------------------


async def test_each_partition_commits_its_last_offset_plus_one(rig: Rig) -> None:
    for partition in (0, 0, 1, 0):
        rig.records.append(delivery(promoter()), partition=partition)
    async with rig.running() as loop:
        await rig.committed(1, loop)
        rig.records.append(delivery(promoter()), partition=1)
        rig.records.append(delivery(promoter()), partition=2)
        await rig.committed(2, loop)

    p2 = MemoryPartition("responses", 2)
    assert rig.records.commits == [{P0: 3, P1: 1}, {P1: 2, p2: 1}]
    assert rig.records.committed == {P0: 3, P1: 2, p2: 1}


async def test_a_backlog_is_stored_and_alerted_in_batches_of_at_most_the_cap(rig: Rig) -> None:
    for index in range(7):
        rig.records.append(delivery(detractor()), partition=index % 2)
    async with rig.running(rig.router(max_batch=3)) as loop:
        await rig.committed(3, loop)

    saves = [size for step, size in rig.journal if step == "save"]
    assert saves == [3, 3, 1]
    # each batch's alerts are acknowledged before the next batch is stored
    steps = [step for step in rig.steps() if step in ("save", "acknowledged")]
    assert steps == ["save", "acknowledged"] * 3
    assert rig.records.committed == {P0: 4, P1: 3}


async def test_normalising_waits_on_at_most_eight_records_at_once_and_keeps_their_order(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An adapter that calls its vendor's API waits; the batch goes on with a few others at a
    time (``NORMALISE_CONCURRENCY``), and the outcomes stay in the records' order."""
    waiting: set[str] = set()
    most = 0

    async def slow_vendor(envelope: SurveyReceived, *args: Any) -> SurveyResponse:
        nonlocal most
        waiting.add(envelope.event_id)
        most = max(most, len(waiting))
        await asyncio.sleep(0.001 * (20 - len(waiting)))  # later ones finish first
        waiting.discard(envelope.event_id)
        return await normalise(envelope, *args)

    monkeypatch.setattr(consumer, "normalise", slow_vendor)
    records = [
        MemoryRecord("responses", 0, offset, None, delivery(detractor(response_id=f"r{offset}")))
        for offset in range(20)
    ]

    outcomes = await rig.router()._normalise_all(records)

    assert most == consumer.NORMALISE_CONCURRENCY
    assert [o.response_id for o in outcomes if isinstance(o, SurveyResponse)] == [
        f"r{offset}" for offset in range(20)
    ]


# --- what one batch announces --------------------------------------------------------------


async def test_a_case_opened_and_revised_in_one_batch_is_one_opened_alert(rig: Rig) -> None:
    first = detractor()
    rig.records.append(delivery(first))
    rig.records.append(delivery({**first, "comment": "Still waiting for the refund."}))

    await rig.run_until_committed()

    [case] = rig.store.cases
    [alert] = rig.publisher.on("alerts")
    opened = RecoveryCaseOpened.from_bytes(alert.value)
    assert opened.case.comment == "Still waiting for the refund."
    assert opened.case.seq == case.seq == 2


async def test_a_revision_of_an_alerted_case_is_an_update(rig: Rig) -> None:
    first = detractor()
    rig.records.append(delivery(first))
    await rig.run_until_committed()
    rig.records.append(delivery({**first, "comment": "Still waiting for the refund."}))

    await rig.run_until_committed()

    opened, updated = rig.publisher.on("alerts")
    assert RecoveryCaseOpened.from_bytes(opened.value).case.seq == 1
    revised = RecoveryCaseUpdated.from_bytes(updated.value).case
    assert (revised.seq, revised.comment) == (2, "Still waiting for the refund.")
    assert rig.journal[-2] == ("mark_alerted", [])  # an update is no first alert


async def test_a_batch_is_coded_in_one_call_off_the_event_loop(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[int, int]] = []

    def recording(responses: Sequence[SurveyResponse], taxonomy: Taxonomy) -> Any:
        calls.append((threading.get_ident(), len(responses)))
        return code_responses(responses, taxonomy)

    monkeypatch.setattr(consumer, "code_responses", recording)
    first = detractor()
    rig.records.append(delivery(first))
    rig.records.append(delivery(promoter()))
    rig.records.append(delivery({**first, "comment": "The agent was rude to me."}))

    await rig.run_until_committed()

    [(thread, size)] = calls  # the whole batch in one call (the model embeds it in one go)
    assert size == 3 and thread != threading.get_ident()
    [case] = rig.store.cases  # the revision, merged in the store, was coded there
    assert "rude" in {reason.code for reason in case.reasons}


# --- two batches in flight: the next one is prepared while the last one is acknowledged ----


def record_coding(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch coded, in order (the loop codes each batch in one call)."""
    calls: list[int] = []

    def recording(responses: Sequence[SurveyResponse], taxonomy: Taxonomy) -> Any:
        calls.append(len(responses))
        return code_responses(responses, taxonomy)

    monkeypatch.setattr(consumer, "code_responses", recording)
    return calls


async def until(condition: Any) -> None:
    """Let the loop run until ``condition()`` holds (at most 10 s)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached within 10 s")


async def second_batch_coded_while_first_awaits_ack(rig: Rig, coded: list[int]) -> None:
    """Batch 1 is stored and held at its ack; batch 2 arrives and is fetched, normalised and
    coded meanwhile (the overlap's work outside any transaction)."""
    await asyncio.wait_for(rig.publisher.waiting.wait(), 10)
    rig.records.append(delivery(detractor()))
    await until(lambda: len(coded) == 2)


async def rebalance_while_batch_one_awaits_its_ack(rig: Rig) -> None:
    """A rebalance arrives while batch 1 is held at its ack: it must wait for that batch, which
    is then released; returns once the rebalance is done."""
    assert rig.records.in_flight is not None
    in_flight = rig.records.in_flight
    rebalance = asyncio.create_task(rig.records.rebalance())
    await until(lambda: bool(getattr(in_flight, "_waiters", None)))  # it waits for batch 1

    rig.publisher.release()
    await asyncio.wait_for(rebalance, 10)


async def test_the_next_batch_is_coded_while_one_awaits_its_ack_and_stored_after_its_commit(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    async with rig.running(rig.router(max_batch=1)) as loop:
        await second_batch_coded_while_first_awaits_ack(rig, coded)

        assert rig.steps() == ["save", "publish"]  # ... but not stored: batch 1 is in flight
        rig.publisher.release()
        await rig.committed(2, loop)

    one_batch = ["save", "publish", "acknowledged", "mark_alerted", "commit"]
    assert rig.steps() == one_batch * 2
    assert rig.records.commits == [{P0: 1}, {P0: 2}]


async def test_a_crash_with_one_batch_awaiting_its_ack_and_the_next_coded_loses_nothing(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    crashed = asyncio.create_task(rig.router(max_batch=1).run(asyncio.Event()))
    await second_batch_coded_while_first_awaits_ack(rig, coded)

    crashed.cancel()
    await asyncio.gather(crashed, return_exceptions=True)
    assert rig.records.commits == []  # stored, never acknowledged: nothing committed
    assert rig.records.in_flight is not None and not rig.records.in_flight.locked()
    rig.publisher.release()

    rig.records.restart()
    async with rig.running(rig.router(max_batch=1)) as loop:
        await rig.committed(2, loop)

    assert rig.records.committed == {P0: 2}
    cases = rig.store.cases
    assert len(cases) == 2  # one case per response, the replay stored nothing twice
    alerted = [
        RecoveryCaseOpened.from_bytes(m.value).case.case_id for m in rig.publisher.on("alerts")
    ]
    assert sorted(alerted) == [case.case_id for case in cases]  # each acknowledged once
    assert rig.store.alerted == {case.case_id for case in cases}


async def test_a_batch_fetched_before_a_rebalance_is_dropped_and_read_again(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    async with rig.running(rig.router(max_batch=1)) as loop:
        await second_batch_coded_while_first_awaits_ack(rig, coded)
        await rebalance_while_batch_one_awaits_its_ack(rig)
        await rig.committed(2, loop)

    one_batch = ["save", "publish", "acknowledged", "mark_alerted", "commit"]
    assert rig.steps() == [*one_batch, "rebalance", *one_batch]
    assert coded == [1, 1, 1]  # batch 2 coded before the rebalance, dropped, read and coded again
    assert len(rig.store.cases) == 2
    assert rig.records.commits == [{P0: 1}, {P0: 2}]


async def test_without_overlap_the_next_batch_waits_until_the_last_is_committed(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    async with rig.running(rig.router(max_batch=1, overlap=False)) as loop:
        await asyncio.wait_for(rig.publisher.waiting.wait(), 10)
        rig.records.append(delivery(detractor()))
        await asyncio.sleep(0.2)  # room for a fetch; none comes while batch 1 is in flight

        assert coded == [1]
        rig.publisher.release()
        await rig.committed(2, loop)

    assert coded == [1, 1]
    assert rig.records.commits == [{P0: 1}, {P0: 2}]


# --- several coded batches waiting behind the one being acknowledged ------------------------


async def test_two_batches_are_coded_while_one_awaits_its_ack_and_stored_in_order_after_it(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    async with rig.running(rig.router(max_batch=1, batches_ahead=2)) as loop:
        await second_batch_coded_while_first_awaits_ack(rig, coded)
        rig.records.append(delivery(detractor()))
        await until(lambda: len(coded) == 3)  # a third, coded while batch 1 still waits

        assert rig.steps() == ["save", "publish"]  # neither stored: batch 1 is in flight
        rig.publisher.release()
        await rig.committed(3, loop)

    one_batch = ["save", "publish", "acknowledged", "mark_alerted", "commit"]
    assert rig.steps() == one_batch * 3
    assert rig.records.commits == [{P0: 1}, {P0: 2}, {P0: 3}]


async def test_with_one_batch_ahead_a_third_is_not_fetched_until_the_first_commits(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    async with rig.running(rig.router(max_batch=1, batches_ahead=1)) as loop:
        await second_batch_coded_while_first_awaits_ack(rig, coded)
        rig.records.append(delivery(detractor()))
        await asyncio.sleep(0.2)  # room for a fetch; none comes while batch 2 waits

        assert coded == [1, 1]
        rig.publisher.release()
        await rig.committed(3, loop)

    assert coded == [1, 1, 1]
    assert rig.records.commits == [{P0: 1}, {P0: 2}, {P0: 3}]


async def test_a_crash_with_two_coded_batches_waiting_loses_nothing_and_stores_nothing_twice(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    crashed = asyncio.create_task(rig.router(max_batch=1, batches_ahead=2).run(asyncio.Event()))
    await second_batch_coded_while_first_awaits_ack(rig, coded)
    rig.records.append(delivery(detractor()))
    await until(lambda: len(coded) == 3)

    crashed.cancel()
    await asyncio.gather(crashed, return_exceptions=True)
    assert rig.records.commits == []
    assert rig.records.in_flight is not None and not rig.records.in_flight.locked()
    rig.publisher.release()

    rig.records.restart()
    async with rig.running(rig.router(max_batch=1, batches_ahead=2)) as loop:
        await rig.committed(3, loop)

    assert rig.records.committed == {P0: 3}
    cases = rig.store.cases
    assert len(cases) == 3
    alerted = [
        RecoveryCaseOpened.from_bytes(m.value).case.case_id for m in rig.publisher.on("alerts")
    ]
    assert sorted(alerted) == [case.case_id for case in cases]
    assert rig.store.alerted == {case.case_id for case in cases}


async def test_every_batch_coded_before_a_rebalance_is_dropped_and_read_again(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    async with rig.running(rig.router(max_batch=1, batches_ahead=2)) as loop:
        await second_batch_coded_while_first_awaits_ack(rig, coded)
        rig.records.append(delivery(detractor()))
        await until(lambda: len(coded) == 3)
        await rebalance_while_batch_one_awaits_its_ack(rig)
        await rig.committed(3, loop)

    one_batch = ["save", "publish", "acknowledged", "mark_alerted", "commit"]
    assert rig.steps()[: len(one_batch) + 1] == [*one_batch, "rebalance"]
    assert rig.steps().count("save") == 3  # batches 2 and 3 stored once each, after it
    assert len(coded) >= 5  # both coded before the rebalance, dropped, read and coded again
    assert len(rig.store.cases) == 3
    assert rig.records.committed == {P0: 3}


async def test_a_failed_batch_stops_the_loop_and_the_batches_coded_behind_it_store_nothing(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    router = rig.router(max_batch=1, batches_ahead=2)
    loop = asyncio.create_task(router.run(asyncio.Event()))
    await second_batch_coded_while_first_awaits_ack(rig, coded)
    rig.records.append(delivery(detractor()))
    await until(lambda: len(coded) == 3)

    rig.store.mark_failures.fail_next(RuntimeError("not a transient failure"))
    rig.publisher.release()
    with pytest.raises(RuntimeError, match="not a transient failure"):
        await asyncio.wait_for(loop, 10)
    assert rig.steps().count("save") == 1  # batches 2 and 3: never stored
    assert rig.steps().count("publish") == 1
    assert rig.records.commits == []


# --- coding in a worker process (WINBACK_ROUTER_CODING_PROCESS) ------------------------------


class InlineCoding(CodingProcess):
    """A coding process's contract without the process: each batch's size, and an error to
    raise instead of coding (the real worker is held to the thread's results in
    test_coding_process)."""

    def __init__(self, error: BaseException | None = None) -> None:
        super().__init__(None, None)
        self.batches: list[int] = []
        self.error = error

    async def code(self, responses: Sequence[SurveyResponse]) -> list[Any]:
        self.batches.append(len(responses))
        if self.error is not None:
            raise self.error
        return code_responses(responses, TAXONOMY)


async def test_with_a_coding_process_the_batch_is_coded_there_not_in_a_thread(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_thread = record_coding(monkeypatch)
    coding = InlineCoding()
    first = detractor()
    rig.records.append(delivery(first))
    rig.records.append(delivery(promoter()))
    rig.records.append(delivery({**first, "comment": "The agent was rude to me."}))

    await rig.run_until_committed(rig.router(coding_process=coding))

    assert coding.batches == [3] and in_thread == []
    [case] = rig.store.cases  # the revision, merged in the store, was coded there
    assert "rude" in {reason.code for reason in case.reasons}
    assert rig.records.committed == {P0: 3}


async def test_a_coding_worker_that_keeps_dying_stops_the_loop_with_nothing_committed(
    rig: Rig,
) -> None:
    coding = InlineCoding(CodingWorkerDied("the coding worker died 3 times"))
    rig.records.append(delivery(detractor()))

    error = await rig.run_to_failure(rig.router(coding_process=coding))

    assert isinstance(error, CodingWorkerDied)
    assert coding.batches == [1]  # not retried in place: not transient
    assert rig.steps() == [] and rig.records.commits == []


async def test_an_error_coding_raised_in_the_worker_is_isolated_in_a_thread_instead(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_thread = record_coding(monkeypatch)
    coding = InlineCoding(IndexError("a bug the comment walks into"))
    rig.records.append(delivery(detractor()))
    rig.records.append(delivery(detractor()))

    await rig.run_until_committed(rig.router(coding_process=coding))

    assert coding.batches == [2] and in_thread == [2]  # the worker's error; the thread coded it
    assert len(rig.store.cases) == 2 and rig.records.committed == {P0: 2}


class KilledOnMarkedCoding(InlineCoding):
    """A coding process whose worker died on a marked comment coded alone: ``None`` for it."""

    async def code(self, responses: Sequence[SurveyResponse]) -> list[Any]:
        coded = await super().code(responses)
        return [
            None if "KILLS" in (response.comment or "") else reasons
            for response, reasons in zip(responses, coded, strict=True)
        ]


async def test_a_comment_the_coding_worker_dies_on_is_coded_by_its_chosen_answers_not_here(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    in_thread = record_coding(monkeypatch)
    coding = KilledOnMarkedCoding()
    failures_before = CODING_FAILURES._value.get()
    rig.records.append(delivery(detractor(comment="nobody called me back")))
    rig.records.append(delivery(detractor(comment="KILLS the worker", reasons=["Billing error"])))

    await rig.run_until_committed(rig.router(coding_process=coding))

    # The comment the worker died on is never coded in the router's process (it could kill it).
    assert coding.batches == [2] and in_thread == []
    coded = {case.comment: case.reasons for case in rig.store.cases}
    assert [(r.code, r.method) for r in coded["KILLS the worker"]] == [
        ("billing_error", "chosen_answer")
    ]
    assert "broken_promise" in [r.code for r in coded["nobody called me back"]]
    assert len(rig.publisher.on("alerts")) == 2 and rig.records.committed == {P0: 2}
    assert CODING_FAILURES._value.get() == failures_before + 1
    [lost] = [r for r in caplog.records if "could not code one response" in r.getMessage()]
    assert vars(lost)["fields"]["receipt_id"]


# --- three stages: the next batch fetched and normalised while one is coded -------------------


class GatedCoding:
    """``code_responses`` that holds its first call until released, from the coding thread."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def __call__(self, responses: Sequence[SurveyResponse], taxonomy: Taxonomy) -> Any:
        self.calls.append(len(responses))
        self.entered.set()
        self.gate.wait(10)
        return code_responses(responses, taxonomy)


def record_normalising(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The response id of every record normalised, in order."""
    seen: list[str] = []

    async def recording(envelope: SurveyReceived, *args: Any) -> Any:
        outcome = await normalise(envelope, *args)
        if isinstance(outcome, SurveyResponse):
            seen.append(outcome.response_id)
        return outcome

    monkeypatch.setattr(consumer, "normalise", recording)
    return seen


@asynccontextmanager
async def r2_arriving_while_r1_is_coded(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, *, normalise_ahead: bool
) -> AsyncIterator[tuple[GatedCoding, list[str], asyncio.Task[None]]]:
    """A router of one-record batches holding r1 in coding (:class:`GatedCoding`, until its gate
    is set) while r2 is delivered; yields the coding, the ids normalised so far and the loop."""
    coding = GatedCoding()
    monkeypatch.setattr(consumer, "code_responses", coding)
    normalised = record_normalising(monkeypatch)
    rig.records.append(delivery(detractor(response_id="r1")))
    async with rig.running(rig.router(max_batch=1, normalise_ahead=normalise_ahead)) as loop:
        await until(coding.entered.is_set)
        rig.records.append(delivery(detractor(response_id="r2")))
        yield coding, normalised, loop


async def test_the_next_batch_is_normalised_while_one_is_coded_and_coded_after_it(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with r2_arriving_while_r1_is_coded(rig, monkeypatch, normalise_ahead=True) as (
        coding,
        normalised,
        loop,
    ):
        await until(lambda: normalised == ["r1", "r2"])  # while batch 1 is still being coded

        assert coding.calls == [1] and rig.steps() == []  # batch 2 waits to be coded
        coding.gate.set()
        await rig.committed(2, loop)

    assert coding.calls == [1, 1]
    one_batch = ["save", "publish", "acknowledged", "mark_alerted", "commit"]
    assert rig.steps() == one_batch * 2
    assert rig.records.commits == [{P0: 1}, {P0: 2}]


async def test_a_coded_batch_is_handed_over_without_waiting_for_the_fetch_in_progress(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer, "FETCH_TIMEOUT_MS", 600_000)  # an empty fetch waits 10 min
    rig.records.append(delivery(detractor()))
    async with rig.running(rig.router(max_batch=1, normalise_ahead=True)) as loop:
        await rig.committed(1, loop)  # while the next fetch waits for records

    assert rig.records.commits == [{P0: 1}]


async def test_a_failure_while_a_batch_is_coded_drops_it_unstored_and_a_restart_stores_each_once(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    coding = GatedCoding()
    monkeypatch.setattr(consumer, "code_responses", coding)

    async def failing_on_r2(envelope: SurveyReceived, *args: Any) -> Any:
        outcome = await normalise(envelope, *args)
        if isinstance(outcome, SurveyResponse) and outcome.response_id == "r2":
            raise RuntimeError("not a transient failure")
        return outcome

    monkeypatch.setattr(consumer, "normalise", failing_on_r2)
    rig.records.append(delivery(detractor(response_id="r1")))
    failed = asyncio.create_task(rig.router(max_batch=1, normalise_ahead=True).run(asyncio.Event()))
    await until(coding.entered.is_set)
    rig.records.append(delivery(detractor(response_id="r2")))

    with pytest.raises(RuntimeError, match="not a transient failure"):
        await asyncio.wait_for(failed, 10)
    coding.gate.set()
    assert rig.steps() == [] and rig.records.commits == []  # batch 1 dropped while coded

    monkeypatch.setattr(consumer, "normalise", normalise)
    rig.records.restart()
    async with rig.running(rig.router(max_batch=1, normalise_ahead=True)) as loop:
        await rig.committed(2, loop)

    assert rig.records.committed == {P0: 2}
    assert sorted(case.response_id for case in rig.store.cases) == ["r1", "r2"]


async def test_without_normalising_ahead_the_next_batch_is_fetched_once_the_last_is_coded(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with r2_arriving_while_r1_is_coded(rig, monkeypatch, normalise_ahead=False) as (
        coding,
        normalised,
        loop,
    ):
        await asyncio.sleep(0.2)  # room for a fetch; none comes while batch 1 is coded

        assert normalised == ["r1"]
        coding.gate.set()
        await rig.committed(2, loop)

    assert normalised == ["r1", "r2"] and coding.calls == [1, 1]
    assert rig.records.commits == [{P0: 1}, {P0: 2}]


async def test_a_batch_fetched_before_a_rebalance_and_taken_after_it_is_dropped(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch 3 is fetched while the loop waits to hand batch 2 over (batch 1 held at its ack);
    the rebalance comes before the loop takes batch 3, so batch 3 is dropped as well."""
    coded = record_coding(monkeypatch)
    rig.records.append(delivery(detractor()))
    rig.publisher.hold()
    async with rig.running(rig.router(max_batch=1, normalise_ahead=True)) as loop:
        await second_batch_coded_while_first_awaits_ack(rig, coded)
        rig.records.append(delivery(detractor()))
        await asyncio.sleep(0.2)  # room for the fetch in progress to take batch 3
        await rebalance_while_batch_one_awaits_its_ack(rig)
        await rig.committed(3, loop)

    assert rig.records.commits == [{P0: 1}, {P0: 2}, {P0: 3}]
    assert rig.steps().count("save") == 3  # each stored once, in order
    assert len(rig.store.cases) == 3
