"""The retention job's pure parts: which months expire, and archive files that check out."""

from __future__ import annotations

import gzip
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from winback_shared.retention.archive import ArchiveWriter, chain_digest, read_manifest, verify
from winback_shared.retention.plan import MonthPartition, expired, month_start, retention_cut


def month(year: int, number: int) -> MonthPartition:
    starts = datetime(year, number, 1, tzinfo=UTC)
    return MonthPartition(
        "case_history",
        f"case_history_p{year}{number:02d}",
        starts,
        month_start(datetime(year, number, 15, tzinfo=UTC), -1),
    )


def test_the_current_month_and_the_kept_ones_stay() -> None:
    now = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    partitions = [
        month(2024, 9),
        month(2024, 10),
        month(2024, 11),
        month(2026, 11),
        month(2026, 12),
        month(2024, 8),
    ]
    assert retention_cut(now, 24) == datetime(2024, 11, 1, tzinfo=UTC)
    assert [p.name for p in expired(partitions, now, 24)] == [
        "case_history_p202408",
        "case_history_p202409",
        "case_history_p202410",
    ]
    assert [p.name for p in expired(partitions, now, 1)][-1] == "case_history_p202411"
    assert month(2026, 12).ends == datetime(2027, 1, 1, tzinfo=UTC)


def test_months_are_utc_and_the_current_one_is_never_expired() -> None:
    late_evening_west = datetime.fromisoformat("2026-10-31T21:00:00-05:00")  # November in UTC
    assert month_start(late_evening_west) == datetime(2026, 11, 1, tzinfo=UTC)
    assert month_start(late_evening_west, 13) == datetime(2025, 10, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="current month"):
        retention_cut(late_evening_west, 0)


def rows() -> list[dict[str, object]]:
    return [
        {
            "case_id": 7,
            "seq": seq,
            "occurred_at": datetime(2020, 1, seq, tzinfo=UTC),
            "data": {"é": seq},
            "prev_hash": None if seq == 1 else bytes([seq - 1]) * 32,
            "row_hash": bytes([seq]) * 32,
        }
        for seq in (1, 2, 3)
    ]


def write(path: Path) -> None:
    writer = ArchiveWriter(path, table="case_history", partition="p", key="occurred_at")
    for row in rows():
        writer.write(row)
    writer.finish(datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 2, 1, tzinfo=UTC))


def test_an_archive_reads_back_as_its_manifest_says_and_is_the_same_bytes_each_time(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a" / "p.1.jsonl.gz"
    write(path)
    manifest = read_manifest(path)
    assert verify(path) == []
    assert manifest.rows == 3
    assert manifest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest.rows_digest == chain_digest(bytes([n]) * 32 for n in (1, 2, 3))
    assert manifest.first_at == "2020-01-01T00:00:00+00:00"
    assert manifest.last_at == "2020-01-03T00:00:00+00:00"
    first = path.read_bytes()
    write(path)
    assert path.read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "p.1.jsonl.gz",
        "p.1.jsonl.gz.manifest.json",
    ]


def test_a_damaged_or_shortened_archive_is_found(tmp_path: Path) -> None:
    path = tmp_path / "p.1.jsonl.gz"
    write(path)
    lines = gzip.decompress(path.read_bytes()).splitlines(keepends=True)
    path.write_bytes(gzip.compress(b"".join(lines[:2]), mtime=0))
    assert verify(path) == [
        "sha256 of the file differs from the manifest's",
        "2 rows in the file, 3 in the manifest",
        "digest of the rows' hashes differs from the manifest's",
    ]
