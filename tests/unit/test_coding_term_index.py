"""A vocabulary in a trie (``coding/term_index.py``): a dictionary's answers, in feature order,
in a fraction of its memory; the full model holds its vocabularies so, the router's fast model
keeps dictionaries."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL, ReasonModel, load_model
from winback_router.coding.term_index import TermIndex

TERMS = ["ab", "a", " wait", "wait ti", "délai", "待ち時間", "refund never", "", "b"]


def test_it_answers_as_the_dictionary_built_in_the_same_order() -> None:
    index = TermIndex(TERMS, offset=7)
    plain = {term: position + 7 for position, term in enumerate(TERMS)}
    assert dict(index) == plain
    assert list(index) == TERMS  # feature order, not the trie's
    assert list(index.values()) == list(plain.values())
    assert 7 in index.values() and 15 in index.values() and 16 not in index.values()
    assert len(index) == len(TERMS)
    for term in [*TERMS, "abc", "wait", "c", "délais"]:
        assert index.get(term) == plain.get(term)
        assert index.get(term, -1) == plain.get(term, -1)
        assert (term in index) == (term in plain)
    with pytest.raises(KeyError):
        index["abc"]


# what a model file can hold: UTF-8 without NUL (its separator)
NO_NUL = st.text(st.characters(exclude_characters="\0", exclude_categories=["Cs"]), max_size=6)


@given(st.lists(NO_NUL, unique=True, max_size=40), st.integers(0, 1_000))
def test_any_distinct_terms_are_indexed_as_a_dictionary_indexes_them(
    terms: list[str], offset: int
) -> None:
    index = TermIndex(terms, offset)
    assert list(index.items()) == [(term, position + offset) for position, term in enumerate(terms)]
    assert list(index.values()) == [position + offset for position in range(len(terms))]


def test_repeated_terms_and_terms_with_nul_are_refused() -> None:
    with pytest.raises(ValueError, match="distinct"):
        TermIndex(["a", "b", "a"])
    with pytest.raises(ValueError, match="NUL"):
        TermIndex(["a", "b\0c"])


def test_a_term_with_nul_is_never_found_even_where_what_precedes_it_is() -> None:
    # marisa alone finds "a\0b" as "a": a comment's n-gram with a NUL would count as another
    index = TermIndex(["", "a", "ab"])
    for term in ["a\0", "a\0b", "\0", "ab\0", "\ud800", "a\udfff"]:  # and lone surrogates
        assert index.get(term) is None
        assert term not in index
        with pytest.raises(KeyError):
            index[term]


def test_the_full_model_holds_its_vocabularies_in_tries_and_the_fast_one_in_dictionaries() -> None:
    full, fast = load_model(DEFAULT_MODEL), load_model(FAST_MODEL)
    assert full.reads_vectors and not fast.reads_vectors
    assert isinstance(full.chars.index, TermIndex) and isinstance(full.words.index, TermIndex)
    assert type(fast.chars.index) is dict and type(fast.words.index) is dict
    # the same files' terms, either way
    assert list(full.chars.index) == list(fast.chars.index)
    assert list(full.words.index.items()) == list(fast.words.index.items())


def test_the_shipped_vocabulary_takes_a_tenth_of_the_dictionarys_memory_or_less() -> None:
    terms = list(load_model(FAST_MODEL).chars.index)

    def kept(build: type[dict[str, int]] | type[TermIndex]) -> int:
        tracemalloc.start()
        try:
            if build is TermIndex:
                built: object = TermIndex(terms)
            else:
                built = {term: position for position, term in enumerate(terms)}
            size, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert built
        return size

    # The strings are the caller's here (a load frees them after either); the trie's own
    # memory is C++'s, outside tracemalloc, so it is bounded by its serialised size.
    assert kept(TermIndex) * 10 < kept(dict)
    assert len(TermIndex(terms)._trie.tobytes()) < 1_000_000


def test_a_model_written_again_from_tries_reads_back_the_same(tmp_path: Path) -> None:
    full = load_model(DEFAULT_MODEL)
    again = tmp_path / "again.npz"
    full.save(again)
    reread = ReasonModel.read(again)
    assert list(reread.words.index.items()) == list(full.words.index.items())
    assert list(reread.chars.index.items()) == list(full.chars.index.items())
