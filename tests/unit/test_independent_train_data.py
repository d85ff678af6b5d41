"""The independent training comments: well formed, labelled from the taxonomy, and apart.

``independent-train.jsonl`` was written by a helper who never saw the rules, the model or the
other comment files. The model may learn from it, so a text it shares with an evaluation split
would leak into the figures: these checks keep it apart and keep every reason represented.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from winback_shared.taxonomy import load_taxonomy

DATA = Path(__file__).parents[1] / "data" / "comments"
TRAIN = DATA / "independent-train.jsonl"
CODES = {code.id for code in load_taxonomy().codes}
FIELDS = {"id", "text", "codes", "follow_up", "lang"}
MIN_ROWS = 800
MIN_PER_CODE = 40


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    lines = TRAIN.read_text(encoding="utf-8").splitlines()
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(row, dict) for row in parsed)
    return parsed


def test_every_line_has_exactly_the_fields_with_their_types(rows: list[dict[str, Any]]) -> None:
    assert len(rows) >= MIN_ROWS
    for row in rows:
        assert set(row) == FIELDS, row.get("id")
        assert re.fullmatch(r"w\d{4}", row["id"]), row["id"]
        assert isinstance(row["text"], str) and row["text"].strip() == row["text"] != ""
        assert isinstance(row["follow_up"], bool), row["id"]
        assert re.fullmatch(r"[a-z]{2}", row["lang"]), row["id"]
        assert isinstance(row["codes"], list) and len(set(row["codes"])) == len(row["codes"])


def test_codes_come_from_the_taxonomy_and_each_is_well_covered(
    rows: list[dict[str, Any]],
) -> None:
    per_code = Counter(code for row in rows for code in row["codes"])
    assert set(per_code) <= CODES, set(per_code) - CODES
    assert min(per_code[code] for code in CODES) >= MIN_PER_CODE, per_code


def test_ids_and_texts_are_unique(rows: list[dict[str, Any]]) -> None:
    assert len({row["id"] for row in rows}) == len(rows)
    assert len({row["text"].casefold() for row in rows}) == len(rows)


def test_no_id_or_text_is_shared_with_another_comments_file(rows: list[dict[str, Any]]) -> None:
    """A training text also in an evaluation split would make its figures dishonest."""
    ids: set[str] = set()
    texts: set[str] = set()
    for path in DATA.glob("*.jsonl"):
        if path != TRAIN:
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                ids.add(row["id"])
                texts.add(row["text"].casefold())
    assert not [row["id"] for row in rows if row["id"] in ids]
    assert not [row["id"] for row in rows if row["text"].casefold() in texts]


def test_the_mix_has_praise_several_reasons_other_languages_and_contact_requests(
    rows: list[dict[str, Any]],
) -> None:
    def share(matching: int) -> float:
        return matching / len(rows)

    assert 0.15 <= share(sum(1 for row in rows if not row["codes"])) <= 0.35
    assert share(sum(1 for row in rows if len(row["codes"]) > 1)) >= 0.15
    assert share(sum(1 for row in rows if row["lang"] != "en")) >= 0.15
    assert 0.05 <= share(sum(1 for row in rows if row["follow_up"])) <= 0.2
    assert any(row["follow_up"] and not row["codes"] for row in rows)
