"""Which errors are transient (retried with a warning), and that the loops raise the others."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import timedelta

import asyncpg
import pytest
import uvicorn
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NotLeaderForPartitionError,
    RecordTooLargeError,
    RequestTimedOutError,
    TopicAuthorizationFailedError,
)
from asyncpg import InternalClientError
from asyncpg.exceptions import ProtocolViolationError
from asyncpg.exceptions._base import DataError as ClientDataError
from fastapi import FastAPI

from winback_ingest.publisher import BrokerUnavailable, DeliveryPublisher
from winback_notifier.sla.rules import SlaPolicy
from winback_notifier.sla.scheduler import SlaScheduler
from winback_notifier.sweeps import sweep_forever
from winback_router.adapters.vendor_api import VendorUnavailable
from winback_router.consumer import worth_retrying
from winback_router.store import ConcurrentDelivery
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.loops import LoopWatch
from winback_shared.serve import serve_forever
from winback_shared.transient import is_transient

TRANSIENT: list[BaseException] = [
    # PostgreSQL restarting, crashing, starting up, or the connection to it lost
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CrashShutdownError("terminating connection because of crash of another process"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.IdleSessionTimeoutError("terminating connection due to idle-session timeout"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.ConnectionFailureError("connection failure"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.SerializationError("could not serialize access due to concurrent update"),
    asyncpg.DeadlockDetectedError("deadlock detected"),
    asyncpg.LockNotAvailableError("canceling statement due to lock timeout"),
    asyncpg.InterfaceError("cannot perform operation: connection is closed"),
    asyncpg.InterfaceError(
        "cannot call Connection.fetch(): connection has been released back to the pool"
    ),
    asyncpg.InterfaceError(
        "cannot call Transaction.__aexit__(): the underlying connection is closed"
    ),
    InternalClientError("cannot switch to state 15; another operation (2) is in progress"),
    # the network
    ConnectionRefusedError(111, "Connect call failed"),
    ConnectionResetError(104, "Connection reset by peer"),
    OSError("Multiple exceptions: [Errno 111] Connect call failed ('127.0.0.1', 5432)"),
    socket.gaierror(-2, "Name or service not known"),
    TimeoutError(),
    # Kafka away or moving
    KafkaConnectionError("no connection"),
    KafkaTimeoutError(),
    RequestTimedOutError(),
    NotLeaderForPartitionError(),
]

NOT_TRANSIENT: list[BaseException] = [
    # SQL programming errors: retrying them only repeats them
    asyncpg.UndefinedColumnError('column "nope" does not exist'),
    asyncpg.UndefinedTableError('relation "nope" does not exist'),
    asyncpg.PostgresSyntaxError('syntax error at or near "SELEC"'),
    asyncpg.DataError("invalid input syntax"),
    asyncpg.InvalidTextRepresentationError('invalid input syntax for type integer: "x"'),
    asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
    asyncpg.NotNullViolationError('null value in column "id" violates not-null constraint'),
    asyncpg.DivisionByZeroError("division by zero"),
    asyncpg.InsufficientPrivilegeError("permission denied for table agents"),
    ProtocolViolationError("bind message supplies 1 parameters, but statement requires 2"),
    asyncpg.PostgresError("something PostgreSQL said"),
    asyncpg.InterfaceError("the server expects 2 arguments for this query, 1 was passed"),
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    asyncpg.InterfaceError("pool is closing"),
    InternalClientError("cannot switch to state 15; another operation (12) is in progress"),
    InternalClientError('cannot switch to state 15; protocol is in the "failed" state'),
    ClientDataError("invalid input for query argument $1: 'x' (an integer is required)"),
    # Kafka refusing for good
    RecordTooLargeError(),
    TopicAuthorizationFailedError(),
    KafkaError("generic"),
    # files and plain bugs
    FileNotFoundError(2, "No such file or directory"),
    PermissionError(13, "Permission denied"),
    ValueError("bad value"),
    KeyError("missing"),
    AssertionError(),
    RuntimeError("bug"),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_outages_are_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", NOT_TRANSIENT, ids=lambda e: type(e).__name__)
def test_programming_errors_and_refusals_are_not(error: BaseException) -> None:
    assert not is_transient(error)


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (asyncpg.AdminShutdownError("restart"), True),
        (asyncpg.CannotConnectNowError("starting"), True),
        (VendorUnavailable("GET /responses: 503 after 3 attempts"), True),
        (ConcurrentDelivery(), True),
        (asyncpg.UndefinedColumnError("nope"), False),
        (RecordTooLargeError(), False),
    ],
    ids=lambda value: type(value).__name__,
)
def test_the_router_retries_the_shared_set_and_its_own_two(
    error: BaseException, retried: bool
) -> None:
    assert worth_retrying(error) is retried


class Sweeps:
    """A sweep that fails as told, one error per call, then returns 0."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return 0


