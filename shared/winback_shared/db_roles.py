"""Which database role a service runs as, and the warning when it holds more than it needs.

Each service connects as a login member of its own role (``winback_router``,
``winback_notifier``: migration 0016). Connecting as a superuser or as a member of the owner
role works (and tests of old used to), but then any bug or injected statement could drop
tables, disable the audit trail's triggers or read everything: the service says so, loudly,
once at start-up, rather than refusing to start (a single-user development database is
legitimate).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from winback_shared.db import Connection

log = logging.getLogger(__name__)

OWNER_ROLE = "winback_owner"
"""The role that owns the schema and runs migrations (migration 0016)."""


@dataclass(frozen=True)
class ConnectedRole:
    """The role a connection acts as, and the powers that matter here."""

    name: str
    superuser: bool
    owner: bool
    """A member of :data:`OWNER_ROLE` (DDL on every table), or the owner itself."""


async def connected_role(conn: Connection) -> ConnectedRole:
    """Read ``current_user``'s superuser flag and its membership of the owner role."""
    row = await conn.fetchrow(
        """
        SELECT current_user AS name, r.rolsuper AS superuser,
               CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = $1)
                    THEN pg_has_role(current_user, $1, 'MEMBER') ELSE false END AS owner
        FROM pg_roles r WHERE r.rolname = current_user
        """,
        OWNER_ROLE,
    )
    assert row is not None, "current_user is always a role"
    return ConnectedRole(name=row["name"], superuser=row["superuser"], owner=row["owner"])


def privilege_warning(role: ConnectedRole) -> str | None:
    """What to tell the operator when ``role`` holds more than a service needs; else ``None``."""
    if role.superuser:
        held = "a superuser"
    elif role.owner:
        held = f"the schema owner ({OWNER_ROLE}, or a member of it)"
    else:
        return None
    return (
        f"connected to PostgreSQL as {role.name!r}, {held}: this service could drop tables,"
        " disable the audit trail's triggers and read everything. Give it a login that is a"
        " member of its own role (winback_router, winback_notifier) in DATABASE_URL, and run"
        " migrations separately with the owner's URL (docs/operations.md, 'Database roles')"
    )


async def warn_if_privileged(conn: Connection) -> ConnectedRole:
    """Log one WARNING if this connection acts as a superuser or as the owner."""
    role = await connected_role(conn)
    message = privilege_warning(role)
    if message is not None:
        log.warning(message, extra={"fields": {"db_role": role.name}})
    return role


SERVICE_ROLES = {"router": "winback_router", "notifier": "winback_notifier"}
"""The NOLOGIN role each service's login is a member of (ingest never connects)."""


def login_name(role: str) -> str:
    """The login scripted set-ups (local runner, compose) make for a service role."""
    return f"{role}_login"


async def ensure_login(conn: Connection, login: str, role: str, password: str) -> None:
    """Create (or re-password) the login ``login`` as a member of ``role`` and nothing else.

    For the local runner and scripted environments; production logins are a DBA's
    ``CREATE ROLE ... LOGIN PASSWORD ... IN ROLE ...`` (docs/operations.md). Names and the
    password go through ``quote_ident``/``quote_literal`` in the server, never into SQL text.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('winback.login', $1, true), set_config('winback.role', $2, true),"
            " set_config('winback.password', $3, true)",
            login,
            role,
            password,
        )
        await conn.execute(_ENSURE_LOGIN)


_ENSURE_LOGIN = """
DO $do$
DECLARE
    login text := current_setting('winback.login');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = login) THEN
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN', login);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by another caller
        END;
    END IF;
    EXECUTE format('ALTER ROLE %I LOGIN PASSWORD %L', login, current_setting('winback.password'));
    EXECUTE format('GRANT %I TO %I', current_setting('winback.role'), login);
END;
$do$
"""
