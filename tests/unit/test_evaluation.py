"""The labelled comments, the scoring arithmetic, and the quality floor on held-out comments."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import pytest

from winback_router.coding import bench as bench_coding
from winback_router.coding import evaluate
from winback_router.coding.agreement import READINGS_FILE
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.evaluate import Example, load_examples, predictor, score
from winback_shared.taxonomy import ASKS_CONTACT

DATA = Path(__file__).parents[1] / "data" / "comments"
TAXONOMY = load_and_compile()
"""As responses end up coded: rules and the full learned model (the refiner's; the router codes
with the fast one first)."""
CODES = [code.id for code in TAXONOMY.codes]
TARGET_MACRO_F1 = 0.85
BLIND_FLOOR = 0.90
"""The issue's target. Rules + model measured 0.912 on the blind set on December 4, 16:20 UTC
(re-trained with ``independent-train-9`` to ``-11``, 7,320 comments; 0.905 with ``-9`` and
``-10``; 0.897 on December 1, afternoon, with the nearest comments' vote, 0.888 without it,
0.886 at 07:22 UTC, 0.876 at 01:27, 0.864 on November 30; rules alone 0.678 in November)."""
INDEPENDENT_FLOOR = 0.88
"""Rules + model measured 0.890 on the independent held-out comments on December 4 (0.882 at
14:58 UTC, 0.873 on December 1, afternoon, 0.861 at 07:20 UTC, 0.845 at 04:23, 0.839 at 01:27,
0.822 on November 30)."""
EVAL_9_FLOOR = 0.795
"""Rules + model measured 0.807 on ``independent-eval-9`` on December 4 (0.796 at 14:58 UTC,
0.762 with the model before, which had not learnt the ninth to eleventh training files)."""


def test_the_labelled_set_is_big_varied_and_split_once() -> None:
    dev = load_examples(DATA / "dev.jsonl")
    heldout = load_examples(DATA / "heldout.jsonl")
    everything = dev + heldout
    assert len(everything) >= 300
    assert len({e.id for e in everything}) == len(everything)
    assert len({e.text for e in everything}) == len(everything)
    assert {code for e in everything for code in e.codes} == set(CODES)
    per_code = Counter(code for e in heldout for code in e.codes)
    assert min(per_code[code] for code in CODES) >= 4, per_code
    assert sum(1 for e in heldout if not e.codes) >= 10
    assert sum(1 for e in heldout if len(e.codes) > 1) >= 5


def test_every_line_is_a_well_formed_record() -> None:
    for path in (DATA / f"{split}.jsonl" for split in evaluate.SPLITS):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            assert {"id", "text", "codes"} <= set(row), path
            assert set(row) <= {"id", "text", "codes", "follow_up", "lang", "register"}, path
            assert row["text"].strip() and len(set(row["codes"])) == len(row["codes"])
            assert set(row["codes"]) <= set(CODES), path
            assert isinstance(row.get("follow_up", False), bool), path


def test_every_file_is_a_known_split_and_no_comment_is_in_two() -> None:
    """Beside them only the second readings of the training comments (not comments)."""
    files = sorted(path.stem for path in DATA.glob("*.jsonl") if path.name != READINGS_FILE)
    assert files == sorted(evaluate.SPLITS)
    everything = [e for split in evaluate.SPLITS for e in load_examples(DATA / f"{split}.jsonl")]
    assert len(everything) >= 1000
    assert len({e.id for e in everything}) == len(everything)
    assert len({e.text.casefold() for e in everything}) == len(everything)


def test_the_blind_set_is_never_listed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        evaluate.main(["--split", "blind", "--errors"])
    assert "never listed" in capsys.readouterr().err


def first_lines_of_each_split(folder: Path, splits: Iterable[str], lines: int = 24) -> Path:
    """A copy of the labelled files cut to their first ``lines`` comments, in ``folder``.

    The summary and the coding bench run the same code on 24 comments a split as on all of
    them (3,700, coded by the full model: a minute and more in CI); the quality floors below
    still score every comment. The cut keeps what the summary test reads: the blind set and
    the files written apart label follow-up on every line, ``dev`` and ``heldout`` on none.
    """
    for split in splits:
        kept = (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:lines]
        (folder / f"{split}.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return folder


def test_summary_has_a_line_per_split_with_follow_up_where_labelled(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = first_lines_of_each_split(tmp_path, evaluate.SPLITS)
    evaluate.main(["--split", "all", "--data", str(data)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == list(evaluate.SUMMARY_SPLITS)
    assert "not labelled" in lines[1] and "not labelled" not in lines[-1]


def test_the_summary_never_opens_the_blind_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--split all`` must not spend one of the blind set's few readings: a blind file that
    cannot be parsed shows it is never read, and only ``--split blind`` scores it."""
    assert evaluate.BLIND in evaluate.SPLITS and evaluate.BLIND not in evaluate.SUMMARY_SPLITS
    (tmp_path / "dev.jsonl").write_text((DATA / "dev.jsonl").read_text(encoding="utf-8"))
    (tmp_path / "blind.jsonl").write_text("not json\n")
    evaluate.main(["--split", "all", "--no-model", "--data", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["dev"]
    with pytest.raises(json.JSONDecodeError):
        evaluate.main(["--split", "blind", "--no-model", "--data", str(tmp_path)])


def test_coding_holds_its_floor_on_comments_written_apart_from_the_rules() -> None:
    """The blind set at the issue's 0.90, and floors under today's figures on two more files
    written apart, so a rule change that loses ground on text nobody tuned for fails here, not
    in production."""
    for split, floor in (
        ("blind", BLIND_FLOOR),
        ("independent-heldout", INDEPENDENT_FLOOR),
        ("independent-eval-9", EVAL_9_FLOOR),
    ):
        examples = load_examples(DATA / f"{split}.jsonl")
        predict = predictor(TAXONOMY)
        report = score(examples, [predict(e.text) for e in examples], CODES)
        assert report.macro_f1 >= floor, split


def test_asks_to_be_contacted_is_found_on_comments_written_apart() -> None:
    examples = load_examples(DATA / "independent-heldout.jsonl")
    found = [ASKS_CONTACT in evaluate.coded(TAXONOMY, e.text) for e in examples]
    follow = evaluate.follow_up_score(examples, found)
    assert follow is not None and follow.support >= 15
    assert follow.precision >= 0.85 and follow.recall >= 0.85


def test_scores_count_per_code_and_average_over_codes_with_labels() -> None:
    examples = [
        Example("1", "a", frozenset({"x"})),
        Example("2", "b", frozenset({"x", "y"})),
        Example("3", "c", frozenset()),
        Example("4", "d", frozenset({"y"})),
    ]
    predictions = [{"x"}, {"x"}, {"y"}, set()]
    report = score(examples, predictions, ["x", "y", "z"])
    x, y, z = report.codes
    assert (x.precision, x.recall, x.f1) == (1.0, 1.0, 1.0)
    assert (y.true_positives, y.false_positives, y.false_negatives) == (0, 1, 2)
    assert y.f1 == 0.0 and z.support == 0
    assert report.macro_f1 == 0.5  # z has no labels, so it does not dilute the mean
    assert (report.no_code.true_positives, report.no_code.false_positives) == (0, 1)


def test_rules_reach_the_target_on_held_out_comments() -> None:
    heldout = load_examples(DATA / "heldout.jsonl")
    predict = predictor(TAXONOMY)
    report = score(heldout, [predict(e.text) for e in heldout], CODES)
    assert report.macro_f1 >= TARGET_MACRO_F1
    assert report.no_code.precision >= 0.8  # a comment about nothing known is rarely guessed


def test_evaluate_prints_a_table_with_the_macro_f1(capsys: pytest.CaptureFixture[str]) -> None:
    evaluate.main(["--split", "dev", "--errors", "--no-model"])
    out = capsys.readouterr().out
    assert out.startswith("rules alone, dev: ")
    evaluate.main(["--split", "heldout"])
    assert capsys.readouterr().out.startswith("rules + model, heldout: ")
    assert "macro-F1 " in out and "(no code)" in out
    for code in CODES:
        assert f"\n{code} " in out


def test_bench_prints_responses_per_second(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = first_lines_of_each_split(tmp_path, bench_coding.SAMPLE_SPLITS)
    bench_coding.main(["--rounds", "1", "--data", str(data)])
    out = capsys.readouterr().out
    assert "responses/s" in out and "p99" in out
