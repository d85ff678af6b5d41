"""How far people agree on the reason codes, and training labels built from that agreement.

    python -m winback_router.coding.agreement [--data DIR]

Every comment of the first eight training files (``train.READ_TWICE_SPLITS``) was read a second time
by two readers who saw only the 16 codes' table and the text, never the writer's labels, the rules,
the model or the other reader's codes (``tests/data/comments/second-readings.jsonl``, described in
that folder's README). This prints, per code, the F1 between the writer and each reader and between
the two readers, their mean over the codes, the share of comments given the very same code set, and
how often the majority of three (writer and both readers) adds (+) or removes (-) the code against
the writer's labels.

Why it matters: agreement between people is the ceiling a model can be expected to reach on
each code (a model scored against one writer cannot beat what a second careful reader gets), and
where people disagree (repeat_contact against re_explain and broken_promise) the training labels
are noisy. :func:`training_labels` gives ``train --labels`` its two alternatives to the writer's
labels: the majority of three per code (``majority``), or only the comments whose majority equals
the writer's labels (``agreed``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from winback_router.coding.evaluate import DEFAULT_DATA, Example, load_examples
from winback_shared.taxonomy import load_taxonomy

READINGS_FILE = "second-readings.jsonl"
LabelSource = Literal["writer", "majority", "agreed"]
LABEL_SOURCES: tuple[LabelSource, ...] = ("writer", "majority", "agreed")
"""``writer``: the labels as written; ``majority``: a code wherever two of the three people gave
it; ``agreed``: the writer's labels, leaving out the comments whose majority differs."""

Codes = frozenset[str]
Pair = tuple[Codes, Codes]


@dataclass(frozen=True)
class Reading:
    """One comment's two second readings: who read it, and the codes each one gave."""

    id: str
    readers: tuple[str, str]
    codes: tuple[Codes, Codes]


@dataclass(frozen=True)
class Agreement:
    """What :func:`measure` found; the per-code mappings follow the codes' order."""

    comments: int
    writer_reader: dict[str, float]
    reader_reader: dict[str, float]
    same_set_writer_reader: float
    same_set_reader_reader: float
    added: Counter[str]
    removed: Counter[str]
    changed_comments: int


def load_readings(path: Path) -> dict[str, Reading]:
    """Read the second readings; a comment read other than twice, or twice listed, is an error."""
    readings: dict[str, Reading] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if len(row["readers"]) != 2 or len(row["codes"]) != 2:
            raise ValueError(f"{path}:{number}: {row['id']} needs exactly two readings")
        if row["id"] in readings:
            raise ValueError(f"{path}:{number}: {row['id']} is read twice in the file")
        one, other = row["readers"]
        first, second = (frozenset(codes) for codes in row["codes"])
        readings[row["id"]] = Reading(row["id"], (one, other), (first, second))
    return readings


def pair_f1(pairs: Iterable[Pair], code: str) -> float:
    """F1 of one code between two people over the same comments: twice the comments both gave
    it over the times either gave it (symmetric; NaN when neither ever gave it)."""
    both = given = 0
    for one, other in pairs:
        both += code in one and code in other
        given += (code in one) + (code in other)
    return 2 * both / given if given else math.nan


def mean(values: Iterable[float]) -> float:
    """The mean over the codes somebody gave (NaN values, codes nobody gave, are left out)."""
    known = [value for value in values if not math.isnan(value)]
    return sum(known) / len(known) if known else math.nan


def same_set(pairs: Sequence[Pair]) -> float:
    """Share of the pairs whose two code sets are identical."""
    return sum(one == other for one, other in pairs) / len(pairs) if pairs else math.nan


def majority(writer: Codes, reading: Reading, codes: Iterable[str]) -> Codes:
    """The codes at least two of the three people gave; a code outside ``codes`` stays as the
    writer has it (the readers were only asked about these)."""
    voted = {
        code for code in codes if (code in writer) + sum(code in r for r in reading.codes) >= 2
    }
    return frozenset(voted | (writer - set(codes)))


