"""Writing exported cases as a Parquet file, a row group at a time, as chunks of bytes.

Parquet is written with ``arro3-io`` (Arrow and Parquet in Rust, about 12 MB of wheels with
``arro3-core``) rather than ``pyarrow`` (a 55 MB wheel, 170 MB installed, ~40 MB more resident
after import): for a flat table of a few dozen columns the smaller writer does the same job
(measured in docs/operations.md). Its writer pulls batches from an iterator and pushes bytes to
a file object, both synchronously, so it runs in a worker thread that borrows the event loop
to fetch the next batch and hands each chunk back through a queue; a bounded number of chunks
in flight keeps a slow client from making the writer buffer the export.

Only :func:`winback_notifier.reports.export_formats.encode` imports this module, on the first
Parquet export, so a notifier that never exports Parquet never loads Arrow.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import AsyncGenerator, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import IO, cast

from arro3.core import Array, DataType, Field, RecordBatch, RecordBatchReader, Schema
from arro3.io import write_parquet

from winback_notifier.reports.export import COLUMNS, Batches, ColumnKind, Row

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ARROW_TYPES = {
    ColumnKind.INT: DataType.int64(),
    ColumnKind.TEXT: DataType.string(),
    ColumnKind.BOOL: DataType.bool(),
    ColumnKind.FLOAT: DataType.float64(),
    ColumnKind.TIME: DataType.timestamp("us", tz="UTC"),
}
SCHEMA = Schema([Field(column.name, _ARROW_TYPES[column.kind], True) for column in COLUMNS])
"""The Parquet file's schema: every column nullable, times as UTC microseconds."""


def _micros(value: object) -> int | None:
    return None if value is None else (cast(datetime, value) - _EPOCH) // timedelta(microseconds=1)


def _arrow_column(kind: ColumnKind, values: list[object]) -> Array:
    if kind is ColumnKind.TIME:
        # arro3 builds timestamps from integers only: microseconds since the epoch, then cast.
        return Array([_micros(value) for value in values], DataType.int64()).cast(
            _ARROW_TYPES[kind]
        )
    return Array(values, _ARROW_TYPES[kind])


def record_batch(rows: Sequence[Row]) -> RecordBatch:
    """One batch of rows as an Arrow record batch with :data:`SCHEMA`."""
    columns = [
        _arrow_column(column.kind, [row[index] for row in rows])
        for index, column in enumerate(COLUMNS)
    ]
    return RecordBatch(columns, schema=SCHEMA)


class _ChunkSink(io.RawIOBase):
    """The file object the Parquet writer writes to: each write becomes a chunk to send."""

    def __init__(self, deliver: Callable[[bytes], None]) -> None:
        super().__init__()
        self._deliver = deliver
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(cast(bytes, data))
        self._deliver(chunk)
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # The writer only asks where it is; a Parquet file is written front to back.
        return self._written


class ExportStopped(Exception):
    """The reader of a Parquet export went away; the worker thread stops writing."""


CHUNKS_IN_FLIGHT = 8
_POLL_SECONDS = 0.25


async def parquet_chunks(
    batches: Batches, *, row_group_rows: int = 10_000
) -> AsyncGenerator[bytes, None]:
    """The export as a Parquet file (zstd-compressed row groups), chunk by chunk."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
    room = threading.Semaphore(CHUNKS_IN_FLIGHT)
    stop = threading.Event()

    def deliver(chunk: bytes) -> None:
        while not room.acquire(timeout=_POLL_SECONDS):
            if stop.is_set():
                raise ExportStopped
        if stop.is_set():
            raise ExportStopped
        loop.call_soon_threadsafe(chunks.put_nowait, chunk)

    def record_batches() -> Iterator[RecordBatch]:
        while not stop.is_set():
            rows = asyncio.run_coroutine_threadsafe(anext(batches, None), loop).result()
            if rows is None:
                return
            yield record_batch(rows)

    def write() -> None:
        try:
            write_parquet(
                RecordBatchReader.from_batches(SCHEMA, record_batches()),
                cast(IO[bytes], _ChunkSink(deliver)),
                compression="zstd(3)",
                max_row_group_size=row_group_rows,
            )
        finally:
            asyncio.run_coroutine_threadsafe(_close(batches), loop).result()
            loop.call_soon_threadsafe(chunks.put_nowait, None)

    worker = loop.run_in_executor(None, write)
    try:
        while (chunk := await chunks.get()) is not None:
            room.release()
            yield chunk
        await worker  # raises what the writer raised
    finally:
        # Normal end, an error, or the reader gone (the generator closed or cancelled): the
        # worker sees ``stop`` within a poll, closes the batches and ends without us waiting.
        stop.set()
        worker.add_done_callback(_ignore_outcome)


async def _close(batches: Batches) -> None:
    closer = getattr(batches, "aclose", None)
    if closer is not None:
        await closer()


def _ignore_outcome(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # read, so asyncio does not log it as never retrieved
