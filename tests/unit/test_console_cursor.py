"""The console's resume cursor: it round-trips, names the board's view, refuses garbage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from winback_notifier.live.cursor import OVERLAP, Cursor
from winback_shared.agents import Agent, Role

ANA = Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"default"}))
READ_AT = datetime(2026, 11, 30, 9, 0, 0, 123456, tzinfo=UTC)


def test_a_cursor_round_trips_and_starts_before_the_read() -> None:
    cursor = Cursor.after_read(READ_AT, ANA)
    again = Cursor.decode(cursor.encode())
    assert again == cursor
    assert again.since == READ_AT - OVERLAP
    assert again.fits(ANA)


@pytest.mark.parametrize(
    "other",
    [
        Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({"default", "vip"})),
        Agent(id=1, name="ana", role=Role.SUPERVISOR, queues=frozenset({"default"})),
        Agent(id=2, name="ana", role=Role.AGENT, queues=frozenset({"default"})),
        Agent(id=1, name="anna", role=Role.AGENT, queues=frozenset({"default"})),
    ],
)
def test_a_cursor_fits_only_the_view_it_was_read_for(other: Agent) -> None:
    assert not Cursor.after_read(READ_AT, ANA).fits(other)


@pytest.mark.parametrize(
    "text",
    [None, 12, "", "v1", "v2.1.abc", "v1.-5.abc", "v1.x.abc", "v1.1.a.b", "v1.1." + "a" * 80],
)
def test_what_is_not_a_cursor_reads_as_none(text: object) -> None:
    assert Cursor.decode(text) is None
