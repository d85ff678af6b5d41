"""Taxonomy validation and chosen-answer coding."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from winback_router.coding import code_chosen_reasons
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import TaxonomyError, load_taxonomy, normalise_label


def test_default_taxonomy_loads_with_codes() -> None:
    taxonomy = load_taxonomy()
    assert {"product_knowledge", "long_wait", "billing_error"} <= {c.id for c in taxonomy.codes}


@pytest.mark.parametrize(
    "label",
    ["Agent lacked product knowledge", "  AGENT LACKED PRODUCT-KNOWLEDGE!! ", "Product knowledge"],
)
def test_labels_match_ignoring_case_and_punctuation(label: str) -> None:
    code = load_taxonomy().match_label(label)
    assert code is not None and code.id == "product_knowledge"


def test_accents_are_ignored() -> None:
    assert normalise_label("Délai d'attente — trop long") == "delai d attente trop long"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taxonomy.toml"
    path.write_text(text)
    return path


def test_duplicate_code_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[[codes]]\nid="rude"\nlabel="A"\n[[codes]]\nid="rude"\nlabel="B"\n')
    with pytest.raises(TaxonomyError, match="duplicate code ids: rude"):
        load_taxonomy(path)


def test_a_synonym_claimed_by_two_codes_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[codes]]\nid="a_code"\nlabel="A"\nsynonyms=["slow"]\n'
        '[[codes]]\nid="b_code"\nlabel="B"\nsynonyms=["Slow!"]\n',
    )
    with pytest.raises(TaxonomyError, match="maps to both a_code and b_code"):
        load_taxonomy(path)


def test_reserved_and_malformed_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="reserved"):
        load_taxonomy(write(tmp_path, '[[codes]]\nid="unclassified"\nlabel="X"\n'))
    with pytest.raises(TaxonomyError, match="pattern"):
        load_taxonomy(write(tmp_path, '[[codes]]\nid="Bad Id"\nlabel="X"\n'))


def test_unreadable_file_names_itself(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="cannot read taxonomy"):
        load_taxonomy(write(tmp_path, "[[codes]\n"))


def test_chosen_reasons_are_coded_with_evidence_and_unknowns_kept() -> None:
    survey = SurveyResponse(
        response_id="r",
        reasons=["Long wait time", "long wait", "The weather"],
        source="s",
        vendor="generic",
        receipt_id="x",
        received_at=datetime.now(UTC),
    )
    coded = code_chosen_reasons(survey, load_taxonomy())
    assert [(r.code, r.evidence, r.method) for r in coded] == [
        ("long_wait", "Long wait time", "chosen_answer"),
        ("unclassified", "The weather", "no_match"),
    ]
