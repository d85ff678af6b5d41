"""Any comment is coded, by the router's fast model and the refiner's full one alike, without an
error: a comment that made coding raise would fail its batch at every retry, and stop the router
on it at every restart (``refusals`` covers the store, not the coder). What is returned holds the
promises the console builds on: known codes, and spans that lie inside the comment (NFC form),
on words the comment has."""

from __future__ import annotations

import unicodedata
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.coding_support import comment_response
from winback_router.coding import code_responses
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.learned import DEFAULT_MODEL, FAST_MODEL
from winback_shared.taxonomy import RESERVED_CODES, Taxonomy

WORDS = [
    "waited", "on hold", "for an hour", "transferred", "three times", "refund", "charged",
    "after I cancelled", "call me back", "again", "manager", "not", "never", "no one", "rude",
    "didn't know", "explain", "promised", "broken", "app", "crashes", "price", "expensive",
    "bitte rufen Sie mich an", "attente", "remboursement", "esperé", "nadie", "待たされた",
]  # fmt: skip
PIECES = st.one_of(
    st.sampled_from(WORDS),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.sampled_from([" ", ". ", "! ", "?", "\n", "...", "\u200b", "\u202e", "e\u0301", "ﬁ", "İ"]),
)
COMMENTS = st.lists(PIECES, max_size=30).map(" ".join)


@cache
def taxonomy_of(model: str) -> Taxonomy:
    """The router's taxonomy (``fast``) or the refiner's (``full``), loaded once."""
    return load_and_compile(model=FAST_MODEL if model == "fast" else DEFAULT_MODEL)


@pytest.mark.parametrize("model", ["fast", "full"])
@settings(max_examples=60, deadline=None)
@given(comments=st.lists(COMMENTS, min_size=1, max_size=3))
def test_any_comment_is_coded_with_spans_inside_it(model: str, comments: list[str]) -> None:
    taxonomy = taxonomy_of(model)
    responses = [comment_response(comment, number) for number, comment in enumerate(comments)]
    codings = code_responses(responses, taxonomy)
    known = {code.id for code in taxonomy.codes} | RESERVED_CODES
    assert len(codings) == len(comments)
    for comment, reasons in zip(comments, codings, strict=True):
        text = unicodedata.normalize("NFC", comment)
        for reason in reasons:
            assert reason.code in known
            if reason.span is not None:
                start, end = reason.span
                assert 0 <= start < end <= len(text), (reason, text)
                assert text[start:end].strip(), (reason, text)
