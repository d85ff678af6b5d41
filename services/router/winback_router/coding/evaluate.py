"""How well reason coding matches people: per-code precision, recall and F1, and macro-F1.

    python -m winback_router.coding.evaluate                  # held-out comments, the honest figure
    python -m winback_router.coding.evaluate --split all      # one line per file but the blind one
    python -m winback_router.coding.evaluate --split blind    # the blind set: only by its name
    python -m winback_router.coding.evaluate --split dev --errors --no-model  # tuning the rules
    DATABASE_URL=... python -m winback_router.coding.evaluate --split agent  # agents' labels

Rules are tuned on the ``dev`` split only; ``heldout`` is for reporting. Macro-F1 averages the
taxonomy codes equally, so a rare code that is never found weighs as much as a common one. The
"(no code)" row scores the other promise: a comment about nothing in the taxonomy gets no code.

Codes come from the production entry point, ``code_response``: the rules plus the learned model
(:mod:`winback_router.coding.learned`, trained on ``train.TRAINING_SPLITS``), or the rules
alone with ``--no-model``; ``--model FILE`` scores another trained model, and ``--no-removal``
the model without the floors under which it removes a rule's code.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from winback_router.coding import code_responses
from winback_router.coding.compiler import attach_model, load_and_compile, reason_model
from winback_router.coding.learned import DEFAULT_MODEL
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import ASKS_CONTACT, RESERVED_CODES, Taxonomy

DEFAULT_DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "comments"
NO_CODE = "(no code)"

Predict = Callable[[str], set[str]]


SPLITS = (
    "dev",
    "heldout",
    "independent-dev",
    "independent-train",
    "independent-train-2",
    "independent-train-3",
    "independent-train-4",
    "independent-train-5",
    "independent-train-6",
    "independent-train-7",
    "independent-train-8",
    "independent-train-9",
    "independent-train-10",
    "independent-train-11",
    "independent-eval-9",
    "independent-heldout",
    "blind",
)
"""The labelled files (see ``tests/data/comments/README.md``): the project's own comments, those
written apart from the rules, and the blind set, which is never tuned on and never listed."""
BLIND = "blind"
SUMMARY_SPLITS = tuple(split for split in SPLITS if split != BLIND)
"""What ``--split all`` scores: every file but the blind one, which is scored only when asked for
by name (``--split blind``), so a routine summary never spends one of its few readings."""


@dataclass(frozen=True)
class Example:
    """One labelled comment; ``follow_up`` says whether it asks to be contacted (where known)."""

    id: str
    text: str
    codes: frozenset[str]
    follow_up: bool | None = None


@dataclass(frozen=True)
class CodeScore:
    """Counts and scores for one code."""

    code: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def support(self) -> int:
        """How many comments carry the code."""
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        """Share of the code's predictions that were right (1.0 when it never fired)."""
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of the comments carrying the code that got it."""
        return self.true_positives / self.support if self.support else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Report:
    """Every code's score, plus the no-code row."""

    codes: list[CodeScore]
    no_code: CodeScore
    examples: int

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the taxonomy codes that occur in the labels."""
        scored = [score for score in self.codes if score.support]
        return sum(score.f1 for score in scored) / len(scored) if scored else 0.0

    @property
    def micro_f1(self) -> float:
        """F1 over all code decisions pooled."""
        pooled = CodeScore(
            "all",
            sum(s.true_positives for s in self.codes),
            sum(s.false_positives for s in self.codes),
            sum(s.false_negatives for s in self.codes),
        )
        return pooled.f1


def load_examples(path: Path) -> list[Example]:
    """Read one JSONL file of ``{"id", "text", "codes"}`` objects."""
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            examples.append(
                Example(row["id"], row["text"], frozenset(row["codes"]), row.get("follow_up"))
            )
    return examples


def coded(taxonomy: Taxonomy, text: str) -> set[str]:
    """Every code the production entry point gives a response whose only content is ``text``,
    the router's own (``unclassified``, ``asks_contact``) included."""
    return coded_all(taxonomy, [text])[0]


def coded_all(taxonomy: Taxonomy, texts: Sequence[str]) -> list[set[str]]:
    """:func:`coded` for each text, coded in one batch as the router's consumer codes."""
    responses = [_response(text) for text in texts]
    return [{reason.code for reason in reasons} for reasons in code_responses(responses, taxonomy)]


