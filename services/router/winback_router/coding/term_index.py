"""A vocabulary's terms and their feature positions in a trie: a dictionary's answers in a
twentieth of its memory, at a few times its lookup time.

The model's two vocabularies (55,930 character n-grams, 45,720 words and word pairs) as
dictionaries take 13.5 MB: a string object per term and the tables. A marisa trie
(``marisa-trie``, as :mod:`~winback_router.coding.piece_trie` uses) holds the same terms in
about 0.3 MB and gives each a key id; an ``array`` maps the key id to the feature position.
A term with a NUL is never found (a comment's n-grams can hold one; the trie would read the
term only up to it). A lookup is a method call and a trie walk, about five times a
dictionary's: nothing beside the sentence encoder of the full model (the refiner's), too much
for the router's TF-IDF-only model, whose whole cost is those lookups. :meth:`ReasonModel.read
<winback_router.coding.learned.ReasonModel.read>` chooses accordingly.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence, ValuesView
from typing import TypeVar, overload

import marisa_trie

_INT32 = next(code for code in "ilh" if array(code).itemsize == 4)
_T = TypeVar("_T")
_NUL = "\0"
"""marisa reads a key up to its first NUL: looked up, ``"a\\0b"`` would be found as ``"a"``."""


class TermIndex(Mapping[str, int]):
    """Each term's feature position (``offset`` plus its place in ``terms``), read-only: the
    ``Mapping`` a :class:`~winback_router.coding.learned.Vocabulary` indexes with, iterated in
    feature order as a dictionary built in that order is."""

    def __init__(self, terms: Sequence[str], offset: int = 0) -> None:
        if any(_NUL in term for term in terms):
            raise ValueError("a vocabulary's terms cannot hold NUL (a model file separates them)")
        self._trie = marisa_trie.Trie(terms)
        if len(self._trie) != len(terms):
            raise ValueError("a vocabulary's terms must be distinct")
        self._positions = array(_INT32, bytes(4 * len(terms)))
        for position, term in enumerate(terms):
            self._positions[self._trie[term]] = position + offset
        self._offset = offset

    @overload
    def get(self, term: str, /) -> int | None: ...
    @overload
    def get(self, term: str, default: int, /) -> int: ...
    @overload
    def get(self, term: str, default: _T, /) -> int | _T: ...
    def get(self, term: str, default: object = None, /) -> object:
        """The term's position, or ``default`` for a term not in the vocabulary (without the
        exception ``Mapping.get`` would raise and catch for each: most word pairs are not)."""
        key = self._key(term)
        return default if key is None else self._positions[key]

    def __getitem__(self, term: str) -> int:
        key = self._key(term)
        if key is None:
            raise KeyError(term)
        return self._positions[key]

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._key(term) is not None

    def _key(self, term: str) -> int | None:
        """The term's key id; None for a term the trie cannot hold: one with a NUL, or a lone
        surrogate (a JSON comment can carry ``\\ud800``; UTF-8 cannot), as a dictionary of
        the file's terms would not hold it either."""
        if _NUL in term:
            return None
        try:
            key: int | None = self._trie.get(term)
        except UnicodeEncodeError:
            return None
        return key

    def __len__(self) -> int:
        return len(self._positions)

    def __iter__(self) -> Iterator[str]:
        """The terms in feature order (the order they were given in)."""
        keys = [0] * len(self._positions)
        for key, position in enumerate(self._positions):
            keys[position - self._offset] = key
        restore = self._trie.restore_key
        return (restore(key) for key in keys)

    def values(self) -> ValuesView[int]:
        """The positions in feature order, without a lookup each: they are ``offset`` onwards,
        one per term (``WordFeatures`` reads their bounds at every model load; through the
        lookups that took a quarter of a second)."""
        return _Positions(self)


class _Positions(ValuesView[int]):
    """A :class:`TermIndex`'s values: consecutive positions from its offset."""

    _mapping: TermIndex

    def __iter__(self) -> Iterator[int]:
        index = self._mapping
        return iter(range(index._offset, index._offset + len(index)))

    def __contains__(self, position: object) -> bool:
        index = self._mapping
        return isinstance(position, int) and index._offset <= position < index._offset + len(index)
