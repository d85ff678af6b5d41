"""The coding worker process (``WINBACK_ROUTER_CODING_PROCESS``): its protocol, results equal
to the thread's on every labelled comment, and a worker that dies or raises.

The worker is a real spawned process: what crosses the pipe is what production pickles.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from winback_router import coding_process
from winback_router.coding import code_responses
from winback_router.coding.agreement import READINGS_FILE
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL
from winback_router.coding_process import (
    CodingProcess,
    CodingWorkerDied,
    Comment,
    PackedReason,
    pack_reasons,
    unpack_reasons,
)
from winback_shared.events.recovery_alerts import CodedReason, SimilarComment
from winback_shared.survey import SurveyResponse

BATCH = 200  # the router's default batch

LABELLED = sorted(
    path
    for path in DEFAULT_DATA.glob("*.jsonl")
    if path.stem != "blind" and path.name != READINGS_FILE
)
"""Every labelled comment file but the blind set, which is never read here (and not the second
readings, which hold codes without texts)."""


def responses(paths: Sequence[Path]) -> list[SurveyResponse]:
    """Each labelled comment as a response; some with a chosen answer, received at varied
    times (weights can depend on the moment)."""
    texts = [example.text for path in paths for example in load_examples(path)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        SurveyResponse(
            response_id=f"r{number}",
            comment=text,
            reasons=["Long wait"] if number % 7 == 0 else [],
            source="eval",
            vendor="generic",
            receipt_id=f"r{number}",
            received_at=start + timedelta(hours=number),
        )
        for number, text in enumerate(texts)
    ]


def assert_identical(got: list[list[CodedReason]], want: list[list[CodedReason]]) -> None:
    """Equal reasons, field for field, with the same fields set and the same JSON."""
    assert len(got) == len(want)
    for got_reasons, want_reasons in zip(got, want, strict=True):
        assert got_reasons == want_reasons
        for a, b in zip(got_reasons, want_reasons, strict=True):
            assert a.model_fields_set == b.model_fields_set
            assert a.model_dump_json() == b.model_dump_json()


def coded_all(coded: Sequence[list[CodedReason] | None]) -> list[list[CodedReason]]:
    """``coded``, every response of which the worker coded."""
    assert all(reasons is not None for reasons in coded), coded
    return [reasons for reasons in coded if reasons is not None]


async def code_in_batches(worker: CodingProcess, batch: Sequence[SurveyResponse]) -> list[Any]:
    coded: list[list[CodedReason]] = []
    for start in range(0, len(batch), BATCH):
        coded += coded_all(await worker.code(batch[start : start + BATCH]))
    return coded


@pytest.fixture(scope="module")
def fast_worker() -> Iterator[CodingProcess]:
    worker = CodingProcess(None, FAST_MODEL)
    worker.start()
    yield worker
    worker.close()


def test_packed_reasons_come_back_equal_with_the_same_fields_set() -> None:
    reasons = [
        CodedReason(code="long_wait", label="Long wait", evidence="on hold", method="rule"),
        CodedReason(
            code="rude",
            label="Rude",
            evidence="She was rude.",
            method="model",
            confidence=0.71,
            evidence_source="comment",
            rule="model",
            span=(4, 17),
            weight=1.5,
            similar=[SimilarComment(text="so rude", codes=["rude"], similarity=0.83)],
        ),
    ]
    back = unpack_reasons(pack_reasons(reasons))
    assert_identical([back], [reasons])
    assert isinstance(back[1].similar and back[1].similar[0], SimilarComment)


async def test_the_worker_codes_every_labelled_comment_as_the_thread_does(
    fast_worker: CodingProcess,
) -> None:
    batch = responses(LABELLED)
    assert len(batch) > 3000 and LABELLED and all(path.stem != "blind" for path in LABELLED)
    taxonomy = load_and_compile(None, FAST_MODEL)  # the router's own
    want = [
        reasons
        for start in range(0, len(batch), BATCH)
        for reasons in code_responses(batch[start : start + BATCH], taxonomy)
    ]
    assert_identical(await code_in_batches(fast_worker, batch), want)


async def test_the_full_model_and_the_rules_alone_code_alike_too() -> None:
    """The refiner's model (sentence vectors, similar comments) and the rules alone."""
    batch = responses([DEFAULT_DATA / "dev.jsonl"])
    for model in (DEFAULT_MODEL, None):
        worker = CodingProcess(None, model)
        try:
            want = [
                reasons
                for start in range(0, len(batch), BATCH)
                for reasons in code_responses(
                    batch[start : start + BATCH], load_and_compile(None, model)
                )
            ]
            assert_identical(await code_in_batches(worker, batch), want)
        finally:
            worker.close()


