"""How fast coding runs: responses coded (and decided) per second on one core.

    python -m winback_router.coding.bench [--rounds 20] [--no-model]

Feeds every labelled comment (tests/data/comments), each with a chosen answer and a score, through
``code_response`` (rules and the learned model, as the router runs them; ``--no-model`` for the
rules alone) and ``decide`` in this one process, which is one core: the router codes in its
event loop, so this is the ceiling coding puts on one router instance. Figures move with
whatever else the machine is doing; compare runs on a quiet one.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from winback_router.coding import code_response
from winback_router.coding.compiler import compiled_rules, load_and_compile, reason_model
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.learned import DEFAULT_MODEL
from winback_router.decision import decide
from winback_shared.survey import Score, ScoreKind, SurveyResponse

ANSWERS = ["Long wait time", "Agent lacked product knowledge", "Something else entirely", ""]


def sample_responses(data: Path) -> list[SurveyResponse]:
    """One response per labelled comment, with a rotating chosen answer and NPS score."""
    examples = [*load_examples(data / "dev.jsonl"), *load_examples(data / "heldout.jsonl")]
    received = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        SurveyResponse(
            response_id=example.id,
            comment=example.text,
            reasons=[ANSWERS[i % len(ANSWERS)]] if ANSWERS[i % len(ANSWERS)] else [],
            scores=[Score(kind=ScoreKind.NPS, value=i % 11)],
            source="bench",
            vendor="generic",
            receipt_id=example.id,
            received_at=received,
        )
        for i, example in enumerate(examples)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Print throughput and per-response latency percentiles."""
    parser = argparse.ArgumentParser(description="responses coded per second on one core")
    parser.add_argument("--rounds", type=int, default=20, help="passes over the sample")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--no-model", action="store_true", help="the rules alone")
    args = parser.parse_args(argv)

    taxonomy_started = time.perf_counter()
    taxonomy = load_and_compile(model=None if args.no_model else DEFAULT_MODEL)
    load_ms = (time.perf_counter() - taxonomy_started) * 1000
    responses = sample_responses(args.data)
    for response in responses:  # warm-up: regex caches, lazy imports
        decide(response, code_response(response, taxonomy))

    timings: list[float] = []
    started = time.perf_counter()
    for _ in range(args.rounds):
        for response in responses:
            before = time.perf_counter()
            decide(response, code_response(response, taxonomy))
            timings.append(time.perf_counter() - before)
    elapsed = time.perf_counter() - started

    quantiles = statistics.quantiles(timings, n=100)
    mean_chars = statistics.mean(len(r.comment or "") for r in responses)
    rate = len(timings) / elapsed
    rules = len(compiled_rules(taxonomy).rules)
    model = "rules + model" if reason_model(taxonomy) else "rules alone"
    print(f"taxonomy: {len(taxonomy.codes)} codes, {rules} rules, {model} ({load_ms:.0f} ms)")
    print(f"sample: {len(responses)} responses, comments {mean_chars:.0f} characters on average")
    print(f"coded {len(timings)} responses in {elapsed:.2f} s: {rate:,.0f} responses/s")
    print(
        "per response: "
        f"p50 {quantiles[49] * 1e6:.0f} us, p90 {quantiles[89] * 1e6:.0f} us, "
        f"p99 {quantiles[98] * 1e6:.0f} us, max {max(timings) * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
