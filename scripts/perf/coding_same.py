"""Whether two trees code every comment the same: codes, evidence, spans, follow-up, scores.

    .venv/bin/python scripts/perf/coding_same.py --compare /tmp/main-tree

A check for speed work on ``winback_router.coding`` (``docs/performance.md``, section 9): a
faster coder must give exactly the old results. It codes every labelled comment of
``tests/data/comments`` except the blind set's (``blind.jsonl`` is never opened), the bench's
long comment and ``router_drain.py``'s comments, each as a response with a rotating chosen
answer, in consumer-sized batches, with the rules alone, with the router's fast model and with
the full model, once with ``DIR``'s ``services/router`` and ``shared`` (a ``git archive`` of
another commit, in a child process) and once with this checkout's, and compares everything
each response's coding holds: every reason's fields (code, label, evidence, span, rule,
confidence, weight, similar comments), the reasons the model overruled, the folded words, and
the fast model's TF-IDF logits to the bit (batch by batch where the tree computes them so).
Prints what differs, if anything; exits 1 then.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[2]
DATA = HERE / "tests" / "data" / "comments"
NEVER_READ = "blind.jsonl"
NOT_COMMENTS = "second-readings.jsonl"
"""The second readings of the training comments: codes, no texts."""
ANSWERS = ["Long wait time", "Agent lacked product knowledge", "Something else entirely", ""]
BATCH = 100
EXTRA = [
    "I waited forty minutes on hold and nobody called me back",
    "The agent did not know the product and was rude",
    "Billing charged me twice and the refund never came",
    "Fine I guess",
    "",
    "n/a",
]
"""router_drain.py's short comments, and comments with nothing to code."""


def comments() -> list[tuple[str, str]]:
    """(id, text) of every comment to code; the blind set's file is skipped unopened."""
    from winback_local.bench.deliveries import COMMENT

    found: list[tuple[str, str]] = [("bench", COMMENT)]
    found += [(f"extra-{i}", text) for i, text in enumerate(EXTRA)]
    for path in sorted(DATA.glob("*.jsonl")):
        if path.name in (NEVER_READ, NOT_COMMENTS):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                found.append((f"{path.stem}:{row['id']}", row["text"]))
    return found


def dump() -> dict[str, Any]:
    """Every comment coded by the ``winback_router`` this interpreter imports."""
    from winback_router.coding.coder import code_responses_in_full
    from winback_router.coding.compiler import load_and_compile, reason_model
    from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL
    from winback_router.coding.rules import FoldedText
    from winback_shared.survey import Score, ScoreKind, SurveyResponse

    received = datetime(2026, 1, 1, tzinfo=UTC)
    texts = comments()
    responses = [
        SurveyResponse(
            response_id=key,
            comment=text,
            reasons=[ANSWERS[i % len(ANSWERS)]] if ANSWERS[i % len(ANSWERS)] else [],
            scores=[Score(kind=ScoreKind.NPS, value=i % 11)],
            source="same",
            vendor="generic",
            receipt_id=key,
            received_at=received,
        )
        for i, (key, text) in enumerate(texts)
    ]
    out: dict[str, Any] = {
        "words": {
            key: [[w.text, w.start, w.end, w.clause, w.sentence] for w in FoldedText.of(text).words]
            for key, text in texts
        }
    }
    for name, model in (("rules", None), ("fast", FAST_MODEL), ("full", DEFAULT_MODEL)):
        taxonomy = load_and_compile(model=model)
        coded: dict[str, Any] = {}
        for first in range(0, len(responses), BATCH):
            chunk = responses[first : first + BATCH]
            codings = code_responses_in_full(chunk, taxonomy)
            for response, coding in zip(chunk, codings, strict=True):
                coded[response.response_id] = {
                    "reasons": [r.model_dump(mode="json") for r in coding.reasons],
                    "overruled": [
                        [o.reason.model_dump(mode="json"), o.probability] for o in coding.overruled
                    ],
                }
        out[name] = coded
        learned = reason_model(taxonomy)
        if name == "fast" and learned is not None:
            out["logits"] = {
                key: [float(v).hex() for v in logits]
                for key, logits in zip(
                    (key for key, _ in texts), _logits(learned, [t for _, t in texts]), strict=True
                )
            }
    return out


def _logits(model: Any, texts: list[str]) -> list[Any]:
    """The fast model's TF-IDF logits of each text: in consumer-sized batches where the tree
    computes them a batch at a time (``text_logits_each``, section 33), so that batching is
    what is compared with an older tree's one by one; else one by one."""
    each = getattr(model, "text_logits_each", None)
    if each is None:
        return [model.text_logits(text) for text in texts]
    return [
        logits
        for first in range(0, len(texts), BATCH)
        for logits in each(texts[first : first + BATCH])
    ]


def run_child(paths: list[Path], target: Path) -> None:
    """Dump with ``paths`` first on the import path."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths if p.is_dir())}
    subprocess.run([sys.executable, __file__, "--dump", str(target)], env=env, check=True)


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """One line per response and part that differs."""
    lines = []
    for part in sorted(set(before) | set(after)):
        old, new = before.get(part, {}), after.get(part, {})
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                lines.append(f"{part} {key}: before {old.get(key)!r}\n    after {new.get(key)!r}")
    return lines


def main() -> None:
    """Dump (child) or compare two trees (parent)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="a git archive of the other commit")
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dump:
        args.dump.write_text(json.dumps(dump()))
        return
    if args.compare is None:
        parser.error("--compare DIR is required")
    other = args.compare.resolve()
    with tempfile.TemporaryDirectory() as folder:
        before_file, after_file = Path(folder) / "before.json", Path(folder) / "after.json"
        run_child([other / "services" / "router", other / "shared"], before_file)
        run_child([HERE / "services" / "router", HERE / "shared"], after_file)
        before, after = json.loads(before_file.read_text()), json.loads(after_file.read_text())
    found = differences(before, after)
    counted = {part: len(before.get(part, {})) for part in ("words", "rules", "fast", "full")}
    reasons = sum(
        len(c["reasons"]) for part in ("rules", "fast", "full") for c in after[part].values()
    )
    print(
        f"compared {counted['words']} comments: folded words, logits, and codings with the rules "
        f"alone, the fast model and the full model ({reasons} reasons in all)"
    )
    for line in found[:20]:
        print(line)
    print(f"{len(found)} differences" if found else "identical")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