async def test_an_empty_batch_needs_no_worker() -> None:
    worker = CodingProcess(None, FAST_MODEL)
    assert await worker.code([]) == []
    assert worker.worker_pids() == []


async def test_a_killed_worker_is_replaced_and_the_batch_coded(
    fast_worker: CodingProcess,
) -> None:
    batch = responses([DEFAULT_DATA / "heldout.jsonl"])[:50]
    [pid] = fast_worker.worker_pids()
    os.kill(pid, signal.SIGKILL)
    coded = await fast_worker.code(batch)
    assert_identical(coded_all(coded), code_responses(batch, load_and_compile(None, FAST_MODEL)))
    assert fast_worker.worker_pids() != [pid]


def die(comments: Sequence[Comment]) -> list[list[PackedReason]]:
    """A worker that dies on every batch (run in the worker process)."""
    os._exit(3)


def fail(comments: Sequence[Comment]) -> list[list[PackedReason]]:
    """Coding that raises on a comment (run in the worker process)."""
    raise ValueError(f"cannot code {comments[0][0]!r}")


KILLER = "this comment kills the worker"
RAISER = "coding raises on this comment"


def die_on_killer(comments: Sequence[Comment]) -> list[list[PackedReason]]:
    """A worker that dies on a batch holding :data:`KILLER`, raises on one holding
    :data:`RAISER`, and codes any other (run in the worker process)."""
    texts = [comment[0] or "" for comment in comments]
    if any(KILLER in text for text in texts):
        os._exit(3)
    if any(RAISER in text for text in texts):
        raise ValueError("a bug the comment walks into")
    return coding_process.code_packed(comments)


async def test_a_comment_that_kills_the_worker_is_found_and_the_rest_coded() -> None:
    batch = responses([DEFAULT_DATA / "dev.jsonl"])[:6]
    batch[1] = batch[1].model_copy(update={"comment": f"Bad service, {KILLER}."})
    batch[4] = batch[4].model_copy(update={"comment": f"On hold for ages; {RAISER}."})
    worker = CodingProcess(None, None, work=die_on_killer)
    try:
        coded = await worker.code(batch)
        [pid] = worker.worker_pids()
        again = await worker.code([batch[0]])  # the worker codes on, not replaced again
        assert worker.worker_pids() == [pid]
    finally:
        worker.close()
    assert coded[1] is None and coded[4] is None  # the router codes those without the comment
    kept = [0, 2, 3, 5]
    expected = code_responses([batch[index] for index in kept], load_and_compile(None, None))
    assert_identical(coded_all([coded[index] for index in kept]), expected)
    assert_identical(coded_all(again), expected[:1])


async def test_a_worker_that_dies_on_every_try_fails_loudly() -> None:
    worker = CodingProcess(None, None, work=die)
    try:
        with pytest.raises(CodingWorkerDied, match="died 3 times"):
            await worker.code(responses([DEFAULT_DATA / "dev.jsonl"])[:3])
    finally:
        worker.close()
    assert coding_process.RESTARTS == 2


async def test_coding_that_raises_raises_the_same_in_the_router() -> None:
    worker = CodingProcess(None, None, work=fail)
    try:
        batch = responses([DEFAULT_DATA / "dev.jsonl"])[:3]
        with pytest.raises(ValueError, match="cannot code"):
            await worker.code(batch)
        [pid] = worker.worker_pids()  # the worker lives on: no restart for an exception
        with pytest.raises(ValueError):
            await asyncio.wait_for(worker.code(batch), 30)
        assert worker.worker_pids() == [pid]
    finally:
        worker.close()
