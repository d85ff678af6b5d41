"""Writing exported cases as CSV or Parquet, a batch at a time, as chunks of bytes.

Both writers take the batches of :func:`winback_notifier.reports.export.case_batches` and give
back bytes as they go, so an HTTP response or a file can be written while the database is
still being read, with memory bounded by one batch and one Parquet row group.

The Parquet writer lives in :mod:`winback_notifier.reports.parquet_export` and is imported on
the first Parquet export only, in a worker thread: its Arrow libraries add about 8 MB to a
process's resident memory, and every notifier imports this module while few ever export
Parquet (docs/performance.md section 36).
"""

from __future__ import annotations

import asyncio
import csv
import importlib
import io
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from enum import StrEnum

from winback_notifier.reports.export import COLUMNS, Batches


class ExportFormat(StrEnum):
    """The formats an export is offered in."""

    CSV = "csv"
    PARQUET = "parquet"

    @property
    def media_type(self) -> str:
        """The ``Content-Type`` of a download."""
        return {
            ExportFormat.CSV: "text/csv; charset=utf-8",
            ExportFormat.PARQUET: "application/vnd.apache.parquet",
        }[self]


def encode(kind: ExportFormat, batches: Batches) -> AsyncGenerator[bytes, None]:
    """The export in ``kind``, as chunks of bytes."""
    return csv_chunks(batches) if kind is ExportFormat.CSV else _parquet_chunks(batches)


PARQUET_MODULE = "winback_notifier.reports.parquet_export"


async def _parquet_chunks(batches: Batches) -> AsyncGenerator[bytes, None]:
    """The Parquet writer's chunks, its module imported in a worker thread: loading Arrow the
    first time takes a few tenths of a second, which the notifier's event loop (the consoles'
    alerts) must not spend waiting."""
    await asyncio.to_thread(importlib.import_module, PARQUET_MODULE)
    from winback_notifier.reports.parquet_export import parquet_chunks

    chunks = parquet_chunks(batches)
    try:
        async for chunk in chunks:
            yield chunk
    finally:
        await chunks.aclose()  # the reader gone: the writer's thread stops


def _csv_text(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


async def csv_chunks(batches: Batches) -> AsyncGenerator[bytes, None]:
    """A header line, then one chunk per batch (RFC 4180 quoting, UTF-8, CRLF line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(column.name for column in COLUMNS)
    yield flush()
    async for rows in batches:
        writer.writerows([_csv_text(row[i]) for i in range(len(COLUMNS))] for row in rows)
        yield flush()
