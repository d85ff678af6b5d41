"""Archive files: JSON Lines in gzip, with a manifest that says what the file must hold.

Written to a temporary name, flushed to disk and renamed, so a file under its final name is
always whole; the gzip header carries no time, so the same rows always give the same bytes
(a run repeated after a crash writes exactly the file it wrote before).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

MANIFEST_SUFFIX = ".manifest.json"


def chain_digest(hashes: Iterable[bytes]) -> str:
    """sha256(state || hash) folded over ``hashes`` in order, as hex: the same as PostgreSQL's
    ``hash_chain_digest`` aggregate (migration 0025), in constant memory on both sides."""
    state = b""
    for value in hashes:
        state = hashlib.sha256(state + value).digest()
    return state.hex()


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return value


def row_line(row: Mapping[str, Any]) -> bytes:
    """One row as one line: keys sorted, times in ISO 8601 with their offset, bytes in hex."""
    record = {key: _json_value(value) for key, value in row.items()}
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Manifest:
    """What an archive file holds, written beside it."""

    table: str
    partition: str
    range_from: str
    range_to: str
    rows: int
    first_at: str | None
    last_at: str | None
    rows_digest: str
    """:func:`chain_digest` of the rows' ``hash_field``, in file order."""
    sha256: str
    """Of the archive file's bytes."""
    format: str = "jsonl+gzip; one row per line, keys sorted, bytea in hex"
    hash_field: str = "row_hash"
    """Which field of each line the digest folds: the history's chain hash, or for a table
    without one (``survey_responses``) the sha256 PostgreSQL computed of the row's text
    (``row_sha256``). Manifests written before this field existed are the history's."""


@dataclass(frozen=True)
class Written:
    """An archive file and its manifest, on disk under their final names."""

    path: Path
    manifest: Manifest


def manifest_path(archive: Path) -> Path:
    """Where ``archive``'s manifest lives."""
    return archive.with_name(archive.name + MANIFEST_SUFFIX)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _publish(temporary: Path, final: Path) -> None:
    """Flush ``temporary`` to disk and rename it to ``final`` (and flush the directory)."""
    with temporary.open("rb") as written:
        os.fsync(written.fileno())
    temporary.replace(final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class ArchiveWriter:
    """Writes one archive file line by line, then its manifest."""

    def __init__(
        self, path: Path, *, table: str, partition: str, key: str, hash_field: str = "row_hash"
    ) -> None:
        self.path = path
        self._table = table
        self._partition = partition
        self._key = key
        self._hash_field = hash_field
        path.parent.mkdir(parents=True, exist_ok=True)
        self._temporary = path.with_name(path.name + ".tmp")
        self._file = gzip.GzipFile(self._temporary, "wb", mtime=0)
        self._rows = 0
        self._state = b""
        self._first: datetime | None = None
        self._last: datetime | None = None

    def write(self, row: Mapping[str, Any]) -> None:
        """Append one row (it must carry its ``hash_field`` and the table's time ``key``)."""
        self._file.write(row_line(row) + b"\n")
        self._rows += 1
        self._state = hashlib.sha256(self._state + bytes(row[self._hash_field])).digest()
        moment = row[self._key]
        self._first = moment if self._first is None else min(self._first, moment)
        self._last = moment if self._last is None else max(self._last, moment)

    def finish(self, range_from: datetime, range_to: datetime) -> Written:
        """Close the file and write the manifest; both under their final names."""
        self._file.close()
        _publish(self._temporary, self.path)
        manifest = Manifest(
            table=self._table,
            partition=self._partition,
            range_from=range_from.isoformat(),
            range_to=range_to.isoformat(),
            rows=self._rows,
            first_at=self._first.isoformat() if self._first else None,
            last_at=self._last.isoformat() if self._last else None,
            rows_digest=self._state.hex(),
            sha256=_sha256_of(self.path),
            hash_field=self._hash_field,
        )
        target = manifest_path(self.path)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
        _publish(temporary, target)
        return Written(self.path, manifest)


def read_manifest(archive: Path) -> Manifest:
    """The manifest beside ``archive``."""
    return Manifest(**json.loads(manifest_path(archive).read_text()))


def verify(archive: Path) -> list[str]:
    """Read ``archive`` back and compare it with its manifest; the problems found (none: []).

    Checks the file's sha256, that every line parses, the row count and the digest of the
    rows' chain hashes.
    """
    manifest = read_manifest(archive)
    problems = []
    if _sha256_of(archive) != manifest.sha256:
        problems.append("sha256 of the file differs from the manifest's")
    rows = 0
    state = b""
    with gzip.open(archive, "rb") as lines:
        for line in lines:
            value = bytes.fromhex(json.loads(line)[manifest.hash_field])
            state = hashlib.sha256(state + value).digest()
            rows += 1
    if rows != manifest.rows:
        problems.append(f"{rows} rows in the file, {manifest.rows} in the manifest")
    if state.hex() != manifest.rows_digest:
        problems.append("digest of the rows' hashes differs from the manifest's")
    return problems
