"""Which errors are transient: the peer is away or busy, and the same work will succeed later.

Every loop and every "retry later" in the services decides with :func:`is_transient`, so a
PostgreSQL restart, a Kafka leader election or a network blip is retried everywhere, and a bug
(a bad column, a syntax error, a value PostgreSQL refuses) is retried nowhere: retrying a bug
only turns it into a warning that repeats forever.

Transient:

- the network: ``OSError`` (refused, reset, unreachable, DNS; asyncio reports several failed
  addresses as a plain ``OSError``, so no narrower class would do) and timeouts, except the
  file-system subclasses (a missing file is a deployment or code error);
- Kafka: what aiokafka itself marks ``retriable`` (connection lost, leader moving, not enough
  replicas ...), plus a request that timed out and a broker that is not available;
- PostgreSQL: the connection lost or refused (class 08, except a protocol violation, which is a
  client bug; also how asyncpg reports, client-side, a connection the server closed under us,
  see ``CONNECTION_GONE``), the server shutting down, crashed or still starting (57P01-57P03), a
  session ended by ``idle_session_timeout`` (57P05), a statement cancelled by
  ``statement_timeout`` or an operator (57014), too many connections (53300), and a transaction
  rolled back by a serialization failure or deadlock (40001, 40P01) or a lock timeout (55P03):
  PostgreSQL's own advice for those is to run the transaction again.

Not transient: everything else, notably every other ``asyncpg.PostgresError`` (undefined
column, syntax, data and integrity errors), every other ``asyncpg.InterfaceError`` (a closed
pool, a wrong number of query arguments, two operations at once on one connection) or
``InternalClientError``, and every other ``KafkaError`` (a record too large, an authorization
failure).

A service that has conditions of its own worth retrying (the router's vendor API being down)
adds them next to this predicate; it never redefines the ones above.
"""

from __future__ import annotations

import asyncpg
from aiokafka.errors import (
    BrokerNotAvailableError,
    KafkaError,
    KafkaTimeoutError,
    KafkaUnavailableError,
)
from asyncpg.exceptions import ProtocolViolationError

POSTGRES_TRANSIENT: tuple[type[asyncpg.PostgresError], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.CannotConnectNowError,
    asyncpg.IdleSessionTimeoutError,
    asyncpg.QueryCanceledError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.LockNotAvailableError,
)
"""PostgreSQL errors that say nothing about the query, only about the server or the moment."""

KAFKA_TRANSIENT: tuple[type[KafkaError], ...] = (
    KafkaTimeoutError,
    KafkaUnavailableError,
    BrokerNotAvailableError,
)
"""Kafka errors aiokafka does not mark ``retriable`` that are an outage all the same."""

CONNECTION_GONE: tuple[tuple[type[Exception], str], ...] = (
    (asyncpg.InterfaceError, "connection is closed"),
    (asyncpg.InterfaceError, "connection has been released back to the pool"),
    (asyncpg.InternalClientError, "another operation (2) is in progress"),
)
"""How asyncpg words, client-side, a connection the server ended (class, words in the message).

A restart terminates every backend. The next use of such a connection raises
``InterfaceError("connection is closed")`` (or, leaving its transaction, ``"... the underlying
connection is closed"``); a pool connection held across it (the router
awaiting Kafka inside its batch, a sweep inside its transaction) raises ``InterfaceError("cannot
call Connection.fetch(): connection has been released back to the pool")``, because asyncpg
frees a closed connection's pool slot itself; and one taken from the pool just as the server's
goodbye arrives raises ``InternalClientError("cannot switch to state N; another operation (2)
is in progress")``, state 2 being asyncpg consuming that goodbye (an unsolicited FATAL on an
idle connection) and N the operation refused: 15 a simple query, 11 preparing a statement, 12
running one already prepared (the SLA scheduler's, after a postmaster kill). Despite its words,
no two operations share the connection. The first two words also describe a use after our own
release or close, which is a bug; the outage reading wins, because a restart must never stop a
service, while such a bug fails on every call and so shows in the first test that reaches it.
``tests/integration/test_postgres_restart.py`` meets all three;
``tests/integration/test_sla_server_goodbye.py`` delivers the goodbye's very bytes.
"""

_NOT_NETWORK: tuple[type[OSError], ...] = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` means "the peer is away or busy": retry later, log a warning."""
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.InternalClientError):
        return any(isinstance(exc, kind) and words in str(exc) for kind, words in CONNECTION_GONE)
    if isinstance(exc, asyncpg.PostgresError):
        return isinstance(exc, POSTGRES_TRANSIENT) and not isinstance(exc, ProtocolViolationError)
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(exc, KAFKA_TRANSIENT)
    if isinstance(exc, OSError):  # TimeoutError is one
        return not isinstance(exc, _NOT_NETWORK)
    return False
