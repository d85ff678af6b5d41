"""Where each code's nearest-comment vote must lie, from one matrix product for many vectors.

The full model's vote reads a vector's cosine with all 6,540 training comments: one
matrix-vector product per comment, and again per sentence scored for the evidence, each
streaming the 8 MB matrix through the cache (docs/performance.md, section 26). One product
of the matrix with every vector of a batch reads it once, but a matrix-matrix product sums in
another order than the matrix-vector product the vote was trained and shipped with, so its
similarities differ in the last bits, and so would the codes on a threshold's edge.

So the batch product is used only to *bound* each vote, never as the vote. Any order of
summing a dot product of ``n`` float32 terms is within ``gamma(n) * sum |a_i b_i|`` of the
exact value (``gamma(n) = n u / (1 - n u)``, ``u = 2**-24``; Higham, *Accuracy and Stability of
Numerical Algorithms*, 3.1), and ``sum |a_i b_i| <= |a| |b|``; so the vote's similarity is within
twice that of the batch product's, for every training comment. Where the batch product's top
``k`` are clear of the rest by more than that, they are the vote's ``k`` neighbours, and the
vote, a weighted share ``sum e^{gamma s} y / sum e^{gamma s}`` over them, lies between its value
with the code's neighbours at their lowest similarity and the others at their highest and the
reverse (plus a margin for the vote's own float32 rounding, a hundred times its size).
Elsewhere the range is the whole of 0 to 1. :meth:`~winback_router.coding.learned.ReasonModel.
vote_bounds` blends these ranges; the coder computes the exact vote only where the range leaves
a decision open, and then exactly as before.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from winback_router.coding.embeddings import Vectors
from winback_router.coding.neighbour_vote import NeighbourVote

Floats = npt.NDArray[np.float64]
UNIT_ROUNDOFF = 2.0**-24
"""float32's unit roundoff."""
ROUNDING_MARGIN = 1e-4
"""Added to each side of a vote's range for the vote's own float32 arithmetic (an exponential,
a difference, two sums of at most 40 terms and a division: under 1e-5 even summed at worst)."""


def dot_error(length: int) -> float:
    """``gamma(length)``, with a 1 % margin: how far a float32 dot product of ``length`` terms,
    summed in any order, may be from the exact one, relative to ``sum |a_i b_i|``."""
    scaled = length * UNIT_ROUNDOFF
    return 1.01 * scaled / (1 - scaled)


def vote_ranges(
    vote: NeighbourVote,
    matrix: npt.NDArray[np.float32],
    norms: Floats,
    labels: npt.NDArray[np.bool_],
    vectors: Vectors,
) -> list[tuple[Floats, Floats]]:
    """For each row of ``vectors``, each code's lowest and highest possible vote
    (:meth:`NeighbourVote.votes` of ``matrix @ vector`` lies between them, whatever order the
    product sums in). ``norms``: the rows of ``matrix``' lengths; ``labels``: their codes."""
    if not len(vectors):
        return []
    product = (vectors @ matrix.T).astype(np.float64)
    lengths = np.linalg.norm(vectors.astype(np.float64), axis=1)
    # both products within gamma * |x| |m| of the exact one (plus underflow's absolute error)
    slack = 2 * dot_error(vectors.shape[1]) * lengths * float(norms.max()) + 1e-30
    return [_ranges(vote, row, float(slack[i]), labels) for i, row in enumerate(product)]


def _ranges(
    vote: NeighbourVote, similarity: Floats, slack: float, labels: npt.NDArray[np.bool_]
) -> tuple[Floats, Floats]:
    """One vector's vote ranges, from its approximate ``similarity`` to every training comment,
    each within ``slack`` of the vote's own."""
    codes = len(vote.k)
    low, high = np.zeros(codes), np.ones(codes)
    count = min(vote.count + 1, len(similarity))
    if vote.count == 0 or count < 2:
        return low, high
    top = np.argpartition(-similarity, count - 1)[:count]
    top = top[np.argsort(-similarity[top], kind="stable")]
    ranked = similarity[top]
    for code in range(codes):
        k = int(vote.k[code])
        if k == 0:  # no neighbour counts: NeighbourVote.votes gives exactly 0
            high[code] = 0.0
            continue
        if vote.weight[code] <= 0 or k >= count or ranked[k - 1] - ranked[k] <= 2 * slack:
            continue  # not voting, or its k-th neighbour not clear of the next: 0 to 1
        shown = ranked[:k] - ranked[0]
        gamma = float(vote.gamma[code])
        lowest, highest = np.exp(gamma * (shown - slack)), np.exp(gamma * (shown + slack))
        carries = labels[top[:k], code]
        for_low = lowest[carries].sum(), highest[~carries].sum()
        for_high = highest[carries].sum(), lowest[~carries].sum()
        low[code] = max(0.0, for_low[0] / (for_low[0] + for_low[1]) - ROUNDING_MARGIN)
        high[code] = min(1.0, for_high[0] / (for_high[0] + for_high[1]) + ROUNDING_MARGIN)
    return low, high
