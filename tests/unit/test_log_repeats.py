"""A warning that repeats is written once, then counted; other records pass untouched."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from winback_shared.log_repeats import CollapsingHandler, RepeatFilter
from winback_shared.logs import JsonFormatter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


Written = tuple[logging.Logger, list[logging.LogRecord], RepeatFilter]


@pytest.fixture
def written(clock: Clock) -> Iterator[Written]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    repeats = RepeatFilter(handler.handle, window=30.0, clock=clock)
    handler.addFilter(repeats)
    logger = logging.getLogger("test.repeats")
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    yield logger, records, repeats
    logger.handlers.clear()
    logger.propagate = True


def refused(port: int) -> dict[str, object]:
    return {"fields": {"error": f"KafkaConnectionError('connect to 127.0.0.1:{port} refused')"}}


def test_a_connection_error_repeated_is_written_once_then_counted(
    written: Written, clock: Clock
) -> None:
    logger, records, _ = written
    for attempt in range(2400):
        clock.now = attempt * 0.00625  # 2,400 retries in 15 s
        logger.warning("alerts feed failed; retrying", extra=refused(9092 + attempt % 3))
    assert [r.getMessage() for r in records] == ["alerts feed failed; retrying"]

    clock.now = 31.0
    logger.info("alerts feed back")  # the next record, of any kind, reports the run
    assert [r.getMessage() for r in records[1:]] == [
        "alerts feed failed; retrying (repeated 2399 times in 31 s)",
        "alerts feed back",
    ]
    assert records[1].levelno == logging.WARNING
    assert records[1].fields["repeated"] == 2399  # type: ignore[attr-defined]
    assert records[1].fields["error"].startswith("KafkaConnectionError")  # type: ignore[attr-defined]


def test_templates_group_whatever_their_arguments(written: Written, clock: Clock) -> None:
    logger, records, repeats = written
    for node in range(5):  # as aiokafka words it
        logger.error("Unable connect to node with id %s: %s", node, "[Errno 111] refused")
    repeats.flush()
    assert [r.getMessage() for r in records] == [
        "Unable connect to node with id 0: [Errno 111] refused",
        "Unable connect to node with id 0: [Errno 111] refused (repeated 4 times in 0 s)",
    ]


def test_another_error_another_level_or_info_is_not_a_repeat(
    written: Written, clock: Clock
) -> None:
    logger, records, _ = written
    logger.warning("sweep failed", extra=refused(1))
    logger.warning("sweep failed", extra={"fields": {"error": "ConnectionDoesNotExistError()"}})
    logger.error("sweep failed", extra=refused(1))
    logger.info("sent")
    logger.info("sent")
    try:
        raise OSError("down")
    except OSError:
        logger.exception("sweep failed")
    assert len(records) == 6


def test_a_run_that_goes_on_is_logged_once_per_window(written: Written, clock: Clock) -> None:
    logger, records, _ = written
    for second in range(95):
        clock.now = float(second)
        logger.warning("broker down", extra=refused(1))
    # 0: first line; 30: 29 repeats reported and a new run's first line; 60: likewise; 90: too
    messages = [r.getMessage() for r in records]
    assert messages.count("broker down") == 4
    assert "broker down (repeated 29 times in 30 s)" in messages


def test_the_services_handler_writes_json_and_reports_repeats_on_close() -> None:
    stream = io.StringIO()
    handler = CollapsingHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.repeats.handler")
    logger.propagate = False
    logger.handlers[:] = [handler]
    try:
        for _ in range(3):
            logger.warning("database down", extra={"fields": {"error": "OSError(111)"}})
        handler.close()
    finally:
        logger.handlers.clear()
        logger.propagate = True
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["message"] for line in lines] == [
        "database down",
        "database down (repeated 2 times in 0 s)",
    ]
    assert lines[1]["repeated"] == 2 and lines[1]["level"] == "warning"
