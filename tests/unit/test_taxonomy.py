"""The taxonomy file: what it must contain, how it folds text, and the errors it reports.

Compiling keywords and patterns for matching is the router's: see ``test_coding_compiler.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.taxonomy_support import code, write
from winback_shared.folding import split_words
from winback_shared.taxonomy import TaxonomyError, load_taxonomy, normalise_label

ISSUE_CODES = {
    "product_knowledge",
    "long_wait",
    "transferred",
    "repeat_contact",
    "re_explain",
    "channel_switch",
    "no_human",
    "slow_response",
    "rude",
    "broken_promise",
    "billing_error",
    "lost_paperwork",
    "product_defect",
    "delivery_problem",
    "policy_inflexibility",
    "price_value",
}


def test_default_taxonomy_has_every_code_the_business_asked_for() -> None:
    taxonomy = load_taxonomy()
    assert {code.id for code in taxonomy.codes} == ISSUE_CODES
    for each in taxonomy.codes:
        assert each.label and each.description and each.synonyms, each.id
        assert each.keywords or each.patterns, each.id


@pytest.mark.parametrize(
    "label",
    ["Agent lacked product knowledge", "  AGENT LACKED PRODUCT-KNOWLEDGE!! ", "Product knowledge"],
)
def test_labels_match_ignoring_case_and_punctuation(label: str) -> None:
    code = load_taxonomy().match_label(label)
    assert code is not None and code.id == "product_knowledge"


def test_accents_are_ignored() -> None:
    assert normalise_label("Délai d'attente — trop long") == "delai d attente trop long"
    code = load_taxonomy().match_label("TEMPS D\u2019ATTENTE")
    assert code is not None and code.id == "long_wait"


def test_contractions_read_as_their_negation_with_or_without_apostrophe() -> None:
    assert normalise_label("I didn't, he can't, she wont") == "i did not he can not she will not"
    assert normalise_label("dont") == "do not"
    assert normalise_label("parent") == "parent"


def test_words_keep_their_offsets_and_clauses() -> None:
    text = "No, the wait wasn't long."
    words = split_words(text)
    assert [(w.text, w.clause) for w in words] == [
        ("no", 0),
        ("the", 1),
        ("wait", 1),
        ("was", 1),
        ("not", 1),
        ("long", 1),
    ]
    assert text[words[3].start : words[3].end] == "wasn't"


def test_duplicate_code_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, code(id_="rude", label="A") + code(id_="rude", label="B"))
    with pytest.raises(TaxonomyError, match="duplicate code ids: rude"):
        load_taxonomy(path)


def test_a_synonym_claimed_by_two_codes_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        code('synonyms=["slow"]', id_="a_code", label="A")
        + code('synonyms=["Slow!"]', id_="b_code", label="B"),
    )
    with pytest.raises(TaxonomyError, match="maps to both a_code and b_code"):
        load_taxonomy(path)


def test_reserved_and_malformed_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="reserved"):
        load_taxonomy(write(tmp_path, code(id_="unclassified")))
    with pytest.raises(TaxonomyError, match="pattern"):
        load_taxonomy(write(tmp_path, code(id_="Bad Id")))


def test_unreadable_file_names_itself(tmp_path: Path) -> None:
    path = write(tmp_path, "[[codes]\n")
    with pytest.raises(TaxonomyError, match=f"cannot read taxonomy {path}"):
        load_taxonomy(path)


def test_missing_file_is_a_taxonomy_error(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read taxonomy"):
        load_taxonomy(tmp_path / "absent.toml")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("patterns=['on (hold']", r"pattern 'on \(hold' is not a valid regex"),
        ("patterns=['(?P<x>hold)']", "instead of named groups"),
        ("patterns=['x*']", "matches empty text"),
        ("synonym=['x']", r"codes\[0\] \(a_code\)\.synonym: Extra inputs are not permitted"),
        ("weight=0", "greater than 0"),
        ("weight=11", "less than or equal to 10"),
    ],
)
def test_rule_errors_say_which_code_and_what(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(TaxonomyError, match=message):
        load_taxonomy(write(tmp_path, code(extra)))


def test_every_problem_is_listed_on_its_own_line(tmp_path: Path) -> None:
    boost = '[[boosts]]\ncode="a_code"\nfactor=0\nstarts=2026-01-01\nends=2026-02-01\n'
    path = write(tmp_path, code() + code(id_="Bad Id", label="B") + boost)
    with pytest.raises(TaxonomyError) as caught:
        load_taxonomy(path)
    assert str(caught.value).splitlines() == [
        f"invalid taxonomy {path}:",
        "  codes[1] (Bad Id).id: String should match pattern '^[a-z][a-z0-9_]{1,48}$'",
        "  boosts[0] (a_code).factor: Input should be greater than 0",
    ]


def test_a_boost_must_name_a_known_code(tmp_path: Path) -> None:
    boost = '[[boosts]]\ncode="b_code"\nfactor=2\nstarts=2026-01-01\nends=2026-02-01\n'
    with pytest.raises(TaxonomyError, match="boosts name unknown codes: b_code"):
        load_taxonomy(write(tmp_path, code() + boost))


def test_a_boost_must_end_after_it_starts(tmp_path: Path) -> None:
    boost = '[[boosts]]\ncode="a_code"\nfactor=2\nstarts=2026-02-01\nends=2026-01-01\n'
    with pytest.raises(TaxonomyError, match="is not after"):
        load_taxonomy(write(tmp_path, code() + boost))


def test_boosts_apply_within_their_window_and_multiply(tmp_path: Path) -> None:
    boosts = (
        '[[boosts]]\ncode="a_code"\nfactor=2\nstarts=2026-11-01\nends=2027-01-01\n'
        '[[boosts]]\ncode="a_code"\nfactor=1.5\nstarts=2026-12-01T09:00:00\nends=2026-12-02\n'
    )
    taxonomy = load_taxonomy(write(tmp_path, code("weight=1.2") + boosts))

    def weight(moment: datetime) -> float:
        return round(taxonomy.weight_at("a_code", moment), 6)

    assert weight(datetime(2026, 10, 31, 23, 59, tzinfo=UTC)) == 1.2
    assert weight(datetime(2026, 11, 1, tzinfo=UTC)) == 2.4  # a date starts at 00:00 UTC
    assert weight(datetime(2026, 12, 1, 9, 0)) == 3.6  # naive datetimes are UTC; boosts multiply
    assert weight(datetime(2027, 1, 1, tzinfo=UTC)) == 1.2  # the end is exclusive
    assert taxonomy.boosts[0].starts == datetime.combine(
        date(2026, 11, 1), datetime.min.time(), UTC
    )


def test_default_taxonomy_round_trips_through_a_file(tmp_path: Path) -> None:
    shipped = Path(__file__).parents[2] / "shared" / "winback_shared" / "default_taxonomy.toml"
    copy = write(tmp_path, shipped.read_text(encoding="utf-8"))
    assert load_taxonomy(copy) == load_taxonomy()
