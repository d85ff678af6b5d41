"""The learned reason model: TF-IDF features and one logistic regression per code, numpy only.

The keyword rules give exact evidence but miss words nobody listed (paraphrase, misspelling,
idiom); this model carries recall there. It reads character n-grams of words (2 to 5
characters, which survive misspellings and inflections) and word 1-2 grams, weighted as
scikit-learn's ``TfidfVectorizer`` weights them (lowercase, accents stripped, sublinear term
frequency, unit length), so :mod:`winback_router.coding.train` can fit it with scikit-learn while
the router runs it with numpy alone: no weights downloaded, about a tenth of a millisecond for a
100-word comment (its features counted word by word from a cache,
:mod:`winback_router.coding.word_features`).

A model may also read the comment's sentence vector (:mod:`winback_router.coding.embeddings`,
multilingual): its weights for the 512 dimensions sit in :attr:`ReasonModel.vector_weights`, and
it keeps the training comments' vectors (:class:`Neighbours`) so a model-coded reason can show
the nearest labelled comments. The vector costs about 1 ms a comment in a batch, four times the
rest, so :meth:`ReasonModel.vector_matters` says from the TF-IDF part alone whether the vector
could change anything (a unit vector moves each code's logit by at most its weights' length):
where it cannot, the comment is never embedded, and the result is exactly the same. (With the
shipped weights the bound is loose and few comments are spared; it matters for a model whose
"next to the rules" thresholds are all "never".)

It is combined with the rules in "hybrid" mode: each code has one threshold for comments where
the rules found no code and another, often "never", for adding the code next to the rules'
codes. Both were chosen on out-of-fold predictions over the training comments. A model may also
carry a floor per code (:attr:`ReasonModel.keep`) under which it removes a code the rules found;
measured on December 1, it did not pay, so the shipped files carry none.

The whole model is one ``.npz`` file (``reason_model.npz`` beside this module).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from winback_router.coding.embeddings import ENCODER_NAME, Vectors, embed
from winback_router.coding.neighbour_vote import NeighbourVote, most_similar
from winback_router.coding.repetition import CUES, repetition_cues
from winback_router.coding.sentence_pool import POOLINGS, pool, sentence_texts
from winback_router.coding.term_index import TermIndex
from winback_router.coding.tfidf_vote import TfidfRow, TfidfRows
from winback_router.coding.vote_range import vote_ranges
from winback_router.coding.word_features import (
    FEATURE_BATCH_CHARACTERS,
    WordFeatures,
    character_bounded,
)

DEFAULT_MODEL = Path(__file__).with_name("reason_model.npz")
"""The full model (TF-IDF and sentence vectors): the codes a response ends with."""
FAST_MODEL = Path(__file__).with_name("reason_model_fast.npz")
"""The TF-IDF-only model the router codes with first (no encoder in the hot path); the refiner
(:mod:`winback_router.refine`) re-codes with :data:`DEFAULT_MODEL` where the codes differ.
Rebuilt by ``python -m winback_router.coding.train --fast``."""
NEVER = 1.1
"""A threshold no probability reaches: the model never adds that code in that situation."""
CHAR_NGRAMS = (2, 5)
WORD_NGRAMS = (1, 2)
_SPACES = re.compile(r"\s\s+")
_TOKEN = re.compile(r"(?u)\b\w+\b")
_BLOCK_SCALE = 1 / math.sqrt(2)
"""Each block (characters, words) is unit length; the pair is scaled back to unit length."""

Vector = npt.NDArray[np.float32]
Indices = npt.NDArray[np.int64]
_NO_INDICES: Indices = np.zeros(0, dtype=np.int64)
_NO_WEIGHTS: npt.NDArray[np.float64] = np.zeros(0, dtype=np.float64)
VoteRange = tuple[npt.NDArray[np.floating[Any]], npt.NDArray[np.floating[Any]]]
"""Each code's lowest and highest possible vote."""
NEIGHBOURS = 2
"""Labelled comments shown beside a model-coded reason."""
_NORM_ROWS = 256
"""Rows of the neighbours' matrix whose lengths are measured together (1 MB in float64)."""


