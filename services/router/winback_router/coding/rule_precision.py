"""Which keywords and patterns fire on comments written apart from the rules, and how often wrongly.

    python -m winback_router.coding.rule_precision                    # the training files
    python -m winback_router.coding.rule_precision --code long_wait --show 5  # with examples

A code's rules are precise on the comments they were tuned on (``dev``) and much less so on text
nobody tuned for, and the learned model can only add codes: a rule's false positive stays in
production. This lists, per code, every rule that fired on the chosen files, how often, and how
often the comment was not labelled with that code, worst first, so a broad pattern is found by
its count, not by guessing. It reads only training files by default (the model learns from them
anyway); it refuses the blind set, whose comments are never read one by one.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from winback_router.coding.compiler import compiled_rules, load_and_compile
from winback_router.coding.evaluate import BLIND, DEFAULT_DATA, SPLITS, Example, load_examples
from winback_router.coding.rules import FoldedText, find_hits
from winback_shared.taxonomy import Taxonomy

WRITTEN_APART = (
    "independent-dev",
    "independent-train",
    "independent-train-2",
    "independent-train-3",
    "independent-train-4",
)
"""The training files written by people who never saw the rules."""


@dataclass
class RuleCount:
    """How often one rule fired, and on which comments it was wrong."""

    code: str
    rule: str
    source: str
    fired: int = 0
    wrong: list[Example] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of the comments it fired on that carry its code."""
        return 1 - len(self.wrong) / self.fired if self.fired else 1.0


@dataclass
class CodeCount:
    """A code's rules together: comments where any fired, and where that was wrong."""

    code: str
    fired: int = 0
    wrong: int = 0
    rules: dict[str, RuleCount] = field(default_factory=dict)


def count(taxonomy: Taxonomy, examples: Sequence[Example]) -> dict[str, CodeCount]:
    """Every code's rule counts over ``examples`` (a rule counts once per comment)."""
    rules = compiled_rules(taxonomy)
    codes = {code.id: CodeCount(code.id) for code in taxonomy.codes}
    for example in examples:
        fired_codes: set[str] = set()
        for hit in find_hits(FoldedText.of(example.text), rules):
            code = hit.rule.code
            fired_codes.add(code)
            counted = codes[code].rules.setdefault(
                hit.rule.name, RuleCount(code, hit.rule.name, hit.rule.source)
            )
            counted.fired += 1
            if code not in example.codes:
                counted.wrong.append(example)
        for code in fired_codes:
            codes[code].fired += 1
            codes[code].wrong += code not in example.codes
    return codes


def format_counts(counts: dict[str, CodeCount], show: int = 0, minimum: int = 1) -> str:
    """Codes by precision (worst first), each rule with its count and wrong share."""
    lines = []
    ranked = sorted(counts.values(), key=lambda c: (1 - c.wrong / c.fired) if c.fired else 1.0)
    for code in ranked:
        precision = 1 - code.wrong / code.fired if code.fired else 1.0
        lines.append(
            f"{code.code}: fired {code.fired}, wrong {code.wrong}, precision {precision:.2f}"
        )
        for rule in sorted(code.rules.values(), key=lambda r: (-len(r.wrong), -r.fired)):
            if len(rule.wrong) < minimum:
                continue
            source = rule.source if rule.rule.startswith("keyword:") else rule.source[:70]
            lines.append(
                f"  {rule.rule:<32} fired {rule.fired:>4} wrong {len(rule.wrong):>3} "
                f"({rule.precision:.2f})  {source if rule.rule.startswith('pattern:') else ''}"
            )
            for example in rule.wrong[:show]:
                lines.append(f"      {example.id} {sorted(example.codes)}: {example.text[:160]}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the rule counts for the chosen files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--split",
        action="append",
        choices=[split for split in SPLITS if split != BLIND],
        help="a file to read (repeatable; default: the training files written apart)",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the JSONL files")
    parser.add_argument("--taxonomy", type=Path, default=None, help="taxonomy TOML to measure")
    parser.add_argument("--code", action="append", help="only these codes (repeatable)")
    parser.add_argument("--show", type=int, default=0, help="wrong comments listed per rule")
    parser.add_argument("--min-wrong", type=int, default=1, help="hide rules wrong fewer times")
    args = parser.parse_args(argv)
    splits = args.split or [s for s in WRITTEN_APART if (args.data / f"{s}.jsonl").exists()]
    examples = [e for split in splits for e in load_examples(args.data / f"{split}.jsonl")]
    counts = count(load_and_compile(args.taxonomy, model=None), examples)
    if args.code:
        counts = {code: counts[code] for code in args.code}
    print(f"rules on {len(examples)} comments ({' + '.join(splits)})")
    print(format_counts(counts, args.show, args.min_wrong))


if __name__ == "__main__":
    main()
