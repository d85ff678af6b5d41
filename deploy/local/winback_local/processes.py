"""Child processes that cannot outlive us.

Each child gets SIGTERM from the kernel if this process dies without cleaning up (Linux
``PR_SET_PDEATHSIG``), so even a killed test run leaves no broker or service behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(
    argv: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session with output appended to ``log_path``.

    Call it from the main thread: the kernel sends the parent-death signal when the *thread*
    that forked the child ends, so a child spawned from a worker thread dies with that thread.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_file: IO[bytes] = log_path.open("ab")
    try:
        return subprocess.Popen(
            list(argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    finally:
        log_file.close()


def stop(process: subprocess.Popen[bytes], *, grace_seconds: float = 15) -> None:
    """SIGTERM, wait for a graceful exit, then SIGKILL."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole session at once, as a crash would, and reap it.

    The session (its own, see :func:`spawn`) includes anything the child started, so nothing of
    it lingers half-alive.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def last_error(log_path: Path, *, tail_bytes: int = 64_000) -> str | None:
    """The message of the last error in a service's JSON log, or None.

    A service that exits during start-up says why in its log (a port already taken, a database
    it cannot reach); quoting that line in the runner's own message saves a newcomer opening
    the log to learn it. Lines that are not JSON (a Python traceback) are skipped.
    """
    try:
        with log_path.open("rb") as log:
            log.seek(max(0, log_path.stat().st_size - tail_bytes))
            lines = log.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                return str(entry.get("message", ""))
    return None
