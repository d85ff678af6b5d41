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
  client bug; also asyncpg's ``InterfaceError`` for a connection the server closed under us, see
  ``CONNECTION_GONE``), the server shutting down, crashed or still starting (57P01-57P03), a
  session ended by ``idle_session_timeout`` (57P05), a statement cancelled by
  ``statement_timeout`` or an operator (57014), too many connections (53300), and a transaction
  rolled back by a serialization failure or deadlock (40001, 40P01) or a lock timeout (55P03):
  PostgreSQL's own advice for those is to run the transaction again.

Not transient: everything else, notably every other ``asyncpg.PostgresError`` (undefined
column, syntax, data and integrity errors), every other ``asyncpg.InterfaceError`` (a closed
pool, a wrong number of query arguments, two operations at once on one connection) and every
other ``KafkaError`` (a record too large, an authorization failure).

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

CONNECTION_GONE = ("connection is closed", "connection has been released back to the pool")
"""How asyncpg words an ``InterfaceError`` for a connection that is gone when it is used.

When the server ends a connection (a restart terminates every backend), the next use of it
raises ``InterfaceError("connection is closed")``, or, for a pool connection held across the
outage (a sweep awaiting Kafka with its transaction open), ``InterfaceError("cannot call
Connection.fetch(): connection has been released back to the pool")``: asyncpg releases a
closed connection's pool slot itself. The same words also describe a use after our own release,
which is a bug; the outage reading wins, because a restart must never stop a service, while a
use-after-release fails on every call and so shows in the first test that reaches it.
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
    if isinstance(exc, asyncpg.InterfaceError):
        return any(words in str(exc) for words in CONNECTION_GONE)
    if isinstance(exc, asyncpg.PostgresError):
        return isinstance(exc, POSTGRES_TRANSIENT) and not isinstance(exc, ProtocolViolationError)
    if isinstance(exc, KafkaError):
        return bool(exc.retriable) or isinstance(exc, KAFKA_TRANSIENT)
    if isinstance(exc, OSError):  # TimeoutError is one
        return not isinstance(exc, _NOT_NETWORK)
    return False
