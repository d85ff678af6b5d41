"""The SQL files keep the rules the migration runner relies on (no database needed)."""

from __future__ import annotations

import re

from winback_shared.migrations import available_migrations, available_repeatables

FIRST_WITH_REPEATABLES = 8
"""Migrations up to 0007 defined views and functions themselves: that duplication is history."""

_CREATES = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(VIEW|FUNCTION)\s+(\w+)", re.IGNORECASE)


def _created(sql: str) -> set[tuple[str, str]]:
    return {(kind.upper(), name.lower()) for kind, name in _CREATES.findall(sql)}


def test_no_numbered_migration_creates_what_a_repeatable_file_defines() -> None:
    """The repeatable file would overwrite it right after: edit the repeatable file instead."""
    defined = set().union(*(_created(r.sql) for r in available_repeatables()))
    for migration in available_migrations():
        if migration.version >= FIRST_WITH_REPEATABLES:
            clash = _created(migration.sql) & defined
            assert not clash, f"{migration.version:04d}_{migration.name} creates {clash}"


def test_each_view_and_function_has_one_repeatable_home() -> None:
    seen: dict[tuple[str, str], str] = {}
    for repeatable in available_repeatables():
        for item in _created(repeatable.sql):
            assert item not in seen, f"{item} in both {seen[item]} and {repeatable.name}"
            seen[item] = repeatable.name
    assert ("VIEW", "case_cards") in seen and ("VIEW", "case_summaries") in seen


def test_repeatable_files_can_run_again() -> None:
    """Views are dropped before they are created; functions are created or replaced."""
    for repeatable in available_repeatables():
        sql = repeatable.sql
        for name in re.findall(r"\bCREATE\s+VIEW\s+(\w+)", sql, re.IGNORECASE):
            drop = re.search(rf"\bDROP\s+VIEW\s+IF\s+EXISTS\s+{name}\b", sql, re.IGNORECASE)
            assert drop and drop.start() < sql.index(f"CREATE VIEW {name}"), (repeatable.name, name)
        assert not re.search(r"\bCREATE\s+FUNCTION\b", sql, re.IGNORECASE), repeatable.name
        assert not re.search(r"\bCREATE\s+(TABLE|INDEX|TRIGGER)\b", sql, re.IGNORECASE), (
            f"{repeatable.name}: tables, indexes and triggers belong in numbered migrations"
        )
