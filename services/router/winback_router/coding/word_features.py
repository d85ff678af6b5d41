"""A comment's TF-IDF feature counts, word by word from a cache, counted in numpy.

:meth:`~winback_router.coding.learned.ReasonModel.text_logits` needs, for the character block
and the word block, each known feature once with its number of occurrences, in the order the
features first occur (the order fixes the summation order of the norms and of the product
with the weights, so any other order could move a logit's last bit). Read plainly that is
every n-gram of the comment looked up and counted with a ``Counter``: about 1,500 character
n-grams for a 100-word comment, the largest part of the model's time.

Here each distinct whitespace-separated word is read once for the life of the model: the
features of its character n-grams (they never span another word: scikit-learn's ``char_wb``
pads each word alone), its tokens and their features (``\\w+`` runs never cross whitespace,
so the comment's tokens are its words' tokens in turn). A comment then costs its words'
features joined (the character block's first, then the tokens'), its word pairs looked up
(they cross words), and one counting pass over scratch arrays as long as the vocabulary
(:class:`Scratch`): ``np.add.at`` counts, ``np.minimum.at`` finds each feature's first
occurrence, and the features kept in the order of their first occurrence are exactly a
``Counter``'s keys. The counts are integers held exactly in float64, so the model's weighting
of them is the plain path's to the bit (``docs/performance.md``, section 22).
"""

from __future__ import annotations

import re
import threading
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from winback_router.coding.recent_cache import RecentCache

Indices = npt.NDArray[np.int64]
Counts = npt.NDArray[np.float64]
WORD_CACHE_GENERATION = 20_000
"""Words a model's cache generation holds (a few hundred bytes each; at most two generations,
the words used most recently: :mod:`winback_router.coding.recent_cache`)."""
FEATURE_BATCH_CHARACTERS = 16_384
"""Characters of folded text counted in one set of batch arrays (:meth:`WordFeatures.counts_many`
as :meth:`~winback_router.coding.learned.ReasonModel.tfidf_row_each` calls it). The arrays take
about 80 bytes per n-gram occurrence, and a 500-character comment has about 1,500 of them: a
router batch of 200 such comments held 15.7 MB at once, which glibc then kept as free heap
between batches (docs/performance.md, section 37). A group of this size holds about 2 MB, and
short comments still go 200 to a group, so the numpy calls per comment stay few."""
_NOT_SEEN = np.iinfo(np.int64).max
_INT32 = next(code for code in "ilh" if array(code).itemsize == 4)
"""The ``array`` type code of a C int32, as the cache's bytes hold features."""


def character_bounded(texts: Sequence[str], budget: int) -> Iterator[Sequence[str]]:
    """``texts`` in order, in consecutive groups of at most ``budget`` characters each; a text
    longer than ``budget`` makes a group of its own."""
    start = 0
    size = 0
    for index, text in enumerate(texts):
        if size + len(text) > budget and index > start:
            yield texts[start:index]
            start, size = index, 0
        size += len(text)
    if start < len(texts):
        yield texts[start:]


@dataclass(frozen=True, slots=True)
class FeatureCounts:
    """A comment's known features, each once, in first-seen order, with their counts: the
    character block's ``chars`` first, then the word block's."""

    positions: Indices
    counts: Counts
    chars: int


@dataclass(frozen=True, slots=True)
class BatchCounts:
    """:class:`FeatureCounts` of a batch of comments in shared arrays: comment ``i``'s
    features are ``positions[marks[2i]:marks[2i + 2]]``, its character block's the first
    ``marks[2i + 1] - marks[2i]`` of them."""

    positions: Indices
    counts: Counts
    marks: list[int]

    def __len__(self) -> int:
        return len(self.marks) // 2

    def of(self, index: int) -> FeatureCounts:
        """Comment ``index``'s counts (views of the batch's arrays)."""
        start, chars, end = self.marks[2 * index : 2 * index + 3]
        return FeatureCounts(self.positions[start:end], self.counts[start:end], chars - start)


@dataclass(frozen=True, slots=True)
class _Word:
    """What one whitespace-separated word contributes, read once."""

    chars: bytes
    """Its character n-grams' features, in order, repeats kept, as int32 (bytes: a third of
    an array's overhead, and a comment's words joined in one ``bytes.join``)."""
    tokens: tuple[str, ...]
    token_features: tuple[int, ...]
    """Its known tokens' features, in order, repeats kept."""


_CHARS = attrgetter("chars")
_TOKENS = attrgetter("tokens")
_TOKEN_FEATURES = attrgetter("token_features")


class Scratch:
    """One thread's counting arrays, as long as the vocabulary: every entry is back to its
    resting value (0, not seen) after each count, so nothing is allocated per comment."""

    def __init__(self, size: int) -> None:
        self.counts: Counts = np.zeros(size, dtype=np.float64)
        self.first: Indices = np.full(size, _NOT_SEEN, dtype=np.int64)

    def count(self, positions: Indices) -> tuple[Indices, Counts]:
        """Each distinct position once, in the order of its first occurrence, with its number
        of occurrences: what a ``Counter`` over ``positions`` holds, in its order."""
        occurrence = np.arange(positions.size, dtype=np.int64)
        try:
            np.add.at(self.counts, positions, 1.0)
            np.minimum.at(self.first, positions, occurrence)
            distinct = positions[self.first[positions] == occurrence]
            return distinct, self.counts[distinct]
        finally:
            self.counts[positions] = 0.0
            self.first[positions] = _NOT_SEEN

    def count_into(
        self,
        positions: Indices,
        occurrence: Indices,
        first: npt.NDArray[np.bool_],
        seen: Counts,
    ) -> None:
        """:meth:`count` written into a batch's arrays: ``first[i]`` whether occurrence ``i``
        is its position's first, ``seen[i]`` how often its position occurs (``occurrence``:
        any increasing numbers, one per position)."""
        try:
            np.add.at(self.counts, positions, 1.0)
            np.minimum.at(self.first, positions, occurrence)
            np.equal(self.first.take(positions), occurrence, out=first)
            self.counts.take(positions, out=seen)
        finally:
            self.counts[positions] = 0.0
            self.first[positions] = _NOT_SEEN