async def test_a_sweep_retries_an_outage_with_a_warning_and_raises_a_bug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bug = asyncpg.UndefinedColumnError('column "published_at" does not exist')
    sweep = Sweeps(ConnectionResetError(104, "reset"), asyncpg.AdminShutdownError("restart"), bug)
    with caplog.at_level(logging.WARNING, logger="winback.notifier"):
        with pytest.raises(asyncpg.UndefinedColumnError):
            await asyncio.wait_for(sweep_forever(sweep, 0, what="case change"), 5)
    assert sweep.calls == 3
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]


class BrokenScheduler(SlaScheduler):
    """The SLA scheduler with its database look replaced by errors given in order."""

    def __init__(self, *errors: BaseException) -> None:
        super().__init__(
            pool=None,  # type: ignore[arg-type]
            publisher=None,  # type: ignore[arg-type]
            policy=SlaPolicy(warning=timedelta(minutes=3), claim_lapse=None),
            max_sleep=0.01,
        )
        self.errors = list(errors)
        self.looks = 0

    async def fire_due(self) -> int:
        self.looks += 1
        if self.errors:
            raise self.errors.pop(0)
        return 0

    async def seconds_to_next(self) -> float | None:
        return None


async def test_sla_timers_retry_an_outage_and_raise_a_sql_bug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scheduler = BrokenScheduler(
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.UndefinedColumnError('column "sla_warned_at" does not exist'),
    )
    with caplog.at_level(logging.WARNING, logger="winback.notifier"):
        with pytest.raises(asyncpg.UndefinedColumnError):
            await asyncio.wait_for(scheduler.run(), 5)
    assert scheduler.looks == 2
    assert [r.levelname for r in caplog.records] == ["WARNING"]


async def test_a_loop_that_dies_is_logged_at_error_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures: list[BaseException] = []
    watch = LoopWatch(logging.getLogger("winback.test"), failures.append)
    bug = asyncpg.UndefinedTableError('relation "agent_changes" does not exist')

    async def dies() -> None:
        raise bug

    async def runs() -> None:
        await asyncio.Event().wait()

    with caplog.at_level(logging.ERROR, logger="winback.test"):
        watch.start(runs(), name="healthy")
        assert watch.all_running
        watch.start(dies(), name="agent-outbox")
        await asyncio.sleep(0.05)
    assert failures == [bug] and watch.error is bug and not watch.all_running
    [record] = caplog.records
    assert record.levelname == "ERROR" and record.getMessage().startswith("agent-outbox stopped")
    assert record.exc_info is not None and record.exc_info[1] is bug
    await watch.cancel()
    assert all(task.done() for task in watch.tasks)
    assert failures == [bug]  # cancelling the healthy loop is not a failure


async def test_cancelled_loops_are_not_failures() -> None:
    failures: list[BaseException] = []
    watch = LoopWatch(logging.getLogger("winback.test"), failures.append)

    async def runs() -> None:
        await asyncio.Event().wait()

    watch.start(runs(), name="feed")
    await asyncio.sleep(0)
    await watch.cancel()
    assert failures == [] and watch.all_running


@pytest.mark.parametrize("died", [False, True])
def test_a_service_whose_loop_died_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, died: bool
) -> None:
    app = FastAPI()
    app.state.loops = LoopWatch(logging.getLogger("winback.test"), lambda _: None)
    if died:
        app.state.loops.error = asyncpg.UndefinedColumnError('column "x" does not exist')
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)  # as if SIGTERM ended it
    if not died:
        serve_forever(app, service="notifier", default_port=0)
        return
    with pytest.raises(SystemExit, match='notifier stopped: column "x" does not exist'):
        serve_forever(app, service="notifier", default_port=0)


class RefusingProducer:
    """A producer whose every send fails with ``error``."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def send_and_wait(self, *args: object, **kwargs: object) -> None:
        raise self.error


DELIVERY = SurveyReceived(source="survey", vendor="generic", content_type="json", body="{}")


@pytest.mark.parametrize(
    ("error", "logged_at_error"),
    [(KafkaConnectionError("away"), False), (RecordTooLargeError(), True)],
    ids=["outage", "refusal"],
)
async def test_ingest_answers_503_for_any_kafka_failure_and_flags_a_refusal(
    caplog: pytest.LogCaptureFixture, error: BaseException, logged_at_error: bool
) -> None:
    publisher = DeliveryPublisher(RefusingProducer(error), "responses", 1.0)
    with caplog.at_level(logging.WARNING, logger="winback.ingest"):
        with pytest.raises(BrokerUnavailable):
            await publisher.publish(DELIVERY, "r-1")
    assert any(r.levelno == logging.ERROR for r in caplog.records) is logged_at_error


async def test_ingest_does_not_hide_a_bug_as_a_broker_outage() -> None:
    publisher = DeliveryPublisher(RefusingProducer(ValueError("bug")), "t", 1.0)
    with pytest.raises(ValueError, match="bug"):
        await publisher.publish(DELIVERY, "r-1")
