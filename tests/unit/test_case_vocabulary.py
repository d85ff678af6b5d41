"""The SQL in the migrations speaks the case vocabulary of ``winback_shared.case_vocabulary``.

Migrations (numbered and repeatable) cannot import the enums, so they are read here: the status
CHECK of ``recovery_cases``, every status its partial indexes and data fixes name, and every
history kind SQL writes into ``case_history`` (the opening trigger's ``opened``) must be the
vocabulary's.
"""

from __future__ import annotations

import re

import pytest

from winback_shared.case_vocabulary import (
    FINISHED_STATUSES,
    HISTORY_LABELS,
    STATUS_LABELS,
    CaseStatus,
    HistoryKind,
)
from winback_shared.migrations import available_migrations, available_repeatables

_TABLE = re.compile(r"\b(?:CREATE TABLE|ALTER TABLE|UPDATE|ON|INSERT INTO)\s+(\w+)", re.I)
_LITERAL = re.compile(r"'([^']*)'")


def _statements() -> list[tuple[str, str]]:
    """(file name, statement) for every statement of the numbered migrations and the
    repeatable files (views, trigger functions), comments removed."""
    found = []
    files = [(m.name, m.sql) for m in available_migrations()]
    files += [(r.name, r.sql) for r in available_repeatables()]
    for name, text in files:
        sql = re.sub(r"--[^\n]*", "", text)
        found += [(name, part.strip()) for part in sql.split(";") if part.strip()]
    return found


def _on_cases(statement: str) -> bool:
    match = _TABLE.search(statement)
    return match is not None and match[1].lower() == "recovery_cases"


def _literals(text: str) -> list[str]:
    return _LITERAL.findall(text)


def _split_top_level(text: str) -> list[str]:
    """``a, f(b, c), 'd'`` → ``["a", "f(b, c)", "'d'"]``."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    parts.append(current.strip())
    return parts


def _enclosed(text: str, start: int) -> str:
    """What the parenthesis opened at ``text[start]`` encloses."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1 : index]
    raise ValueError(f"unbalanced parentheses in {text!r}")


def history_kinds_written(statement: str) -> list[str]:
    """The literal kinds an ``INSERT INTO case_history`` statement writes."""
    insert = re.search(r"INSERT INTO case_history\s*\(", statement, re.I)
    if insert is None:
        return []
    columns = [c.lower() for c in _split_top_level(_enclosed(statement, insert.end() - 1))]
    rest = statement[insert.end() :]
    rest = rest[rest.index(")") + 1 :]
    values = re.match(r"\s*VALUES\s*\(", rest, re.I)
    source = None
    if values is not None:
        row = _split_top_level(_enclosed(rest, values.end() - 1))
    else:
        select = re.match(r"\s*SELECT\s+(.*?)\s+FROM\s+(\w+)", rest, re.I | re.S)
        assert select is not None, f"cannot read the values of {statement!r}"
        row, source = _split_top_level(select[1]), select[2].lower()
    kind = row[columns.index("kind")]
    if kind.lower() == "kind" and source is not None and source.startswith("case_history"):
        return []  # rows copied from the history itself (0024's conversion) write no new kind
    assert kind.startswith("'"), f"history kind written from an expression: {kind}"
    return _literals(kind)


def test_the_status_check_is_the_vocabulary() -> None:
    checks = [
        (name, match[1])
        for name, statement in _statements()
        if _on_cases(statement)
        for match in re.finditer(r"CHECK\s*\(\s*status\s+IN\s*\(([^)]*)\)", statement, re.I)
    ]
    assert checks, "no status CHECK found on recovery_cases"
    for name, listed in checks:
        assert set(_literals(listed)) == set(CaseStatus), name


def test_every_status_sql_names_is_in_the_vocabulary() -> None:
    named = 0
    for name, statement in _statements():
        if not _on_cases(statement):
            continue
        for listed in re.findall(r"status\s+NOT\s+IN\s*\(([^)]*)\)", statement, re.I):
            assert set(_literals(listed)) == FINISHED_STATUSES, (name, statement)
            named += 1
        compared = re.findall(r"status\s*(?:=|<>)\s*'([^']*)'", statement, re.I)
        default = re.findall(r"\bstatus\s+text\b[^,]*?DEFAULT\s+'([^']*)'", statement, re.I)
        for single in compared + default:
            assert single in set(CaseStatus), (name, single)
            named += 1
    assert named >= 6  # the default, the partial indexes and 0007's data fix were all read


def test_every_history_kind_sql_writes_is_a_history_kind() -> None:
    written = {
        (name, kind)
        for name, statement in _statements()
        for kind in history_kinds_written(statement)
    }
    assert ("case_workflow", "opened") in written  # the opening trigger and its backfill
    for name, kind in written:
        assert kind in set(HistoryKind), (name, kind)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO case_history (case_id, seq, kind) VALUES (NEW.id, f(1, 2), 'opend')",
        "INSERT INTO case_history (case_id, kind, seq) SELECT id, 'opend', 1 FROM t",
    ],
)
def test_the_history_check_would_catch_a_misspelt_kind(statement: str) -> None:
    assert history_kinds_written(statement) == ["opend"]


def test_the_history_check_lets_history_be_copied_but_not_kinds_from_elsewhere() -> None:
    copy = "INSERT INTO case_history (id, kind) SELECT id, kind FROM case_history_unpartitioned"
    assert history_kinds_written(copy) == []
    with pytest.raises(AssertionError, match="from an expression"):
        history_kinds_written("INSERT INTO case_history (id, kind) SELECT id, kind FROM notes")


def test_every_status_and_kind_has_a_label() -> None:
    assert set(STATUS_LABELS) == set(CaseStatus)
    assert set(HISTORY_LABELS) == set(HistoryKind)