def _reading(example: Example, readings: Mapping[str, Reading]) -> Reading:
    reading = readings.get(example.id)
    if reading is None:
        raise ValueError(f"{example.id} has no second reading")
    return reading


def measure(
    examples: Sequence[Example], readings: Mapping[str, Reading], codes: Sequence[str]
) -> Agreement:
    """Writer~reader and reader~reader agreement over ``examples``, and what the majority of
    three changes; every example must have its reading."""
    writer_reader: list[Pair] = []
    reader_reader: list[Pair] = []
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    changed = 0
    for example in examples:
        reading = _reading(example, readings)
        writer_reader += [(example.codes, read) for read in reading.codes]
        reader_reader.append(reading.codes)
        voted = majority(example.codes, reading, codes)
        added.update(voted - example.codes)
        removed.update(example.codes - voted)
        changed += voted != example.codes
    return Agreement(
        comments=len(examples),
        writer_reader={code: pair_f1(writer_reader, code) for code in codes},
        reader_reader={code: pair_f1(reader_reader, code) for code in codes},
        same_set_writer_reader=same_set(writer_reader),
        same_set_reader_reader=same_set(reader_reader),
        added=added,
        removed=removed,
        changed_comments=changed,
    )


def training_labels(
    examples: Sequence[Example],
    readings: Mapping[str, Reading] | None,
    source: LabelSource,
    codes: Sequence[str],
) -> list[Example]:
    """``examples`` labelled as ``source`` says (see ``LABEL_SOURCES``); ``writer`` needs no
    readings and returns them unchanged."""
    if source == "writer":
        return list(examples)
    if readings is None:
        raise ValueError(f"labels '{source}' need the second readings")
    result = []
    for example in examples:
        voted = majority(example.codes, _reading(example, readings), codes)
        if source == "majority":
            result.append(dataclasses.replace(example, codes=voted))
        elif voted == example.codes:
            result.append(example)
    return result


def format_agreement(agreement: Agreement, codes: Sequence[str]) -> list[str]:
    """The per-code table, the means and the same-set shares, as printed."""
    lines = [
        f"{agreement.comments} comments, each read by the writer and two readers",
        f"{'code':22} writer~reader  reader~reader  majority vs writer (+ / -)",
    ]
    for code in codes:
        lines.append(
            f"{code:22} {agreement.writer_reader[code]:13.2f}  "
            f"{agreement.reader_reader[code]:13.2f}  "
            f"+{agreement.added[code]} / -{agreement.removed[code]}"
        )
    changes = sum(agreement.added.values()) + sum(agreement.removed.values())
    lines += [
        f"{'mean':22} {mean(agreement.writer_reader.values()):13.3f}  "
        f"{mean(agreement.reader_reader.values()):13.3f}  "
        f"{agreement.changed_comments} comments, {changes} code changes",
        f"same code set: writer~reader {agreement.same_set_writer_reader:.2f}, "
        f"reader~reader {agreement.same_set_reader_reader:.2f}",
    ]
    return lines


def training_examples(data: Path) -> list[Example]:
    """The writer's labels of every training comment in ``data`` that was read twice."""
    # Imported here: train imports this module for ``--labels``.
    from winback_router.coding.train import READ_TWICE_SPLITS

    return [e for split in READ_TWICE_SPLITS for e in load_examples(data / f"{split}.jsonl")]


def main(argv: Sequence[str] | None = None) -> None:
    """Print the agreement table for the training comments in ``--data``."""
    parser = argparse.ArgumentParser(description="how far the writer and two readers agree")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the JSONL files")
    parser.add_argument("--taxonomy", type=Path, default=None, help="taxonomy TOML of the codes")
    args = parser.parse_args(argv)
    codes = [code.id for code in load_taxonomy(args.taxonomy).codes]
    readings = load_readings(args.data / READINGS_FILE)
    agreement = measure(training_examples(args.data), readings, codes)
    print("\n".join(format_agreement(agreement, codes)))


if __name__ == "__main__":
    main()