class WordFeatures:
    """One model's feature counting, with its cache of words and a scratch per thread.

    ``chars`` and ``words``: the two vocabularies' terms and feature positions (disjoint, every
    character position below every word position); ``char_grams`` and ``token_pattern`` the
    analysers they were learnt with (``learned.char_ngrams`` and its token pattern);
    ``pair_sizes`` the word n-gram sizes above one. Safe to share between threads: the cache
    only holds complete entries (:class:`RecentCache`), and each thread counts in its own
    scratch.
    """

    def __init__(
        self,
        chars: Mapping[str, int],
        words: Mapping[str, int],
        char_grams: Callable[[str], list[str]],
        token_pattern: re.Pattern[str],
        pair_sizes: range,
    ) -> None:
        last_char = max(chars.values(), default=-1)
        self._first_word = min(words.values(), default=last_char + 1)
        if self._first_word <= last_char:
            raise ValueError("every character feature must come before every word feature")
        self._size = max(words.values(), default=last_char) + 1
        if self._size > np.iinfo(np.int32).max:
            raise ValueError("a vocabulary of more than 2**31 features")
        self._chars = chars
        self._words = words
        self._char_grams = char_grams
        self._tokens = token_pattern
        self._pair_sizes = pair_sizes
        self._cache: RecentCache[str, _Word] = RecentCache(WORD_CACHE_GENERATION)
        self._local = threading.local()

    def counts(self, folded: str) -> FeatureCounts:
        """The known features of a folded comment, counted, as the plain ``Counter`` over
        the character n-grams' features, then over the word n-grams', gives them."""
        return self.counts_many([folded]).of(0)

    def counts_many(self, texts: Sequence[str]) -> BatchCounts:
        """:meth:`counts` of each folded text, in arrays shared by the batch: the per-comment
        numpy calls were most of a short comment's cost (docs/performance.md, section 33).
        The positions of every text are joined in one buffer and made int64 once; each text
        is still counted alone in the scratch (features recur across comments, so counting
        the batch at once would need a sort, slower than the scratch for a long comment),
        its first occurrences and counts written into the batch's arrays, and the features
        kept, their counts and each text's boundaries read back with a few calls for all."""
        parts: list[bytes] = []
        ends: list[int] = []
        """Per text, the end of its character block, then its end, in positions."""
        end = 0
        for folded in texts:
            chars, words = self._positions(folded)
            parts += (chars, words)
            end += len(chars) // 4
            ends.append(end)
            end += len(words) // 4
            ends.append(end)
        # int32 as cached; ufunc.at takes int32 indices at twice the time, hence int64
        positions = np.frombuffer(b"".join(parts), dtype=np.int32).astype(np.int64)
        occurrence = np.arange(positions.size, dtype=np.int64)
        first = np.empty(positions.size, dtype=np.bool_)
        seen = np.empty(positions.size, dtype=np.float64)
        scratch = self._scratch()
        start = 0
        for stop in ends[1::2]:
            scratch.count_into(
                positions[start:stop], occurrence[start:stop], first[start:stop], seen[start:stop]
            )
            start = stop
        # kept[i]: how many features are kept before position i (first occurrences)
        kept = np.zeros(positions.size + 1, dtype=np.int64)
        np.cumsum(first, out=kept[1:])
        marks: list[int] = kept[[0, *ends]].tolist()
        return BatchCounts(positions[first], seen[first], marks)

    def _positions(self, folded: str) -> tuple[bytes, bytes]:
        """A folded text's positions as int32 bytes: its character n-grams', then its word
        n-grams' (tokens, then pairs), repeats kept, in order."""
        words = folded.split()
        recent = self._cache.recent
        if not recent.keys() >= set(words):
            read = {word: self._word(word) for word in set(words)}
            entries = [read[word] for word in words]
        else:
            entries = list(map(recent.__getitem__, words))
        tokens = list(chain.from_iterable(map(_TOKENS, entries)))
        known = array(_INT32, chain.from_iterable(map(_TOKEN_FEATURES, entries)))
        index = self._words
        for n in self._pair_sizes:
            grams = map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False))
            known.extend(position for position in map(index.get, grams) if position is not None)
        return b"".join(map(_CHARS, entries)), known.tobytes()

    def _scratch(self) -> Scratch:
        scratch: Scratch | None = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = Scratch(self._size)
        return scratch

    def _word(self, word: str) -> _Word:
        entry = self._cache.get(word)
        if entry is None:
            entry = self._read(word)
            self._cache.put(word, entry)
        return entry

    def _read(self, word: str) -> _Word:
        chars = [p for p in map(self._chars.get, self._char_grams(word)) if p is not None]
        found = self._tokens.findall(word)
        tokens = (word,) if found == [word] else tuple(found)  # most words: one token, kept once
        return _Word(
            np.array(chars, dtype=np.int32).tobytes(),
            tokens,
            tuple(p for p in map(self._words.get, tokens) if p is not None),
        )