def _response(text: str) -> SurveyResponse:
    return SurveyResponse(
        response_id="eval", comment=text, source="eval", vendor="generic",
        receipt_id="eval", received_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip


def predictor(taxonomy: Taxonomy) -> Predict:
    """The taxonomy codes the production entry point gives a response whose only content is
    ``text``: the rules', plus the model's if :func:`load_and_compile` attached one."""
    return lambda text: coded(taxonomy, text) - RESERVED_CODES


def follow_up_score(examples: Sequence[Example], asked: Sequence[bool]) -> CodeScore | None:
    """How well ``asks_contact`` matches the comments labelled as asking to be contacted; None
    when the examples carry no such label."""
    pairs = [
        (example.follow_up, found)
        for example, found in zip(examples, asked, strict=True)
        if example.follow_up is not None
    ]
    return _count(ASKS_CONTACT, pairs) if pairs else None


def score(
    examples: Sequence[Example], predictions: Sequence[set[str]], codes: Iterable[str]
) -> Report:
    """Compare predictions with labels, code by code."""
    scores = []
    for code in codes:
        pairs = [
            (code in ex.codes, code in predicted)
            for ex, predicted in zip(examples, predictions, strict=True)
        ]
        scores.append(_count(code, pairs))
    no_code = _count(
        NO_CODE,
        [
            (not ex.codes, not predicted)
            for ex, predicted in zip(examples, predictions, strict=True)
        ],
    )
    return Report(scores, no_code, len(examples))


def _count(code: str, pairs: Iterable[tuple[bool, bool]]) -> CodeScore:
    pairs = list(pairs)
    return CodeScore(
        code,
        sum(1 for truth, guess in pairs if truth and guess),
        sum(1 for truth, guess in pairs if guess and not truth),
        sum(1 for truth, guess in pairs if truth and not guess),
    )


def format_report(title: str, report: Report) -> str:
    """A fixed-width table, one code per line."""
    lines = [
        f"{title}: {report.examples} comments",
        f"{'code':<22} {'prec':>6} {'recall':>6} {'F1':>6} {'support':>8}",
    ]
    for row in [*report.codes, report.no_code]:
        scores = f"{row.precision:>6.2f} {row.recall:>6.2f} {row.f1:>6.2f}"
        lines.append(f"{row.code:<22} {scores} {row.support:>8}")
    lines.append(f"macro-F1 {report.macro_f1:.3f}   micro-F1 {report.micro_f1:.3f}")
    return "\n".join(lines)


def format_errors(examples: Sequence[Example], predictions: Sequence[set[str]]) -> str:
    """Each comment whose codes differ from its labels: what was missed and what was extra."""
    lines = []
    for example, predicted in zip(examples, predictions, strict=True):
        missed = sorted(example.codes - predicted)
        extra = sorted(predicted - example.codes)
        if missed or extra:
            lines.append(f"{example.id} missed={missed} extra={extra}\n    {example.text}")
    return "\n".join(lines)


def summary(taxonomy: Taxonomy, data: Path, splits: Sequence[str] = SUMMARY_SPLITS) -> str:
    """One line per split: macro- and micro-F1, the weakest code, and follow-up detection
    (``splits``: by default every file but the blind one, never opened here)."""
    codes = [code.id for code in taxonomy.codes]
    lines = [
        f"{'split':<20} {'comments':>8} {'macro-F1':>8} {'micro-F1':>8}  {'weakest code':<28}"
        f" {'asks to be contacted P/R/F1':>27}  ({_method(taxonomy)})"
    ]
    for split in splits:
        path = data / f"{split}.jsonl"
        if not path.exists():
            continue
        examples = load_examples(path)
        found = coded_all(taxonomy, [example.text for example in examples])
        report = score(examples, [codes_ - RESERVED_CODES for codes_ in found], codes)
        weakest = min((s for s in report.codes if s.support), key=lambda s: s.f1)
        follow = follow_up_score(examples, [ASKS_CONTACT in codes_ for codes_ in found])
        asked = (
            f"{follow.precision:.2f}/{follow.recall:.2f}/{follow.f1:.2f} ({follow.support})"
            if follow
            else "not labelled"
        )
        lines.append(
            f"{split:<20} {report.examples:>8} {report.macro_f1:>8.3f} {report.micro_f1:>8.3f}"
            f"  {weakest.code + f' {weakest.f1:.2f}':<28} {asked:>27}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the figures for one split, or a line per split with ``--split all``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--split", choices=[*SPLITS, "agent", "all"], default="heldout")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the JSONL files")
    parser.add_argument("--taxonomy", type=Path, default=None, help="taxonomy TOML to evaluate")
    parser.add_argument("--errors", action="store_true", help="list every mismatched comment")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="trained model file")
    parser.add_argument("--no-model", action="store_true", help="the rules alone")
    parser.add_argument(
        "--no-removal", action="store_true", help="the model adds codes but removes none"
    )
    args = parser.parse_args(argv)
    if args.errors and args.split == BLIND:
        parser.error(
            "the blind split is never listed comment by comment: it would stop being blind"
        )

    taxonomy = load_and_compile(args.taxonomy, model=None if args.no_model else args.model)
    model = reason_model(taxonomy)
    if args.no_removal and model is not None:
        attach_model(taxonomy, dataclasses.replace(model, keep=None), args.model)
    if args.split == "all":
        print(summary(taxonomy, args.data))
        return
    if args.split == "agent":  # cases agents labelled, from PostgreSQL (see agent_labels)
        from winback_router.coding import agent_labels  # it builds on this module

        print(agent_labels.main(taxonomy, _method(taxonomy), errors=args.errors))
        return
    examples = load_examples(args.data / f"{args.split}.jsonl")
    codes = [code.id for code in taxonomy.codes]
    predictions = [
        found - RESERVED_CODES
        for found in coded_all(taxonomy, [example.text for example in examples])
    ]
    title = f"{_method(taxonomy)}, {args.split}"
    print(format_report(title, score(examples, predictions, codes)))
    if args.errors:
        print(format_errors(examples, predictions))


def _method(taxonomy: Taxonomy) -> str:
    return "rules alone" if reason_model(taxonomy) is None else "rules + model"


if __name__ == "__main__":
    main()
