"""When a service warns about the database role it connected as (no database needed)."""

from __future__ import annotations

from winback_shared.db_roles import ConnectedRole, privilege_warning


def test_a_service_role_is_not_warned_about() -> None:
    assert privilege_warning(ConnectedRole("router_login", superuser=False, owner=False)) is None


def test_a_superuser_is_warned_about_and_told_what_to_do() -> None:
    message = privilege_warning(ConnectedRole("postgres", superuser=True, owner=True))
    assert message is not None
    assert "'postgres', a superuser" in message
    assert "winback_router" in message and "DATABASE_URL" in message


def test_a_member_of_the_owner_role_is_warned_about() -> None:
    message = privilege_warning(ConnectedRole("migrator", superuser=False, owner=True))
    assert message is not None and "schema owner" in message
