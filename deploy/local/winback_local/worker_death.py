"""What one comment that kills the coding worker costs its batch (``python -m
winback_local.measure coding-worker-death``).

The worker here runs the router's own coding (:func:`~winback_router.coding_process.code_packed`)
but dies, as native code crashing on some text would, on any batch holding :data:`KILLER`. The
same batch of held-out comments is coded with and without that comment, in one run, so the two
times compare on the same machine at the same moment.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.learned import FAST_MODEL
from winback_router.coding_process import CodingProcess, Comment, PackedReason, code_packed
from winback_shared.survey import SurveyResponse

KILLER = "this comment crashes the coder"
HELD_OUT = ("heldout.jsonl", "independent-heldout.jsonl")


def code_or_die(comments: Sequence[Comment]) -> list[list[PackedReason]]:
    """Run in the worker: the router's coding, or the worker's death on :data:`KILLER`."""
    if any(KILLER in (comment[0] or "") for comment in comments):
        os._exit(70)
    return code_packed(comments)


def held_out_responses(count: int) -> list[SurveyResponse]:
    """``count`` held-out comments (never trained on) as responses, received an hour apart."""
    texts = [example.text for name in HELD_OUT for example in load_examples(DEFAULT_DATA / name)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        SurveyResponse(
            response_id=f"m{number}",
            comment=texts[number % len(texts)],
            source="measure",
            vendor="generic",
            receipt_id=f"m{number}",
            received_at=start + timedelta(hours=number),
        )
        for number in range(count)
    ]


async def measure(batch: int) -> tuple[float, float, int]:
    """Seconds to code ``batch`` held-out comments without and with one killer among them,
    and how many responses came back uncoded (``None``: coded from their chosen answers)."""
    responses = held_out_responses(batch)
    killed = list(responses)
    killed[batch // 2] = killed[batch // 2].model_copy(update={"comment": f"Awful. {KILLER}."})
    worker = CodingProcess(None, FAST_MODEL, work=code_or_die)
    try:
        worker.start()
        started = time.perf_counter()
        await worker.code(responses)
        clean = time.perf_counter() - started
        started = time.perf_counter()
        coded = await worker.code(killed)
        with_killer = time.perf_counter() - started
    finally:
        worker.close()
    return clean, with_killer, sum(reasons is None for reasons in coded)


def coding_worker_death(batch: int) -> None:
    """Print the two times and the ratio."""
    clean, with_killer, lost = asyncio.run(measure(batch))
    print(
        f"batch of {batch} held-out comments, fast model: {clean:.2f} s; with one comment that "
        f"kills the worker: {with_killer:.2f} s ({with_killer / clean:.0f}x), {lost} coded "
        "from its chosen answers alone"
    )
