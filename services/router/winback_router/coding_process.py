"""The router's coding step in a process of its own (``WINBACK_ROUTER_CODING_PROCESS``).

Coded in a thread, a batch's comments hold the GIL for most of the router's working time, and
every socket operation of the event loop waits behind them (docs/performance.md, sections 16
and 17). Here one worker process loads the taxonomy and the model once, at start, and codes
whole batches; the event loop only pickles what coding reads and unpickles the reasons.

The protocol is deliberately small and cheap to pickle: a batch goes out as one tuple per
response of the only fields coding reads (comment, chosen answers, received time), and comes
back as one tuple per reason (:func:`pack_reasons` / :func:`unpack_reasons`), rebuilt in the
router without validation, field for field and with the same fields set, so the reasons are
equal to those a thread would have coded.

A worker that dies (killed, out of memory) is replaced and the batch coded again, up to
``RESTARTS`` times in a row. A batch it dies on every time may hold one comment that kills it
(native code that crashes on some text): retried as it is, that batch would stop the router at
every restart. So its responses are then coded one at a time, each in a worker, and one the
worker dies on alone comes back as ``None`` for the router to code without its comment, but
only while the worker still codes :data:`CANARY`; a worker that cannot code even that is not
being killed by a comment, and :class:`CodingWorkerDied` ends the router loudly rather than
let every response lose its comment's codes. An exception raised by coding itself comes back
as the same exception, as it would from a thread.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path

from winback_router.coding import code_responses
from winback_router.coding.compiler import load_and_compile
from winback_shared.events.recovery_alerts import CodedReason, SimilarComment
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy

log = logging.getLogger("winback.router")

RESTARTS = 2
"""Replacements of a dead worker for one batch before the router gives up on it."""

Comment = tuple[str | None, tuple[str, ...], datetime]
"""What coding reads of a response: its comment, its chosen answers, when it was received."""

Similar = tuple[str, tuple[str, ...], float]
PackedReason = tuple[
    str,
    str,
    str,
    str,
    float,
    str | None,
    str | None,
    tuple[int, int] | None,
    float,
    tuple[Similar, ...] | None,
    int,
]
"""A :class:`CodedReason`'s fields in declaration order, then the bit mask of the fields set."""

_FIELDS = tuple(CodedReason.model_fields)
_SIMILAR_FIELDS = frozenset(SimilarComment.model_fields)


CANARY: Comment = (
    "I waited an hour on hold and the agent was rude.",
    (),
    datetime(2026, 1, 1, tzinfo=UTC),
)
"""A comment any worker that can code at all codes (rules and model): the worker coding it
after dying on one response shows that response, not the worker, is at fault."""


class CodingWorkerDied(RuntimeError):
    """The coding worker died more than ``RESTARTS`` times in a row, on a batch and then on
    :data:`CANARY`: it cannot code, whatever the comments."""


def comment_of(response: SurveyResponse) -> Comment:
    """The part of ``response`` coding reads (:mod:`winback_router.coding.coder`)."""
    return (response.comment, tuple(response.reasons), response.received_at)


def response_of(comment: Comment) -> SurveyResponse:
    """A response carrying only what coding reads: built without validation, as the router's
    own responses were validated when normalised."""
    text, reasons, received_at = comment
    return SurveyResponse.model_construct(
        comment=text, reasons=list(reasons), received_at=received_at
    )


def pack_reasons(reasons: Sequence[CodedReason]) -> list[PackedReason]:
    """The reasons as plain tuples (a pickled pydantic model costs several times more)."""
    packed: list[PackedReason] = []
    for reason in reasons:
        fields_set = reason.model_fields_set
        mask = sum(1 << index for index, name in enumerate(_FIELDS) if name in fields_set)
        similar = (
            None
            if reason.similar is None
            else tuple((s.text, tuple(s.codes), s.similarity) for s in reason.similar)
        )
        packed.append(
            (
                reason.code,
                reason.label,
                reason.evidence,
                reason.method,
                reason.confidence,
                reason.evidence_source,
                reason.rule,
                reason.span,
                reason.weight,
                similar,
                mask,
            )
        )
    return packed


def unpack_reasons(packed: Sequence[PackedReason]) -> list[CodedReason]:
    """:func:`pack_reasons` undone: equal models, with the same fields set."""
    reasons: list[CodedReason] = []
    for values in packed:
        similar = values[9]
        fields: list[object] = list(values[:9])
        fields.append(
            None
            if similar is None
            else [
                SimilarComment.model_construct(
                    set(_SIMILAR_FIELDS), text=text, codes=list(codes), similarity=similarity
                )
                for text, codes, similarity in similar
            ]
        )
        mask = values[10]
        fields_set = {name for index, name in enumerate(_FIELDS) if mask >> index & 1}
        reasons.append(
            CodedReason.model_construct(fields_set, **dict(zip(_FIELDS, fields, strict=True)))
        )
    return reasons


