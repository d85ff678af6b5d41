"""Which sentence of a comment carried each model-coded reason, with as few votes as it takes.

A reason the model coded quotes the sentence that scores highest for its code (ties: the
earlier sentence), each sentence scored alone as a comment would be. With the full model that
score includes the nearest training comments' vote, one product of the sentence's vector with
all 6,540 training comments' vectors per sentence: most of the refiner's cost for a comment of
several sentences (docs/performance.md, section 26). Yet the vote moves a code's probability
only within bounds known before it runs (:meth:`~winback_router.coding.learned.ReasonModel.
vote_bounds`), so a sentence whose highest possible score is under another's lowest cannot be
the one quoted, and needs no vote. Only the sentences still in contention for some code are
voted, and the strongest among them is chosen by their exact scores: the same sentence as
scoring every sentence in full, always (``tests/unit/test_coding_vote_cost.py``). The bounds
come in two steps: first with any vote (0 to 1), which costs nothing, then with the vote's
range (one product with the training vectors) only for the sentences the first step left in
contention (2 of the bench comment's 6; docs/performance.md, section 28).
"""

from __future__ import annotations

from collections.abc import Sequence

from winback_router.coding.embeddings import Vectors
from winback_router.coding.learned import ReasonModel, Vector
from winback_router.coding.tfidf_vote import TfidfRow


def strongest_sentences(
    model: ReasonModel,
    comment: str,
    spans: Sequence[tuple[int, int]],
    vectors: Vectors | None,
    columns: Sequence[int],
    *,
    rows: Sequence[TfidfRow] | None = None,
    logits: Sequence[Vector] | None = None,
) -> list[int]:
    """For each code column of ``columns``, the position in ``spans`` of the sentence of
    ``comment`` whose probability for it is highest, the earlier on ties: exactly
    ``max(range(len(spans)), key=lambda i: (full[i][column], -i))`` where ``full[i]`` is
    :meth:`ReasonModel.probabilities` of sentence ``i`` (with ``vectors[i]`` when given); 0 for
    a comment of one sentence or none, which is quoted whole. ``rows`` and ``logits``: each
    sentence's :meth:`~ReasonModel.tfidf_row_each` and :meth:`~ReasonModel.text_logits_each`, if
    the caller has them (computed for a whole batch's sentences at once)."""
    if len(spans) <= 1:
        return [0] * len(columns)
    texts = [comment[start:end] for start, end in spans]
    rows = model.tfidf_row_each(texts) if rows is None else rows
    logits = model.text_logits_each(texts, rows) if logits is None else logits
    scored = [
        model.regression(
            text,
            None if vectors is None else vectors[i],
            logits=logits[i],
            sentence_vectors=None if vectors is None else vectors[i : i + 1],
        )
        for i, text in enumerate(texts)
    ]
    # the words' vote is a sparse product, a fraction of the vectors' vote: computed exactly for
    # every sentence, so only the vectors' vote is bounded
    words = [model.words_votes(row) if model.reads_words_vote else None for row in rows]
    bounds = [
        model.vote_bounds(regression, None, found)
        for (regression, _), found in zip(scored, words, strict=True)
    ]
    if vectors is not None:
        # Only the sentences still in contention under any vector vote need its range: narrowed
        # bounds for a subset are still bounds, and the strongest is among their contenders.
        open_ = sorted(
            {
                i
                for column in columns
                if len(found := _contenders_of(bounds, column)) > 1
                for i in found
            }
        )
        for i, votes in zip(open_, model.vote_ranges(vectors[open_]), strict=True):
            bounds[i] = model.vote_bounds(scored[i][0], votes, words[i])
    exact: dict[int, Vector] = {}
    chosen = []
    for column in columns:
        contenders = _contenders_of(bounds, column)
        if len(contenders) == 1:
            chosen.append(contenders[0])
            continue
        for i in contenders:
            if i not in exact:
                regression, vector = scored[i]
                exact[i] = (
                    regression
                    if vector is None
                    else model.voted(regression, vector, words=words[i])
                )
        chosen.append(max(contenders, key=lambda i: (exact[i][column], -i)))
    return chosen


def _contenders_of(bounds: Sequence[tuple[Vector, Vector]], column: int) -> list[int]:
    """:func:`_contenders` for one code column of each position's (lowest, highest)."""
    return _contenders(
        [float(low[column]) for low, _ in bounds], [float(high[column]) for _, high in bounds]
    )


def _contenders(low: Sequence[float], high: Sequence[float]) -> list[int]:
    """The positions that could score highest (ties to the earlier) given each one's lowest and
    highest possible score: those no other position surely beats. Position ``j`` surely beats
    ``i`` when its lowest score is above ``i``'s highest, or equal to it and ``j`` is earlier;
    the surest of all is the largest ``(low[j], -j)``, and only it needs checking (if it is
    ``i``'s own, ``low[i] <= high[i]`` and nothing beats ``i``)."""
    surest = max((value, -j) for j, value in enumerate(low))
    return [i for i, value in enumerate(high) if not surest > (value, -i)]
