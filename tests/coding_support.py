"""What the coding tests share: a response that is only a comment, the codes the rules find in a
text, and a slice of a labelled file with the rules' codes for it, ready for ``train.train``.

Kept apart from ``tests.support`` so a pure coding test imports no server or database helper.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from winback_router.coding import code_text
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.evaluate import DEFAULT_DATA, Example, load_examples, predictor
from winback_shared.survey import SurveyResponse
from winback_shared.taxonomy import Taxonomy, load_taxonomy


def comment_response(
    comment: str, number: int = 0, reasons: list[str] | None = None
) -> SurveyResponse:
    """A generic response whose content is ``comment`` (and any chosen ``reasons``); ``number``
    tells the responses of one batch apart."""
    return SurveyResponse(
        response_id=f"r{number}", comment=comment, reasons=reasons or [], source="s",
        vendor="generic", receipt_id=f"r{number}", received_at=datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip


@dataclass(frozen=True)
class Labelled:
    """The first comments of a labelled file, the taxonomy's codes, and which of them the rules
    alone find in each comment (one row per comment, one column per code)."""

    examples: tuple[Example, ...]
    codes: tuple[str, ...]
    rules: npt.NDArray[np.bool_]

    @property
    def texts(self) -> list[str]:
        """The comments' texts, in order."""
        return [example.text for example in self.examples]


@functools.cache
def labelled(file: str, count: int) -> Labelled:
    """The first ``count`` comments of ``tests/data/comments/<file>`` coded by the rules alone,
    as the training command codes them (cached, so read-only: several tests fit on one slice)."""
    taxonomy = load_and_compile(model=None)
    codes = tuple(code.id for code in taxonomy.codes)
    examples = tuple(load_examples(DEFAULT_DATA / file)[:count])
    predict = predictor(taxonomy)
    found = [predict(example.text) for example in examples]  # once a comment, not once a code
    rules = np.array([[code in codes_found for code in codes] for codes_found in found])
    rules.flags.writeable = False
    return Labelled(examples, codes, rules)


@functools.cache
def _taxonomy() -> Taxonomy:
    return load_taxonomy()


def rule_codes(comment: str) -> set[str]:
    """The codes the shipped taxonomy's rules find in ``comment`` (text alone, no model)."""
    return {found.code for found in code_text(comment, _taxonomy())}
