"""CPU per comment of each stage of coding, for short and long comments, in one thread.

    .venv/bin/python scripts/perf/coding_stages.py [--repeats 5] [--longest 40]

A measuring aid for ``docs/performance.md`` section 19: where coding a long comment spends its
time. ``coding.bench`` and ``router_drain.py`` time coding as a whole; this times its stages
one by one with ``time.process_time`` (best of ``--repeats``), with the router's configuration
(the rules and the fast model), on three groups of comments: the whole-stack bench's comment,
the ``--longest`` labelled comments of ``tests/data/comments`` (the blind set is never opened)
and ``router_drain.py``'s short comments. Stages:

- ``fold``: ``FoldedText.of`` (the rules' words, ``split_words`` inside);
- ``rules``: ``find_hits`` over the folded comment (keywords, then the patterns that may match:
  those the one scan of :mod:`~winback_router.coding.pattern_scan` names, and any it does not
  cover that hold a required string; ``patterns run`` counts those);
- ``model``: the fast model's ``text_logits``, in batches of 100 as the coder computes them
  where the tree has ``text_logits_each`` (section 33), else one by one;
- ``follow-up``: ``find_contact_request``;
- ``whole``: ``code_responses`` over the group as responses in batches of 100, and ``rest``,
  what the whole costs beyond the four (the chosen answer, reasons and their evidence).

Every stage runs on the same process and machine one after the other, so on a shared machine
read the shares, not the absolute figures.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from winback_router.coding import code_responses
from winback_router.coding.compiler import compiled_rules, load_and_compile, reason_model
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples
from winback_router.coding.follow_up import find_contact_request
from winback_router.coding.learned import FAST_MODEL
from winback_router.coding.rules import FoldedText, find_hits, patterns_to_run
from winback_shared.survey import Score, ScoreKind, SurveyResponse
from winback_shared.taxonomy import Taxonomy

SPLITS = ("dev", "heldout", "independent-dev", "independent-heldout")
"""The labelled files read (never ``blind``)."""
SHORT = [
    "I waited forty minutes on hold and nobody called me back",
    "The agent did not know the product and was rude",
    "Billing charged me twice and the refund never came",
    "Fine I guess",
]
"""router_drain.py's short comments."""
BATCH = 100


def best_of(repeats: int, work: Callable[[], object]) -> float:
    """The least CPU seconds ``work`` took over ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def responses(texts: Sequence[str]) -> list[SurveyResponse]:
    """Each text as a detractor's response with one chosen answer, as the bench posts it."""
    received = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        SurveyResponse(
            response_id=f"r{i}",
            comment=text,
            reasons=["Long wait time"],
            scores=[Score(kind=ScoreKind.NPS, value=2)],
            source="stages",
            vendor="generic",
            receipt_id=f"r{i}",
            received_at=received,
        )
        for i, text in enumerate(texts)
    ]


def _logits(model: Any, texts: Sequence[str]) -> list[Any]:
    """The fast model's TF-IDF logits of ``texts`` as this tree's coder computes them."""
    each = getattr(model, "text_logits_each", None)
    if each is None:
        return [model.text_logits(text) for text in texts]
    return [found for i in range(0, len(texts), BATCH) for found in each(texts[i : i + BATCH])]


def stages(texts: Sequence[str], taxonomy: Taxonomy, repeats: int) -> dict[str, float]:
    """Microseconds of CPU per comment of each stage, and the patterns run per comment."""
    rules = compiled_rules(taxonomy)
    model = reason_model(taxonomy)
    assert model is not None
    folded = [FoldedText.of(text) for text in texts]
    batch = responses(texts)
    measured = {
        "fold": best_of(repeats, lambda: [FoldedText.of(text) for text in texts]),
        "rules": best_of(repeats, lambda: [find_hits(f, rules) for f in folded]),
        "model": best_of(repeats, lambda: _logits(model, texts)),
        "follow-up": best_of(repeats, lambda: [find_contact_request(f) for f in folded]),
        "whole": best_of(
            repeats,
            lambda: [
                code_responses(batch[i : i + BATCH], taxonomy) for i in range(0, len(batch), BATCH)
            ],
        ),
    }
    per_comment = {name: seconds / len(texts) * 1e6 for name, seconds in measured.items()}
    per_comment["rest"] = per_comment["whole"] - sum(
        per_comment[name] for name in ("fold", "rules", "model", "follow-up")
    )
    run = sum(len(patterns_to_run(f, rules)) for f in folded)
    per_comment["patterns run"] = run / len(texts)
    per_comment["words"] = sum(len(f.words) for f in folded) / len(texts)
    return per_comment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--longest", type=int, default=40)
    args = parser.parse_args()
    from winback_local.bench.deliveries import COMMENT

    labelled = sorted(
        (e.text for split in SPLITS for e in load_examples(DEFAULT_DATA / f"{split}.jsonl")),
        key=len,
    )
    groups = {
        "bench comment": [COMMENT] * 20,
        f"longest {args.longest} labelled": labelled[-args.longest :],
        "router_drain short": SHORT * 5,
    }
    taxonomy = load_and_compile(model=FAST_MODEL)
    code_responses(responses(SHORT), taxonomy)  # warm: caches, first numpy calls
    names = ["fold", "rules", "model", "follow-up", "rest", "whole", "patterns run", "words"]
    print(f"{'us a comment':<24}" + "".join(f"{name:>13}" for name in names))
    for group, texts in groups.items():
        figures = stages(texts, taxonomy, args.repeats)
        print(f"{group:<24}" + "".join(f"{figures[name]:>13.1f}" for name in names))


if __name__ == "__main__":
    main()
