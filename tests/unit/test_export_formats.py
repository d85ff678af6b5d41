"""The export writers without a database: they stream, stop cleanly, and match the docs."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from arro3.io import read_parquet

from winback_notifier.reports.export import COLUMNS, ColumnKind
from winback_notifier.reports.export_formats import ExportFormat, csv_chunks, encode
from winback_notifier.reports.parquet_export import parquet_chunks

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SAMPLE = {
    ColumnKind.INT: 7,
    ColumnKind.TEXT: 'a, "quoted"\nline',
    ColumnKind.TIME: START,
    ColumnKind.BOOL: True,
    ColumnKind.FLOAT: 12.5,
}


def row(case_id: int) -> tuple[object, ...]:
    values = [SAMPLE[column.kind] for column in COLUMNS]
    values[0] = case_id
    return tuple(values)


class Source:
    """Batches of two rows each, recording how far the writer has read and whether it closed."""

    def __init__(self, batches: int) -> None:
        self.batches = batches
        self.read = 0
        self.closed = False

    async def rows(self) -> AsyncIterator[list[tuple[object, ...]]]:
        try:
            for batch in range(self.batches):
                self.read += 1
                yield [row(batch * 2), row(batch * 2 + 1)]
        finally:
            self.closed = True


async def test_csv_round_trips_quoting_times_and_empty_values() -> None:
    async def batches() -> AsyncIterator[list[tuple[object, ...]]]:
        yield [row(1), tuple(None if i else 2 for i in range(len(COLUMNS)))]

    body = b"".join([chunk async for chunk in csv_chunks(batches())])

    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert rows[0]["case_id"] == "1"
    text_column = next(c.name for c in COLUMNS if c.kind is ColumnKind.TEXT)
    time_column = next(c.name for c in COLUMNS if c.kind is ColumnKind.TIME)
    assert rows[0][text_column] == SAMPLE[ColumnKind.TEXT]
    assert rows[0][time_column] == "2026-03-01T09:30:00+00:00"
    assert rows[0]["apology"] == "true"
    assert set(rows[1].values()) == {"2", ""}


async def test_parquet_streams_row_groups_before_the_source_is_read_to_the_end(
    tmp_path: Path,
) -> None:
    source = Source(batches=50)
    chunks = parquet_chunks(source.rows(), row_group_rows=4)

    first = await anext(chunks)
    read_when_first_chunk_came = source.read
    rest = [chunk async for chunk in chunks]

    assert first.startswith(b"PAR1")
    assert read_when_first_chunk_came < source.batches
    assert source.closed
    path = tmp_path / "out.parquet"
    path.write_bytes(first + b"".join(rest))
    table = read_parquet(str(path)).read_all()
    assert table.num_rows == 100
    assert table.column("case_id").to_pylist() == list(range(100))
    assert table.column("opened_at").to_pylist()[0] == START
    assert table.column("compensation_value").to_pylist()[0] == 12.5


async def test_a_reader_that_goes_away_stops_the_writer_and_closes_the_source() -> None:
    source = Source(batches=10_000)
    chunks = parquet_chunks(source.rows(), row_group_rows=4)
    await anext(chunks)

    await chunks.aclose()  # what a client disconnect does to the response's iterator

    for _ in range(200):
        if source.closed:
            break
        await asyncio.sleep(0.05)
    assert source.closed
    assert source.read < source.batches


async def test_through_encode_a_reader_that_goes_away_still_stops_the_writer() -> None:
    """The export views read :func:`encode`, whose Parquet generator wraps the writer's (its
    module imported in a thread); closing the wrapper must reach the writer."""
    source = Source(batches=20_000)
    chunks = encode(ExportFormat.PARQUET, source.rows())
    first = await anext(chunks)

    await chunks.aclose()

    for _ in range(200):
        if source.closed:
            break
        await asyncio.sleep(0.05)
    assert first.startswith(b"PAR1")
    assert source.closed
    assert source.read < source.batches


def test_every_column_is_documented_in_order() -> None:
    text = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    section = text.split("### Export columns", 1)[1].split("\n#", 1)[0]
    documented = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
    assert documented == [column.name for column in COLUMNS]