def fold_for_model(text: str) -> str:
    """Lowercase and strip accents exactly as ``TfidfVectorizer(strip_accents="unicode")`` does,
    or the vocabulary learned in training would not match at run time."""
    text = text.lower()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def char_ngrams(folded: str) -> list[str]:
    """Character n-grams inside each word padded with a space (scikit-learn's ``char_wb``)."""
    low, high = CHAR_NGRAMS
    grams: list[str] = []
    for word in _SPACES.sub(" ", folded).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            grams.extend(padded[i : i + n] for i in range(max(1, len(padded) - n + 1)))
            if len(padded) <= n:
                break  # longer n-grams of a short word are the same padded word again
    return grams


def word_ngrams(folded: str) -> list[str]:
    """Words and adjacent word pairs, tokenised as ``token_pattern=r"(?u)\\b\\w+\\b"``."""
    tokens = _TOKEN.findall(folded)
    grams = list(tokens)
    for n in range(max(2, WORD_NGRAMS[0]), WORD_NGRAMS[1] + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams


@dataclass(frozen=True)
class Vocabulary:
    """One vectorizer's terms and their idf; feature indices start at ``offset``."""

    index: Mapping[str, int]
    idf: npt.NDArray[np.float64]
    offset: int

    @classmethod
    def of(
        cls, terms: Sequence[str], idf: npt.ArrayLike, offset: int, in_trie: bool = False
    ) -> Vocabulary:
        """Index ``terms`` in order, from ``offset``: in a dictionary, or with ``in_trie`` in a
        :class:`~winback_router.coding.term_index.TermIndex` (a twentieth of the memory, five
        times the lookup)."""
        index: Mapping[str, int] = (
            TermIndex(terms, offset)
            if in_trie
            else {term: position + offset for position, term in enumerate(terms)}
        )
        return cls(index, np.asarray(idf, dtype=np.float64), offset)

    def terms(self) -> list[str]:
        """The terms in feature order."""
        return list(self.index)

    def weights(self, grams: Sequence[str]) -> tuple[Indices, npt.NDArray[np.float64]]:
        """Sublinear tf-idf of the known grams, unit length: feature indices and their weights.

        Counting and weighting run in numpy: this was a quarter of the router's time when it
        was a Python loop and two dictionaries (docs/performance.md, section 5).
        """
        return self.weighted(self.known(grams))

    def known(self, grams: Iterable[str]) -> list[int]:
        """The feature indices of the grams in the vocabulary, in order, repeats kept."""
        return [position for position in map(self.index.get, grams) if position is not None]

    def weighted(self, known: Sequence[int]) -> tuple[Indices, npt.NDArray[np.float64]]:
        """:meth:`weights` from :meth:`known`'s indices."""
        if not known:
            return _NO_INDICES, _NO_WEIGHTS
        counts = Counter(known)
        positions = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        repeats = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        weights = (1 + np.log(repeats)) * self.idf[positions - self.offset]
        norm = math.sqrt(float(weights @ weights)) or 1.0
        return positions, weights / norm


@dataclass(frozen=True)
class Neighbour:
    """A labelled training comment close to the one being coded."""

    text: str
    codes: tuple[str, ...]
    similarity: float
    """Cosine of the two comments' sentence vectors."""


@dataclass(frozen=True)
class Neighbours:
    """The training comments, their codes and sentence vectors, stored as int8 (a quarter of
    the float32 size; similarities move by about 0.01, enough to rank and to show)."""

    texts: tuple[str, ...]
    codes: tuple[tuple[str, ...], ...]
    vectors: npt.NDArray[np.int8]
    step: float
    """What one int8 unit is worth."""

    @classmethod
    def of(
        cls, texts: Sequence[str], codes: Sequence[Sequence[str]], vectors: Vector
    ) -> Neighbours:
        """Quantise ``vectors`` (unit rows) to int8 over their largest component."""
        step = float(np.abs(vectors).max()) / 127 or 1.0
        quantised = np.round(vectors / step).astype(np.int8)
        return cls(tuple(texts), tuple(tuple(c) for c in codes), quantised, step)

    def nearest(self, vector: Vector, count: int = NEIGHBOURS) -> list[Neighbour]:
        """The ``count`` most similar comments, most similar first (ties: the earlier one).

        The similarities are :meth:`similarities`, the product the vote reads, so one float32
        copy of the rows serves both. (Until December 2 this multiplied a second copy, unscaled,
        and scaled the product after, to give the int8 product's values to the bit; that copy
        was 8 MB of the refiner's memory: docs/performance.md, section 39.) The neighbours are
        picked by partial selection, the stable sort's order."""
        similarity = self.similarities(vector)
        order = most_similar(similarity, count)
        return [
            Neighbour(self.texts[i], self.codes[i], round(float(similarity[i]), 3)) for i in order
        ]

    @functools.cached_property
    def norms(self) -> npt.NDArray[np.float64]:
        """Each row of :attr:`matrix`'s length (what bounds a product's rounding error).

        Measured a block of rows at a time: a float64 copy of the whole matrix, and its squares,
        were two 17 MB transients in the first batch, which raised the process's peak by 33 MB.
        A row's length is a sum over that row alone, so the values are the same to the bit."""
        matrix = self.matrix
        norms: npt.NDArray[np.float64] = np.empty(len(matrix), dtype=np.float64)
        for first in range(0, len(matrix), _NORM_ROWS):
            block = matrix[first : first + _NORM_ROWS].astype(np.float64)
            norms[first : first + _NORM_ROWS] = np.linalg.norm(block, axis=1)
        return norms

    def similarities(self, vector: Vector) -> Vector:
        """The cosine of ``vector`` with every training comment (as :meth:`nearest` ranks)."""
        similarity: Vector = self.matrix @ vector
        return similarity

    @functools.cached_property
    def matrix(self) -> Vector:
        """The vectors as float32 (kept once: converting the int8 rows per comment costs more
        than the product)."""
        matrix: Vector = self.vectors.astype(np.float32)
        matrix *= np.float32(self.step)  # in place: no second 8 MB array while it is made
        return matrix

    def labels(self, codes: Sequence[str]) -> npt.NDArray[np.bool_]:
        """One row per training comment, one column per code of ``codes``: whether it carries it."""
        return np.array([[code in own for code in codes] for own in self.codes], dtype=bool)


@dataclass(frozen=True)
class ReasonModel:
    """The fitted model: vocabularies, a weight column and bias per code, and the thresholds
    (the first ``len(codes)`` apply where the rules found no code, the rest next to rule codes).
    """

    codes: tuple[str, ...]
    chars: Vocabulary
    words: Vocabulary
    weights: Vector
    """Features x codes."""
    bias: Vector
    thresholds: Vector
    vector_weights: Vector | None = None
    """Sentence-vector dimensions x codes (already scaled as in training); None: TF-IDF only."""
    neighbours: Neighbours | None = None
    keep: Vector | None = None
    """Per code, the probability under which the model removes the code where the comment's
    rules found it (0: never); None: the model only adds codes."""
    cue_weights: Vector | None = None
    """Repetition cues (:mod:`~winback_router.coding.repetition`) x codes, already scaled as in
    training; None: a model trained without them."""
    pooling: tuple[str, ...] = ()
    """The sentence poolings the model reads (:mod:`~winback_router.coding.sentence_pool`), in
    the order of :attr:`pooled_weights`' blocks; empty: the whole comment's vector alone."""
    pooled_weights: Vector | None = None
    """Pooled sentence-vector dimensions x codes, already scaled as in training."""
    vote: NeighbourVote | None = None
    """Per code, how the nearest training comments' vote is blended with the regression
    (:mod:`~winback_router.coding.neighbour_vote`); None: the regression alone."""
    tfidf_rows: TfidfRows | None = None
    """The training comments' TF-IDF rows, for a vote whose :attr:`NeighbourVote.share` mixes in
    the comments nearest by words (:mod:`~winback_router.coding.tfidf_vote`); None: no such
    vote."""

    @property
    def reads_vectors(self) -> bool:
        """Whether :meth:`probabilities` needs the comment's sentence vector."""
        return self.vector_weights is not None

    @property
    def reads_sentences(self) -> bool:
        """Whether :meth:`probabilities` also needs each sentence's vector (pooled)."""
        return self.pooled_weights is not None

    @property
    def reads_words_vote(self) -> bool:
        """Whether the vote mixes in the comments nearest by TF-IDF words (then :meth:`voted`
        needs the comment's :meth:`tfidf_row`)."""
        return self.vote is not None and self.vote.share is not None

    def tfidf_row(self, text: str) -> TfidfRow:
        """The comment's TF-IDF row (both blocks, each unit length, the pair scaled back to unit
        length), float32: what :meth:`text_logits` multiplies with the weights, and what the
        words' vote compares with the training comments' rows."""
        return self.tfidf_row_each([text])[0]

    def tfidf_row_each(self, texts: Sequence[str]) -> list[TfidfRow]:
        """:meth:`tfidf_row` of each text, weighted in arrays shared by the batch (the rows are
        views of them): per comment only its two blocks' norms, as before one dot product each.
        A batch of long comments is counted in groups of at most
        :data:`~winback_router.coding.word_features.FEATURE_BATCH_CHARACTERS` characters, which
        bounds the arrays' transient memory; a row never depends on its neighbours.

        The arithmetic is :meth:`Vocabulary.weights`' for each block, element by element
        (``1 + log(count)`` times the idf, divided by its block's norm, made float32 and
        scaled), so the same values to the bit whatever the batch; the norms keep the plain
        path's summation (one ``block @ block`` over the block alone)."""
        rows: list[TfidfRow] = []
        folded = [fold_for_model(text) for text in texts]
        for group in character_bounded(folded, FEATURE_BATCH_CHARACTERS):
            rows += self._rows_of_folded(group)
        return rows

    def _rows_of_folded(self, folded: Sequence[str]) -> list[TfidfRow]:
        """:meth:`tfidf_row_each` of folded texts, in one set of arrays."""
        found = self._features.counts_many(folded)
        weights = (1 + np.log(found.counts)) * self._idf[found.positions]
        marks = found.marks
        norms = [
            math.sqrt(float(block @ block)) or 1.0
            for block in (weights[a:b] for a, b in itertools.pairwise(marks))
        ]
        weights /= np.repeat(np.array(norms), np.diff(marks))
        values = weights.astype(np.float32) * np.float32(_BLOCK_SCALE)
        return [
            TfidfRow(found.positions[a:b], values[a:b])
            for a, b in zip(marks[:-1:2], marks[2::2], strict=True)
        ]

    def text_logits(self, text: str, row: TfidfRow | None = None) -> Vector:
        """Each code's logit from the bias, the TF-IDF features and the repetition cues (if the
        model has them): everything but the sentence vector. ``row``: :meth:`tfidf_row` of
        ``text``, if the caller has it already."""
        return self.text_logits_each([text], None if row is None else [row])[0]

    def text_logits_each(
        self, texts: Sequence[str], rows: Sequence[TfidfRow] | None = None
    ) -> list[Vector]:
        """:meth:`text_logits` of each text (``rows``: their :meth:`tfidf_row_each`, if the caller
        has them), its features counted and weighted with the batch's. The product with the
        weights stays one per text: a product for the batch would sum each logit in another
        order (BLAS blocks a matrix product otherwise), and move its last bits."""
        rows = self.tfidf_row_each(texts) if rows is None else rows
        found: list[Vector] = []
        for text, row in zip(texts, rows, strict=True):
            logits: Vector = self.bias.copy()
            if row.positions.size:
                # np.take copies the same rows as fancy indexing, in half the time
                logits += row.values @ np.take(self.weights, row.positions, axis=0)
            if self.cue_weights is not None:
                logits += repetition_cues(text) @ self.cue_weights
            found.append(logits)
        return found

    @functools.cached_property
    def _idf(self) -> npt.NDArray[np.float64]:
        """Both vocabularies' idf, by feature position."""
        idf = np.zeros(self.weights.shape[0], dtype=np.float64)
        for vocabulary in (self.chars, self.words):
            idf[vocabulary.offset : vocabulary.offset + vocabulary.idf.size] = vocabulary.idf
        return idf

    @functools.cached_property
    def _features(self) -> WordFeatures:
        """The comment's feature counts, word by word from a cache (the plain way,
        :meth:`Vocabulary.weights` of :func:`char_ngrams` and :func:`word_ngrams`, gives the
        same features, counts and order)."""
        low, high = WORD_NGRAMS
        return WordFeatures(
            self.chars.index, self.words.index, char_ngrams, _TOKEN, range(max(2, low), high + 1)
        )

    def probabilities(
        self,
        text: str,
        vector: Vector | None = None,
        *,
        logits: Vector | None = None,
        sentence_vectors: Vectors | None = None,
    ) -> Vector:
        """Each code's probability for ``text``, in :attr:`codes` order.

        A model that reads vectors embeds ``text`` itself when ``vector`` is not given (one
        encoder call: batch callers pass it), and a model that reads pooled sentences embeds
        :func:`~winback_router.coding.sentence_pool.sentence_texts` when ``sentence_vectors``
        is not given. ``logits``: :meth:`text_logits` already computed.
        """
        row = self.tfidf_row(text) if self.reads_words_vote else None
        if logits is None and row is not None:
            logits = self.text_logits(text, row)
        regression, vector = self.regression(
            text, vector, logits=logits, sentence_vectors=sentence_vectors
        )
        return regression if vector is None else self.voted(regression, vector, row=row)

    def regression(
        self,
        text: str,
        vector: Vector | None = None,
        *,
        logits: Vector | None = None,
        sentence_vectors: Vectors | None = None,
    ) -> tuple[Vector, Vector | None]:
        """:meth:`probabilities` before the nearest comments' vote (arguments alike), and the
        sentence vector the vote reads (None for a model that reads none)."""
        base = self.text_logits(text) if logits is None else logits
        if self.vector_weights is None:
            return self._sigmoid(base), None
        if vector is None:
            vector = embed([text])[0]
        base = base + vector @ self.vector_weights
        if self.pooled_weights is not None:
            if sentence_vectors is None:
                sentence_vectors = embed(sentence_texts(text))
            base = base + pool(self.pooling, sentence_vectors, vector) @ self.pooled_weights
        return self._sigmoid(base), vector

    def voted(
        self,
        regression: Vector,
        vector: Vector,
        *,
        row: TfidfRow | None = None,
        words: npt.NDArray[np.floating[Any]] | None = None,
    ) -> Vector:
        """:meth:`regression`'s probabilities blended with the nearest training comments'
        vote, if the model has one: one product of ``vector`` with every training comment, and
        for a vote that mixes in the comments nearest by words, their vote (``words``, from
        :meth:`words_votes`, or computed from the comment's ``row``)."""
        if self.vote is None or self.neighbours is None:
            return regression
        votes: npt.NDArray[np.floating[Any]] = self.vote.votes(
            self.neighbours.similarities(vector), self._voters
        )
        if self.vote.share is not None:
            words = self.words_votes(row) if words is None else words
            votes = self.vote.mix(votes, words)
        return self.vote.blend(regression, votes).astype(np.float32)

    def words_votes(self, row: TfidfRow | None) -> npt.NDArray[np.floating[Any]] | None:
        """Each code's vote of the training comments nearest to ``row`` (:meth:`tfidf_row`) by
        TF-IDF cosine, with the codes' k and sharpness; None for a model whose vote does not
        mix it in (:attr:`reads_words_vote`)."""
        if self.vote is None or self.vote.share is None:
            return None
        if self.tfidf_rows is None or row is None:
            raise ValueError("the words' vote needs the training rows and the comment's row")
        return self.vote.votes(self.tfidf_rows.similarities(row), self._voters)

    def vote_ranges(self, vectors: Vectors) -> list[VoteRange | None]:
        """For each of ``vectors``, each code's lowest and highest possible vote
        (:func:`~winback_router.coding.vote_range.vote_ranges`: one matrix product for them
        all); None each where the model has no vote or one vector alone would cost as much as
        its vote."""
        if self.vote is None or self.neighbours is None or len(vectors) < 2:
            return [None] * len(vectors)
        neighbours = self.neighbours
        found = vote_ranges(self.vote, neighbours.matrix, neighbours.norms, self._voters, vectors)
        return list(found)

    def vote_bounds(
        self,
        regression: Vector,
        votes: VoteRange | None = None,
        words: npt.NDArray[np.floating[Any]] | None = None,
    ) -> tuple[Vector, Vector]:
        """The lowest and the highest probabilities :meth:`voted` can give: the blend with each
        code's lowest and highest vote (``votes``, from :meth:`vote_ranges`; by default 0 and 1,
        whatever the neighbours). Where the vote mixes in the words' vote, each code's range is
        mixed with that vote (``words``, :meth:`words_votes`, exact) or, without it, with 0 and
        1 (:meth:`NeighbourVote.mix` is monotone in both, the same float32 steps as
        :meth:`voted`'s).

        Exact bounds, not estimates: a vote is a weighted share, never under 0 or over 1 in
        floating point either (the codes' weights are a subset of the same non-negative terms,
        summed in the same order), and the blend is the same float32 operations, each
        rounding monotonically, so a vote within the range gives a probability between the two.
        Where they agree on everything the caller decides, the vote (a product with every
        training comment) need not run."""
        if self.vote is None or self.neighbours is None:
            return regression, regression
        if votes is None:
            none = np.zeros(len(self.codes), dtype=np.float32)
            votes = (none, none + 1)
        # float32 like the votes themselves (the type says float64: NeighbourVote.votes' zeros
        # when no code votes), so the blend runs the very operations it runs with a vote
        lowest, highest = (
            cast("npt.NDArray[np.float64]", np.asarray(v, dtype=np.float32)) for v in votes
        )
        if self.vote.share is not None:
            none = np.zeros(len(self.codes), dtype=np.float32)
            low_words, high_words = (none, none + 1) if words is None else (words, words)
            lowest = cast("npt.NDArray[np.float64]", self.vote.mix(lowest, low_words))
            highest = cast("npt.NDArray[np.float64]", self.vote.mix(highest, high_words))
        low = self.vote.blend(regression, lowest).astype(np.float32)
        high = self.vote.blend(regression, highest).astype(np.float32)
        return low, high

    def decided(
        self,
        rule_codes: frozenset[str],
        regression: Vector,
        vector: Vector | None,
        votes: VoteRange | None = None,
        *,
        row: TfidfRow | None = None,
    ) -> Vector | None:
        """The comment's probabilities (vote included) where they could add or remove a code;
        None where no vote within ``votes`` (:meth:`vote_bounds`) could make them add or remove
        any (:meth:`codes_added` and :meth:`codes_against` are empty then, and the vote is
        never computed). A vote mixing in the words' vote (``row``: the comment's
        :meth:`tfidf_row`) is bounded first with the words' vote anywhere in 0-1, then, if
        that leaves a decision open, with it computed (a sparse product, a fraction of the
        vectors'), before the vectors' vote is."""
        if vector is None:
            return regression
        if not self._open(rule_codes, *self.vote_bounds(regression, votes)):
            return None
        words = self.words_votes(row)
        if words is not None and not self._open(
            rule_codes, *self.vote_bounds(regression, votes, words)
        ):
            return None
        return self.voted(regression, vector, row=row, words=words)

    def _open(self, rule_codes: frozenset[str], low: Vector, high: Vector) -> bool:
        """Whether probabilities between ``low`` and ``high`` could add or remove a code."""
        return bool(self.codes_added(rule_codes, high) or self.codes_against(rule_codes, low))

    @functools.cached_property
    def _voters(self) -> npt.NDArray[np.bool_]:
        neighbours = self.neighbours
        return np.zeros((0, 0), bool) if neighbours is None else neighbours.labels(self.codes)

    def vector_matters(self, logits: Vector, rule_codes: frozenset[str]) -> bool:
        """Whether the sentence vector could add a code, given the TF-IDF ``logits``.

        A unit vector moves code j's logit by at most the length of its weight column, so a
        code whose TF-IDF logit is further than that below its threshold's logit stays out
        whatever the vector says; when no code is within reach, embedding is wasted work.
        """
        if self.vector_weights is None:
            return False
        reach = self._reach
        thresholds = self._thresholds_for(rule_codes)
        for column, code in enumerate(self.codes):
            if code in rule_codes:
                floor = 0.0 if self.keep is None else float(self.keep[column])
                if floor > 0 and self._lowest(logits, column) < floor:
                    return True  # the vector could remove the rule's code
                continue
            threshold = float(thresholds[column])
            if threshold < 1 and logits[column] + reach[column] >= _logit(threshold):
                return True
            if threshold < 1 and self.vote is not None and self.vote.weight[column] > 0:
                weight = float(self.vote.weight[column])  # a unanimous vote at best
                high = 1 / (1 + math.exp(-float(logits[column] + reach[column])))
                if (1 - weight) * high + weight >= threshold:
                    return True
        return False

    def _lowest(self, logits: Vector, column: int) -> float:
        """The lowest probability the vector (and a vote against, if any) could give a code."""
        low = 1 / (1 + math.exp(-float(logits[column] - self._reach[column])))
        return low if self.vote is None else (1 - float(self.vote.weight[column])) * low

    def codes_beyond(
        self,
        text: str,
        rule_codes: frozenset[str],
        vector: Vector | None = None,
        *,
        logits: Vector | None = None,
    ) -> dict[str, float]:
        """The codes the model adds to ``rule_codes`` for ``text``, with their probabilities.

        Where the rules found nothing the model speaks at its "alone" thresholds; next to rule
        codes it must clear the (stricter, often never) "extra" thresholds.
        """
        return self.codes_added(rule_codes, self.probabilities(text, vector, logits=logits))

    def codes_added(self, rule_codes: frozenset[str], probabilities: Vector) -> dict[str, float]:
        """:meth:`codes_beyond` from the comment's :meth:`probabilities`."""
        return {
            code: float(probability)
            for code, probability, threshold in zip(
                self.codes, probabilities, self._thresholds_for(rule_codes), strict=True
            )
            if probability >= threshold and code not in rule_codes
        }

    def codes_against(self, rule_codes: frozenset[str], probabilities: Vector) -> dict[str, float]:
        """The rule codes the model removes: those under their code's :attr:`keep` floor, with
        their probabilities (``probabilities``: :meth:`probabilities` for the same comment)."""
        if self.keep is None:
            return {}
        return {
            code: float(probability)
            for code, probability, floor in zip(self.codes, probabilities, self.keep, strict=True)
            if code in rule_codes and probability < floor
        }

    def _thresholds_for(self, rule_codes: frozenset[str]) -> Vector:
        count = len(self.codes)
        return self.thresholds[count:] if rule_codes else self.thresholds[:count]

    @functools.cached_property
    def _reach(self) -> Vector:
        """Per code, the most a unit vector moves its logit (plus a margin far above float
        rounding and far below any threshold step)."""
        weights = self.vector_weights if self.vector_weights is not None else self.weights[:0]
        reach: Vector = np.linalg.norm(weights, axis=0).astype(np.float32) + 1e-3
        if self.pooled_weights is not None:
            # each pooled block is at most unit length (a mean of unit vectors, or scaled so)
            for block in np.split(self.pooled_weights, len(self.pooling)):
                reach += np.linalg.norm(block, axis=0).astype(np.float32)
        return reach

    @staticmethod
    def _sigmoid(logits: npt.NDArray[np.floating[Any]]) -> Vector:
        result: Vector = (1 / (1 + np.exp(-logits))).astype(np.float32)
        return result

    def save(self, path: Path) -> None:
        """One compressed ``.npz``: terms as NUL-joined UTF-8, weights as float16 (the
        probabilities move by about 1e-3, far below the thresholds' 0.025 grid)."""
        meta: dict[str, Any] = {"codes": list(self.codes), "mode": "hybrid"}
        arrays: dict[str, npt.NDArray[Any]] = {
            "char_terms": _joined(self.chars.terms()),
            "word_terms": _joined(self.words.terms()),
            "char_idf": self.chars.idf.astype(np.float32),
            "word_idf": self.words.idf.astype(np.float32),
            "w": self.weights.astype(np.float16),
            "b": self.bias,
            "t": self.thresholds,
        }
        if self.vector_weights is not None:
            meta["encoder"] = ENCODER_NAME
            arrays["v"] = self.vector_weights.astype(np.float16)
        if self.keep is not None:
            arrays["k"] = self.keep.astype(np.float32)
        if self.cue_weights is not None:
            meta["cues"] = list(CUES)
            arrays["q"] = self.cue_weights.astype(np.float32)
        if self.pooled_weights is not None:
            meta["pooling"] = list(self.pooling)
            arrays["s"] = self.pooled_weights.astype(np.float16)
        if self.vote is not None:
            arrays["vote_k"] = self.vote.k
            arrays["vote_gamma"] = self.vote.gamma
            arrays["vote_weight"] = self.vote.weight
            if self.vote.share is not None:
                arrays["vote_share"] = self.vote.share
        if self.tfidf_rows is not None:
            meta["tfidf_count"] = self.tfidf_rows.count
            arrays["tfidf_starts"] = self.tfidf_rows.starts.astype(np.int32)
            arrays["tfidf_rows"] = self.tfidf_rows.rows
            arrays["tfidf_values"] = self.tfidf_rows.values
        if self.neighbours is not None:
            meta["neighbour_codes"] = [list(codes) for codes in self.neighbours.codes]
            meta["neighbour_step"] = self.neighbours.step
            arrays["n_texts"] = _joined(self.neighbours.texts)
            arrays["n_vectors"] = self.neighbours.vectors
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        np.savez_compressed(path, allow_pickle=False, **arrays)

    @classmethod
    def read(cls, path: Path) -> ReasonModel:
        """Read a file written by :meth:`save` (prefer :func:`load_model`, which caches)."""
        with np.load(path) as data:
            meta = json.loads(data["meta"].tobytes())
            char_terms = _split(data["char_terms"])
            word_terms = _split(data["word_terms"])
            vector_weights = None
            if "encoder" in meta:
                if meta["encoder"] != ENCODER_NAME:
                    raise ValueError(
                        f"{path} was trained on {meta['encoder']} vectors, this router makes "
                        f"{ENCODER_NAME} ones: re-train with python -m winback_router.coding.train"
                    )
                vector_weights = data["v"].astype(np.float32)
            reads_vectors = vector_weights is not None
            if "cues" in meta and meta["cues"] != list(CUES):
                raise ValueError(
                    f"{path} was trained on other repetition cues than this router computes: "
                    "re-train with python -m winback_router.coding.train"
                )
            unknown = set(meta.get("pooling", ())) - set(POOLINGS)
            if unknown:
                raise ValueError(
                    f"{path} reads sentence poolings this router does not compute "
                    f"({', '.join(sorted(unknown))}): re-train with python -m "
                    "winback_router.coding.train"
                )
            neighbours = None
            if "neighbour_codes" in meta:
                neighbours = Neighbours(
                    tuple(_split(data["n_texts"])),
                    tuple(tuple(codes) for codes in meta["neighbour_codes"]),
                    data["n_vectors"],
                    float(meta["neighbour_step"]),
                )
            if "vote_share" in data and "tfidf_rows" not in data:
                raise ValueError(f"{path}'s vote reads TF-IDF rows the file does not hold")
            tfidf_rows = None
            if "tfidf_rows" in data:
                tfidf_rows = TfidfRows.of(
                    data["tfidf_starts"],
                    data["tfidf_rows"],
                    data["tfidf_values"],
                    int(meta["tfidf_count"]),
                )
            return cls(
                codes=tuple(meta["codes"]),
                # The full model's lookups cost nothing beside its encoder; the router's
                # TF-IDF-only model is those lookups, and keeps dictionaries (term_index).
                chars=Vocabulary.of(char_terms, data["char_idf"], 0, in_trie=reads_vectors),
                words=Vocabulary.of(
                    word_terms, data["word_idf"], len(char_terms), in_trie=reads_vectors
                ),
                weights=data["w"].astype(np.float32),
                bias=data["b"].astype(np.float32),
                thresholds=data["t"].astype(np.float32),
                vector_weights=vector_weights,
                neighbours=neighbours,
                keep=data["k"].astype(np.float32) if "k" in data else None,
                cue_weights=data["q"].astype(np.float32) if "q" in data else None,
                pooling=tuple(meta.get("pooling", ())),
                pooled_weights=data["s"].astype(np.float32) if "s" in data else None,
                vote=NeighbourVote(
                    data["vote_k"].astype(np.int64),
                    data["vote_gamma"].astype(np.float32),
                    data["vote_weight"].astype(np.float32),
                    data["vote_share"].astype(np.float32) if "vote_share" in data else None,
                )
                if "vote_k" in data
                else None,
                tfidf_rows=tfidf_rows,
            )


def _logit(probability: float) -> float:
    return math.log(probability / (1 - probability))


def _joined(strings: Sequence[str]) -> npt.NDArray[np.uint8]:
    return np.frombuffer("\0".join(strings).encode(), np.uint8)


def _split(data: npt.NDArray[np.uint8]) -> list[str]:
    return data.tobytes().decode().split("\0")


@functools.cache
def _load(path: Path) -> ReasonModel:
    return ReasonModel.read(path)


def load_model(path: Path = DEFAULT_MODEL) -> ReasonModel:
    """The model in ``path``, read once per file for the life of the process: a router, the
    re-coding CLI and the evaluation may compile several taxonomies, never several models."""
    return _load(path.resolve())
