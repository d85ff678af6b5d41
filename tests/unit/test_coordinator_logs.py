"""A coordinator being elected is logged at INFO for a grace period, then at ERROR again; other
records keep their level."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from aiokafka.errors import GroupCoordinatorNotAvailableError, KafkaConnectionError

from winback_shared import logs
from winback_shared.coordinator_logs import (
    COORDINATOR_LOGGER,
    HEARTBEAT_UNSENT,
    LOOKUP_FAILED,
    ElectionFilter,
    ElectionWait,
)


def lookup_failed(
    error: Exception, name: str = COORDINATOR_LOGGER, message: str = LOOKUP_FAILED
) -> logging.LogRecord:
    """The record aiokafka writes when a coordinator lookup fails."""
    return logging.LogRecord(name, logging.ERROR, __file__, 1, message, (error,), None)


def level_at(election: ElectionFilter, record: logging.LogRecord) -> str:
    assert election.filter(record) is True  # adjusted, never dropped
    return record.levelname


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_wait_within_the_grace_is_info_then_error_once_it_persists() -> None:
    clock = Clock()
    election = ElectionFilter(ElectionWait(grace=30.0, gap=10.0), clock)
    seen = []
    for tenth in range(400):  # aiokafka asks again every 100 ms, for 40 s
        clock.now = tenth / 10
        seen.append(level_at(election, lookup_failed(GroupCoordinatorNotAvailableError())))
    assert seen[:300] == ["INFO"] * 300
    assert seen[300:] == ["ERROR"] * 100


def test_a_new_wait_after_a_quiet_gap_has_its_own_grace() -> None:
    clock = Clock()
    election = ElectionFilter(ElectionWait(grace=30.0, gap=10.0), clock)
    clock.now = 0.0
    assert level_at(election, lookup_failed(GroupCoordinatorNotAvailableError())) == "INFO"
    clock.now = 9.0  # within the gap: the same wait, still within its grace
    assert level_at(election, lookup_failed(GroupCoordinatorNotAvailableError())) == "INFO"
    clock.now = 35.0  # quiet for 26 s: the coordinator was found; this is a new election
    assert level_at(election, lookup_failed(GroupCoordinatorNotAvailableError())) == "INFO"
    clock.now = 44.0
    assert level_at(election, lookup_failed(GroupCoordinatorNotAvailableError())) == "INFO"
    clock.now = 53.0
    assert level_at(election, lookup_failed(GroupCoordinatorNotAvailableError())) == "INFO"
    clock.now = 62.0
    assert level_at(election, lookup_failed(GroupCoordinatorNotAvailableError())) == "INFO"
    clock.now = 65.0  # 30 s into the second wait, never quiet for 10 s
    assert level_at(election, lookup_failed(GroupCoordinatorNotAvailableError())) == "ERROR"


def test_a_heartbeat_unsent_while_the_coordinator_is_unknown_is_part_of_the_wait() -> None:
    clock = Clock()
    election = ElectionFilter(ElectionWait(grace=30.0, gap=10.0), clock)
    unsent = lookup_failed(GroupCoordinatorNotAvailableError(), message=HEARTBEAT_UNSENT)
    assert level_at(election, unsent) == "INFO"
    clock.now = 8.0
    assert level_at(election, lookup_failed(GroupCoordinatorNotAvailableError())) == "INFO"
    refused = lookup_failed(KafkaConnectionError("reset"), message=HEARTBEAT_UNSENT)
    assert level_at(election, refused) == "ERROR"


def test_other_errors_and_loggers_keep_their_level() -> None:
    election = ElectionFilter(ElectionWait(), Clock())
    refused = KafkaConnectionError("connect refused")
    assert level_at(election, lookup_failed(refused)) == "ERROR"
    other_logger = lookup_failed(GroupCoordinatorNotAvailableError(), name="winback.router")
    assert level_at(election, other_logger) == "ERROR"
    other_message = lookup_failed(GroupCoordinatorNotAvailableError())
    other_message.msg = "Heartbeat failed: %r"
    assert level_at(election, other_message) == "ERROR"


@pytest.fixture
def stderr(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What the services' logging writes, configured as each service's ``main`` does."""
    written = io.StringIO()
    monkeypatch.setattr("sys.stderr", written)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure_logging()
    logs.configure_logging()  # a second call installs no second filter
    yield written
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger(COORDINATOR_LOGGER).filters.clear()


def test_the_services_logging_writes_a_fresh_brokers_election_at_info(
    stderr: io.StringIO,
) -> None:
    coordinator = logging.getLogger(COORDINATOR_LOGGER)
    assert len(coordinator.filters) == 1
    coordinator.error(LOOKUP_FAILED, GroupCoordinatorNotAvailableError())
    (line,) = [json.loads(text) for text in stderr.getvalue().splitlines()]
    assert line["level"] == "info"
    assert line["message"] == (
        "Group Coordinator Request failed: [Error 15] GroupCoordinatorNotAvailableError"
    )
