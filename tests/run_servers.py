"""One broker and one database server for a whole parallel test run.

Under ``pytest -n N`` (pytest-xdist) each worker is a pytest session of its own, so the
session-scoped fixtures in ``conftest.py`` would start N brokers and N PostgreSQL servers. On a
2-core machine the idle brokers alone cost minutes of CPU in a run, and every test already
works on its own topics and its own schema, so the controller starts one of each before the
workers exist and hands their addresses down in the environment the workers inherit. A worker
then treats them as the run's own servers (no second set of throwaway settings, no stop).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from winback_local.kafka import LocalKafka, free_port
from winback_local.postgres import LocalPostgres

RUN_KAFKA = "WINBACK_TEST_RUN_KAFKA"
"""The environment variable naming the parallel run's broker (set by the controller only)."""

RUN_DATABASE_URL = "WINBACK_TEST_RUN_DATABASE_URL"
"""The environment variable naming the parallel run's PostgreSQL server (controller only)."""

THROWAWAY_SERVER_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
"""How the run's own PostgreSQL server writes: without waiting for the disk.

The server is made for this run and deleted after it, and no test crashes it (the restart test
terminates connections, as a restart does to them; the fault harness starts a stack of its
own), so what these settings give up, surviving a crash of the server or the machine, is
nothing a test relies on; what a test sees of its transactions is unchanged. They matter
because every test migrates a schema of its own (some thirty-five transactions, each waiting for
the disk otherwise) and its services commit batch after batch. A server named by
``DATABASE_URL`` is someone else's and keeps its own settings."""


def server_dir(kind: str) -> tempfile.TemporaryDirectory[str]:
    """A directory for one of the run's servers, outside pytest's ``basetemp``: pytest deletes
    all but the three newest ``pytest-N`` folders when a session starts, so a second test run
    started meanwhile (a developer's, beside CI) would delete a running server's data and
    socket from under it."""
    return tempfile.TemporaryDirectory(prefix=f"winback-test-{kind}-")


@contextmanager
def own_broker() -> Iterator[str]:
    """A broker made for this run, in a folder of its own; its bootstrap address."""
    with server_dir("kafka") as folder:
        broker = LocalKafka(Path(folder), free_port(), free_port())
        broker.start()
        try:
            yield broker.bootstrap_servers
        finally:
            broker.stop()


@contextmanager
def own_database_server() -> Iterator[str]:
    """A PostgreSQL server made for this run, with :data:`THROWAWAY_SERVER_SETTINGS`; its URL."""
    with server_dir("pg") as folder:
        server = LocalPostgres(Path(folder) / "data", ephemeral=True)
        url = server.start()
        try:
            server.set_system(THROWAWAY_SERVER_SETTINGS)
            yield url
        finally:
            server.stop()


def starts_workers(config: pytest.Config) -> bool:
    """Whether this process is pytest-xdist's controller of a parallel run (it runs no test)."""
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("xdist"):
        return False
    return bool(config.getoption("dist", "no") != "no" and not config.getoption("collectonly"))


def start_for_workers(config: pytest.Config) -> None:
    """Start the servers the environment does not name already, and name them for the workers;
    stopped when pytest unconfigures (after the last worker has finished)."""
    stack = ExitStack()
    config.add_cleanup(stack.close)
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        _name_for_workers(stack, RUN_KAFKA, stack.enter_context(own_broker()))
    if not os.environ.get("DATABASE_URL"):
        _name_for_workers(stack, RUN_DATABASE_URL, stack.enter_context(own_database_server()))


def _name_for_workers(stack: ExitStack, variable: str, value: str) -> None:
    os.environ[variable] = value
    stack.callback(os.environ.pop, variable, None)
