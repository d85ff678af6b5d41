"""The stack under test: its own on free ports, or the Kafka and PostgreSQL the environment names.

Free ports and a fresh state directory mean a developer's ``winback run`` (or a test run) on the
default ports is neither disturbed nor measured by mistake. ``KAFKA_BOOTSTRAP_SERVERS`` and
``DATABASE_URL`` (with ``WINBACK_TOPIC_*`` and ``WINBACK_ROUTER_GROUP`` to keep to one's own
topics and group) point it at infrastructure that is already running, as ``Stack`` does.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from winback_local.bench.loadgen import BenchError
from winback_local.stack import Instances, Ports, Stack, StackInfo

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
OPEN_FILES = 8192
"""A thousand consoles are a thousand sockets in the notifier (which inherits our limits)."""


def require_loopback(url: str) -> None:
    """Refuse anything but loopback: a load generator must never hit a shared system by mistake."""
    if urlsplit(url).hostname not in LOOPBACK_HOSTS:
        raise BenchError(f"refusing non-loopback target {url!r}")


def _raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _raise_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM into an exception so the ``finally`` that stops the stack runs (once)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def running_stack(
    state_dir: Path, *, refiner: bool = True, routers: int = 1
) -> Iterator[tuple[StackInfo, Stack]]:
    """Start the stack (bounded by its own start-up limits); always stop it afterwards.
    ``refiner=False`` leaves the refiner out (the pipeline as it was before refinement);
    ``routers`` router processes share one consumer group (``survey-responses`` has
    ``WINBACK_TOPIC_PARTITIONS`` partitions, 6 by default: more routers than that would idle)."""
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    _raise_open_files()
    ports = Ports.free()
    # One source sends everything here; the per-source rate limit would measure itself, not the
    # pipeline. The services inherit this process's environment.
    os.environ.setdefault("WINBACK_RATE_PER_SOURCE", "1000000")
    os.environ.setdefault("WINBACK_RATE_BURST", "1000000")
    instances = Instances(router=routers, refiner=int(refiner))
    stack = Stack(state_dir, ports, instances=instances, demo_only=True)
    try:
        info = stack.start()
        for url in (info.ingest_url, info.notifier_url, *info.urls_of("router")):
            require_loopback(url)
        yield info, stack
    finally:
        stack.stop()
