"""Agreement between the writer and two second readers, and the training labels built from it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from winback_router.coding import agreement, train
from winback_router.coding.agreement import Reading, majority, measure, pair_f1, training_labels
from winback_router.coding.evaluate import DEFAULT_DATA, Example, load_examples
from winback_shared.taxonomy import load_taxonomy

CODES = ("long_wait", "rude", "repeat_contact")


def reading(id_: str, first: set[str], second: set[str]) -> Reading:
    return Reading(id_, ("r1", "r2"), (frozenset(first), frozenset(second)))


def example(id_: str, codes: set[str], follow_up: bool | None = None) -> Example:
    return Example(id_, f"text of {id_}", frozenset(codes), follow_up)


def test_pair_f1_counts_each_side_s_codes_symmetrically() -> None:
    pairs = [
        (frozenset({"rude"}), frozenset({"rude"})),
        (frozenset({"rude"}), frozenset()),
        (frozenset({"long_wait"}), frozenset({"rude", "long_wait"})),
    ]
    # rude: given together once, four givings in all -> 2 * 1 / 4.
    assert pair_f1(pairs, "rude") == 0.5
    assert pair_f1(pairs, "long_wait") == 1.0
    assert pair_f1([(b, a) for a, b in pairs], "rude") == 0.5
    assert math.isnan(pair_f1(pairs, "repeat_contact"))


def test_pair_f1_is_the_usual_f1_taking_either_side_as_the_truth() -> None:
    # truth {a} x3, guess hits 2, misses 1, one false alarm: P 2/3, R 2/3, F1 2/3.
    truth = [{"rude"}, {"rude"}, {"rude"}, set()]
    guess = [{"rude"}, {"rude"}, set(), {"rude"}]
    pairs = [(frozenset(t), frozenset(g)) for t, g in zip(truth, guess, strict=True)]
    assert pair_f1(pairs, "rude") == pytest.approx(2 / 3)


def test_mean_leaves_out_codes_nobody_gave_and_same_set_compares_whole_sets() -> None:
    assert agreement.mean([1.0, 0.5, math.nan]) == 0.75
    assert math.isnan(agreement.mean([math.nan]))
    pairs = [(frozenset({"rude"}), frozenset({"rude"})), (frozenset(), frozenset({"rude"}))]
    assert agreement.same_set(pairs) == 0.5


def test_majority_keeps_what_two_of_three_gave_and_codes_the_readers_were_not_asked() -> None:
    assert majority(frozenset({"rude"}), reading("c", set(), set()), CODES) == frozenset()
    assert majority(frozenset(), reading("c", {"rude"}, {"rude"}), CODES) == {"rude"}
    assert majority(frozenset({"rude"}), reading("c", {"rude"}, set()), CODES) == {"rude"}
    assert majority(
        frozenset({"long_wait", "not_asked"}), reading("c", {"repeat_contact"}, set()), CODES
    ) == {"not_asked"}


def small() -> tuple[list[Example], dict[str, Reading]]:
    examples = [
        example("a", {"long_wait"}, follow_up=True),  # everyone agrees
        example("b", {"repeat_contact"}),  # both readers: rude instead
        example("c", {"rude"}),  # one reader adds repeat_contact: no majority
        example("d", set()),  # both readers add repeat_contact
    ]
    readings = {
        "a": reading("a", {"long_wait"}, {"long_wait"}),
        "b": reading("b", {"rude"}, {"rude"}),
        "c": reading("c", {"rude", "repeat_contact"}, {"rude"}),
        "d": reading("d", {"repeat_contact"}, {"repeat_contact"}),
    }
    return examples, readings


def test_measure_gives_known_f1_same_sets_and_majority_changes() -> None:
    examples, readings = small()
    found = measure(examples, readings, CODES)
    assert found.comments == 4
    assert found.writer_reader == {
        "long_wait": 1.0,
        "rude": pytest.approx(2 / 3),
        "repeat_contact": 0.0,
    }
    # readers: rude 3 pairs both; repeat_contact once together (d), once alone (c): 2*1/3.
    assert found.reader_reader == {
        "long_wait": 1.0,
        "rude": 1.0,
        "repeat_contact": pytest.approx(2 / 3),
    }
    assert found.same_set_writer_reader == 3 / 8
    assert found.same_set_reader_reader == 3 / 4
    assert found.added == {"rude": 1, "repeat_contact": 1}
    assert found.removed == {"repeat_contact": 1}
    assert found.changed_comments == 2
    lines = agreement.format_agreement(found, CODES)
    assert lines[0].startswith("4 comments")
    assert any(line.startswith("repeat_contact") and "+1 / -1" in line for line in lines)
    assert "2 comments, 3 code changes" in lines[-2]


def test_writer_labels_are_today_s_and_need_no_readings() -> None:
    examples, _ = small()
    assert training_labels(examples, None, "writer", CODES) == examples


def test_majority_labels_replace_only_the_codes() -> None:
    examples, readings = small()
    voted = training_labels(examples, readings, "majority", CODES)
    assert [(e.id, set(e.codes)) for e in voted] == [
        ("a", {"long_wait"}), ("b", {"rude"}), ("c", {"rude"}), ("d", {"repeat_contact"}),
    ]  # fmt: skip
    assert [(e.text, e.follow_up) for e in voted] == [(e.text, e.follow_up) for e in examples]


def test_agreed_labels_leave_out_the_comments_whose_majority_differs() -> None:
    examples, readings = small()
    assert training_labels(examples, readings, "agreed", CODES) == [examples[0], examples[2]]


def test_a_comment_without_its_reading_is_an_error_not_a_silent_writer_label() -> None:
    examples, readings = small()
    del readings["c"]
    for source in ("majority", "agreed"):
        with pytest.raises(ValueError, match="c has no second reading"):
            training_labels(examples, readings, source, CODES)
    with pytest.raises(ValueError, match="need the second readings"):
        training_labels(examples, None, "majority", CODES)


def write_readings(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_load_readings_wants_two_readings_per_comment_once(tmp_path: Path) -> None:
    good = {"id": "c1", "readers": ["r1", "r2"], "codes": [["rude"], []]}
    read = agreement.load_readings(write_readings(tmp_path / "ok.jsonl", [good]))
    assert read == {"c1": Reading("c1", ("r1", "r2"), (frozenset({"rude"}), frozenset()))}
    three = {**good, "readers": ["r1", "r2", "r3"], "codes": [[], [], []]}
    with pytest.raises(ValueError, match="exactly two"):
        agreement.load_readings(write_readings(tmp_path / "three.jsonl", [three]))
    with pytest.raises(ValueError, match="c1 is read twice"):
        agreement.load_readings(write_readings(tmp_path / "twice.jsonl", [good, good]))


def test_every_comment_of_the_files_read_twice_has_two_readings_of_taxonomy_codes() -> None:
    readings = agreement.load_readings(DEFAULT_DATA / agreement.READINGS_FILE)
    ids = [
        e.id
        for split in train.READ_TWICE_SPLITS
        for e in load_examples(DEFAULT_DATA / f"{split}.jsonl")
    ]
    assert len(ids) == len(set(ids)) == len(readings) == 4082
    assert set(ids) == set(readings)
    codes = {code.id for code in load_taxonomy().codes}
    for one in readings.values():
        assert one.readers[0] != one.readers[1], one.id
        assert one.codes[0] | one.codes[1] <= codes, one.id


def test_the_command_prints_the_figures_the_readme_quotes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    agreement.main([])
    out = capsys.readouterr().out
    assert "4082 comments" in out
    assert "259 comments, 270 code changes" in out
    assert "same code set: writer~reader 0.92, reader~reader 0.96" in out
    mean = next(line for line in out.splitlines() if line.startswith("mean"))
    assert mean.split()[1:3] == ["0.965", "0.982"]
    repeat = next(line for line in out.splitlines() if line.startswith("repeat_contact"))
    assert repeat.split()[1:] == ["0.90", "0.95", "+16", "/", "-47"]


UNREAD = next(split for split in train.TRAINING_SPLITS if split not in train.READ_TWICE_SPLITS)
"""A training file nobody read a second time: its writer's labels are learnt whatever
``--labels`` says (a reading given for it below must change nothing)."""


class Loaded(Exception):
    """Stops ``train.main`` once the training labels are built."""


def loaded_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, labels: str
) -> list[tuple[str, frozenset[str]]]:
    """Run ``train --labels`` over small files, one comment per training split, and return the
    labels it would learn."""
    rows = {
        "dev": ("d1", "I waited on hold for an hour.", ["long_wait"], ["long_wait"], ["long_wait"]),
        "independent-dev": ("d2", "Third call about it.", ["repeat_contact"], ["rude"], ["rude"]),
        UNREAD: ("n9", "He was curt with me.", ["rude"], [], []),
    }
    for index, split in enumerate(train.TRAINING_SPLITS):
        id_, text, writer, first, second = rows.get(split, (f"x{index}", "n/a", [], [], []))
        comment = {"id": id_, "text": text, "codes": writer}
        (tmp_path / f"{split}.jsonl").write_text(json.dumps(comment) + "\n", encoding="utf-8")
        rows[split] = (id_, text, writer, first, second)
    write_readings(
        tmp_path / agreement.READINGS_FILE,
        [{"id": r[0], "readers": ["r1", "r2"], "codes": [r[3], r[4]]} for r in rows.values()],
    )

    def stop(examples: Sequence[Example], codes: Sequence[str]) -> None:
        raise Loaded([(e.id, e.codes) for e in examples])

    monkeypatch.setattr(train, "label_matrix", stop)
    with pytest.raises(Loaded) as caught:
        train.main(["--data", str(tmp_path), "--labels", labels, "--vector-scale", "0"])
    result: list[tuple[str, frozenset[str]]] = caught.value.args[0]
    return result


def test_train_learns_the_writer_s_labels_by_default_and_as_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learnt = loaded_labels(tmp_path, monkeypatch, "writer")
    assert learnt[:2] == [("d1", frozenset({"long_wait"})), ("d2", frozenset({"repeat_contact"}))]
    assert len(learnt) == len(train.TRAINING_SPLITS)


def test_train_labels_majority_learns_the_majority_of_three(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learnt = loaded_labels(tmp_path, monkeypatch, "majority")
    assert learnt[:2] == [("d1", frozenset({"long_wait"})), ("d2", frozenset({"rude"}))]
    assert dict(learnt)["n9"] == frozenset({"rude"})
    assert len(learnt) == len(train.TRAINING_SPLITS)


def test_train_labels_agreed_leaves_out_the_comment_people_disagree_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    learnt = loaded_labels(tmp_path, monkeypatch, "agreed")
    assert [id_ for id_, _ in learnt][:1] == ["d1"] and "d2" not in dict(learnt)
    assert dict(learnt)["n9"] == frozenset({"rude"})
    assert len(learnt) == len(train.TRAINING_SPLITS) - 1
