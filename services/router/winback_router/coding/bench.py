"""How fast coding runs: the rules alone, with the router's fast model and with the full model
(the refiner's), side by side, on one core.

    python -m winback_router.coding.bench [--rounds 5] [--batch 100] [--model FILE]
                                          [--fast-model FILE]

Feeds every labelled comment except the blind set's (tests/data/comments), each with a chosen
answer and a score, through coding and ``decide`` in this one process, which is one core:

- one by one, ``code_response`` per response: the latency of one response, p50 and p99;
- batched, ``code_responses`` over consumer-sized batches, as the router's consumer codes (in a
  worker thread): the throughput, and the share of comments whose sentence vector was computed
  (the model embeds only comments where the vector could change the codes).

The three configurations alternate round by round, so whatever else the machine does weighs on
both alike: compare their ratio, not the absolute figures, on a shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from winback_router.coding import code_response, code_responses
from winback_router.coding.compiler import compiled_rules, load_and_compile, reason_model
from winback_router.coding.embeddings import sentence_encoder
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL
from winback_router.decision import decide
from winback_shared.survey import Score, ScoreKind, SurveyResponse
from winback_shared.taxonomy import Taxonomy

ANSWERS = ["Long wait time", "Agent lacked product knowledge", "Something else entirely", ""]
SAMPLE_SPLITS = ("dev", "heldout", "independent-dev", "independent-heldout")


def sample_responses(data: Path) -> list[SurveyResponse]:
    """One response per labelled comment, with a rotating chosen answer and NPS score."""
    examples = [e for split in SAMPLE_SPLITS for e in load_examples(data / f"{split}.jsonl")]
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


@dataclass
class Measured:
    """One configuration's timings over all rounds."""

    name: str
    taxonomy: Taxonomy
    single: list[float] = field(default_factory=list)
    """Seconds per response, coded one by one."""
    batched_seconds: float = 0.0
    batched_responses: int = 0
    embedded: int = 0
    """Texts the encoder embedded in the batched passes."""

    def line(self) -> str:
        """Throughput batched and one by one, and one response's latency."""
        q = statistics.quantiles(self.single, n=100)
        batched = self.batched_responses / self.batched_seconds
        one_by_one = len(self.single) / sum(self.single)
        share = self.embedded / self.batched_responses
        return (
            f"{self.name:<14} {batched:>6,.0f} responses/s batched, {one_by_one:>6,.0f} one by one;"
            f" one response p50 {q[49] * 1e6:>5.0f} us, p99 {q[98] * 1e6:>6.0f} us;"
            f" texts embedded per response {share:.2f}"
        )


def run_round(measured: Measured, responses: Sequence[SurveyResponse], batch: int) -> None:
    """One pass one by one, then one pass in batches."""
    taxonomy = measured.taxonomy
    for response in responses:
        before = time.perf_counter()
        decide(response, code_response(response, taxonomy))
        measured.single.append(time.perf_counter() - before)
    model = reason_model(taxonomy)
    encoder = sentence_encoder() if model is not None and model.reads_vectors else None
    embedded_before = encoder.texts_embedded if encoder else 0
    started = time.perf_counter()
    for first in range(0, len(responses), batch):
        chunk = responses[first : first + batch]
        for response, reasons in zip(chunk, code_responses(chunk, taxonomy), strict=True):
            decide(response, reasons)
    measured.batched_seconds += time.perf_counter() - started
    measured.batched_responses += len(responses)
    measured.embedded += (encoder.texts_embedded - embedded_before) if encoder else 0


def main(argv: Sequence[str] | None = None) -> None:
    """Print, per configuration, throughput and per-response latency percentiles."""
    parser = argparse.ArgumentParser(description="coding cost: rules alone vs rules + model")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the sample")
    parser.add_argument("--batch", type=int, default=100, help="responses per consumer batch")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the full model file")
    parser.add_argument(
        "--fast-model", type=Path, default=FAST_MODEL, help="the router's (hot path) model file"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    rules = Measured("rules alone", load_and_compile(model=None))
    fast = Measured("+ fast model", load_and_compile(model=args.fast_model))
    with_model = Measured("+ full model", load_and_compile(model=args.model))
    load_ms = (time.perf_counter() - started) * 1000
    configurations = (rules, fast, with_model)
    responses = sample_responses(args.data)
    for measured in configurations:  # warm-up: regex caches, lazy imports
        for response in responses[:50]:
            decide(response, code_response(response, measured.taxonomy))
    for _ in range(args.rounds):
        for measured in configurations:
            run_round(measured, responses, args.batch)

    taxonomy = rules.taxonomy
    mean_chars = statistics.mean(len(r.comment or "") for r in responses)
    print(
        f"taxonomy: {len(taxonomy.codes)} codes, {len(compiled_rules(taxonomy).rules)} rules; "
        f"models {args.fast_model.name} (router), {args.model.name} (refiner); loading all took"
        f" {load_ms:.0f} ms"
    )
    print(
        f"sample: {len(responses)} responses x {args.rounds} rounds, comments {mean_chars:.0f} "
        f"characters on average; batches of {args.batch}; one core"
    )
    for measured in configurations:
        print(measured.line())


if __name__ == "__main__":
    main()
