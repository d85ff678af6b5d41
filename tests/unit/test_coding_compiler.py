"""The router's rule compiler: keywords as folded pieces, errors naming the code, built once."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tests.taxonomy_support import code, write
from winback_router.app import create_app
from winback_router.coding import compiler
from winback_router.coding.compiler import (
    RuleError,
    compile_keyword,
    compiled_rules,
    load_and_compile,
)
from winback_router.settings import RouterSettings
from winback_shared.taxonomy import TaxonomyError, load_taxonomy


def test_keywords_compile_to_folded_pieces() -> None:
    assert compile_keyword("Didn't re-explain*") == ("did", "not", "re", "explain*")
    assert compile_keyword("promised ... call* back") == ("promised", "...", "call*", "back")


def test_every_default_code_has_rules_keywords_then_patterns_in_taxonomy_order() -> None:
    taxonomy = load_taxonomy()
    rules = compiled_rules(taxonomy).rules
    assert list(dict.fromkeys(rule.code for rule in rules)) == [c.id for c in taxonomy.codes]
    for each in taxonomy.codes:
        own = [(rule.kind, rule.source) for rule in rules if rule.code == each.id]
        expected = [("keyword", k) for k in each.keywords] + [("pattern", p) for p in each.patterns]
        assert own == expected, each.id
    assert compiled_rules(taxonomy).patterns == tuple(r for r in rules if r.kind == "pattern")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("keywords=['!!']", r"codes\[0\] \(a_code\)\.keywords\[0\]: keyword '!!'"),
        ("keywords=['... on hold']", "must start and end with a word"),
        ("keywords=['on*']", "too short to end with"),
    ],
)
def test_keyword_errors_say_which_code_and_what(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(TaxonomyError, match=message):
        load_and_compile(write(tmp_path, code(extra)))


def test_every_bad_keyword_is_listed_on_its_own_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        code("keywords=['fine', '!!']") + code("keywords=['on*']", id_="b_code", label="B"),
    )
    with pytest.raises(TaxonomyError) as caught:
        load_and_compile(path)
    assert str(caught.value).splitlines() == [
        f"invalid taxonomy {path}:",
        "  codes[0] (a_code).keywords[1]: keyword '!!': '!!' has no letters or digits",
        "  codes[1] (b_code).keywords[0]: keyword 'on*': 'on*' is too short to end with *",
    ]


def test_the_shared_loader_leaves_keywords_to_the_router(tmp_path: Path) -> None:
    """The notifier reads labels only: a keyword the router cannot compile is not its concern."""
    taxonomy = load_taxonomy(write(tmp_path, code("keywords=['... hold']")))
    with pytest.raises(RuleError, match="must start and end"):
        compiled_rules(taxonomy)


def test_the_router_refuses_to_start_on_a_keyword_that_does_not_compile(tmp_path: Path) -> None:
    path = write(tmp_path, code("keywords=['... hold']"))
    with pytest.raises(
        TaxonomyError, match=r"codes\[0\] \(a_code\)\.keywords\[0\]: .*must start and end"
    ):
        create_app(RouterSettings(taxonomy_path=path))


def test_rules_are_compiled_once_per_taxonomy_and_forgotten_with_it(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write(tmp_path, code("keywords=['on hold']")))
    first = compiled_rules(taxonomy)
    assert compiled_rules(taxonomy) is first
    equal_copy = load_taxonomy(write(tmp_path, code("keywords=['on hold']")))
    assert compiled_rules(equal_copy) is not first
    key = id(taxonomy)
    assert key in compiler._compiled
    del taxonomy
    gc.collect()
    assert key not in compiler._compiled