_taxonomy: Taxonomy | None = None
"""The worker's taxonomy and model, loaded once by :func:`_start_worker`."""


def _start_worker(taxonomy_path: Path | None, model_path: Path | None) -> None:
    """Load the taxonomy and the model in the worker; leave Ctrl-C to the router, which shuts
    the worker down once its batches are finished."""
    global _taxonomy
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _taxonomy = load_and_compile(taxonomy_path, model_path)


def code_packed(comments: Sequence[Comment]) -> list[list[PackedReason]]:
    """Run in the worker: a batch's reasons, packed."""
    if _taxonomy is None:  # pragma: no cover - the initializer always runs first
        raise RuntimeError("coding worker started without its taxonomy")
    responses = [response_of(comment) for comment in comments]
    return [pack_reasons(reasons) for reasons in code_responses(responses, _taxonomy)]


class CodingProcess:
    """One worker process that codes whole batches; replaced when it dies.

    ``taxonomy_path`` and ``model_path`` are those the router's own taxonomy was loaded with
    (:func:`~winback_router.coding.compiler.load_and_compile`), so both code alike.
    """

    def __init__(
        self,
        taxonomy_path: Path | None,
        model_path: Path | None,
        work: Callable[[Sequence[Comment]], list[list[PackedReason]]] = code_packed,
    ) -> None:
        """``work`` is what the worker runs on a batch: :func:`code_packed` (tests give one that
        dies or raises, to hold the router to its guarantees)."""
        self._args = (taxonomy_path, model_path)
        self._work = work
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the worker now, so the first batch does not wait for it to load the model."""
        self._executor().submit(int).result()

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: the router's threads (aiokafka, the coding of a revision) make fork unsafe.
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=self._args,
            )
        return self._pool

    def worker_pids(self) -> list[int]:
        """The live worker's process id, if any (for measuring its CPU, and for tests)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [int(pid) for pid in processes]

    async def code(self, responses: Sequence[SurveyResponse]) -> list[list[CodedReason] | None]:
        """``code_responses(responses, taxonomy)``, computed in the worker; ``None`` for a
        response the worker died on when coding it alone (see the module's docstring)."""
        if not responses:
            return []
        comments = [comment_of(response) for response in responses]
        try:
            packed = await self._run(comments, tries=RESTARTS + 1)
        except CodingWorkerDied:
            return await self._code_one_by_one(comments)
        return [unpack_reasons(reasons) for reasons in packed]

    async def _run(self, comments: Sequence[Comment], tries: int) -> list[list[PackedReason]]:
        """The worker's packed reasons for ``comments``, replacing a dead worker up to
        ``tries - 1`` times."""
        loop = asyncio.get_running_loop()
        error: BaseException | None = None
        for attempt in range(tries):
            pool = self._executor()
            try:
                return await loop.run_in_executor(pool, self._work, comments)
            except BrokenProcessPool as exc:
                log.error(
                    "coding worker died; starting another",
                    extra={"fields": {"attempt": attempt + 1, "records": len(comments)}},
                )
                pool.shutdown(wait=False, cancel_futures=True)
                if self._pool is pool:
                    self._pool = None
                error = exc
        raise CodingWorkerDied(
            f"the coding worker died {tries} times on a batch of {len(comments)}"
        ) from error

    async def _code_one_by_one(self, comments: Sequence[Comment]) -> list[list[CodedReason] | None]:
        """Each comment coded alone; ``None`` for one the worker dies on while it still codes
        :data:`CANARY`. Raises :class:`CodingWorkerDied` if it cannot code the canary.

        One at a time rather than halving the batch: a worker's start (loading the model) costs
        seconds, a comment coded alone milliseconds, so the fewest deaths win."""
        log.error(
            "coding worker died on every try of a batch; coding its responses one by one",
            extra={"fields": {"records": len(comments)}},
        )
        await self._run([CANARY], tries=RESTARTS + 1)
        coded: list[list[CodedReason] | None] = []
        for index, comment in enumerate(comments):
            try:
                [packed] = await self._run([comment], tries=1)
            except CodingWorkerDied:
                await self._run([CANARY], tries=RESTARTS + 1)
                log.error(
                    "the coding worker dies on one response's comment",
                    extra={"fields": {"index": index, "records": len(comments)}},
                )
                coded.append(None)
                continue
            except Exception:
                # Not thrown back to the router's thread: it would code the batch again in the
                # router's own process, with the comment that kills a worker in it.
                log.exception(
                    "coding raised on one response's comment",
                    extra={"fields": {"index": index, "records": len(comments)}},
                )
                coded.append(None)
                continue
            coded.append(unpack_reasons(packed))
        return coded

    def close(self) -> None:
        """Stop the worker (after the batch it is coding, if any)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
