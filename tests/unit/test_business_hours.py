"""Business hours: deadlines counting only opening hours (``winback_shared.business_hours``).

Until migration 0008 a plpgsql copy of this rule stamped deadlines and a test compared the two
on random inputs; the copy is gone (deadlines are computed by this Python function only), and
that comparison went with it. The properties and DST cases below are the reference.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from winback_notifier.settings import NotifierSettings
from winback_shared.business_hours import (
    WEEKDAYS,
    BusinessHours,
    add_business_time,
    business_time_between,
    parse_interval,
)

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessHours(
    timezone="Europe/Berlin",
    hours={day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def test_friday_afternoon_is_due_on_monday_morning() -> None:
    due = add_business_time(berlin(2026, 3, 6, 16, 55), timedelta(minutes=10), OFFICE)
    assert due == berlin(2026, 3, 9, 9, 5)


def test_a_case_opened_while_closed_starts_counting_at_the_opening() -> None:
    saturday = berlin(2026, 3, 7, 11, 0)
    assert add_business_time(saturday, timedelta(minutes=15), OFFICE) == berlin(2026, 3, 9, 9, 15)
    early = berlin(2026, 3, 9, 6, 0)
    assert add_business_time(early, timedelta(hours=1), OFFICE) == berlin(2026, 3, 9, 10, 0)


def test_a_deadline_on_the_closing_minute_stays_that_day() -> None:
    due = add_business_time(berlin(2026, 3, 6, 16, 50), timedelta(minutes=10), OFFICE)
    assert due == berlin(2026, 3, 6, 17, 0)


def test_split_days_and_long_targets() -> None:
    hours = BusinessHours(
        timezone="Europe/Berlin",
        hours={"mon": ["13:00-17:00", "08:00-12:00"], "wed": ["10:00-11:00"]},
    )
    monday = berlin(2026, 3, 9, 11, 30)
    assert add_business_time(monday, timedelta(hours=1), hours) == berlin(2026, 3, 9, 13, 30)
    # Monday's remaining 4.5 h, Wednesday's 1 h, then next Monday's first 0.5 h.
    assert add_business_time(monday, timedelta(hours=6), hours) == berlin(2026, 3, 16, 8, 30)


def test_a_dst_day_is_as_long_as_the_clock_on_the_wall_says() -> None:
    sundays = BusinessHours(timezone="Europe/Berlin", hours={"sun": ["00:00-24:00"]})
    spring = berlin(2026, 3, 29, 0, 0)  # 23 hours long
    assert add_business_time(spring, timedelta(hours=23), sundays) == berlin(2026, 3, 30, 0, 0)
    assert add_business_time(spring, timedelta(hours=24), sundays) == berlin(2026, 4, 5, 1, 0)
    autumn = berlin(2026, 10, 25, 0, 0)  # 25 hours long
    assert business_time_between(autumn, berlin(2026, 10, 26), sundays) == timedelta(hours=25)


def test_without_business_hours_time_is_wall_clock() -> None:
    start = datetime(2026, 3, 7, 23, 0, tzinfo=UTC)
    assert add_business_time(start, timedelta(minutes=10), None) == start + timedelta(minutes=10)


@pytest.mark.parametrize(
    ("hours", "complaint"),
    [
        ({"timezone": "Mars/Olympus", "hours": {"mon": ["09:00-17:00"]}}, "unknown timezone"),
        ({"timezone": "UTC", "hours": {"mon": ["17:00-09:00"]}}, "closes before it opens"),
        ({"timezone": "UTC", "hours": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "overlap"),
        ({"timezone": "UTC", "hours": {"mon": ["9-17"]}}, "HH:MM"),
        ({"timezone": "UTC", "hours": {"mon": ["09:00-24:30"]}}, "time of day"),
        ({"timezone": "UTC", "hours": {"mon": [], "sun": []}}, "at least one day"),
        ({"timezone": "UTC", "hours": {"funday": ["09:00-10:00"]}}, "funday"),
    ],
)
def test_nonsense_hours_are_refused(hours: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        BusinessHours.model_validate(hours)


def test_business_hours_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "WINBACK_BUSINESS_HOURS",
        '{"timezone": "America/New_York", "hours": {"mon": ["09:00-12:00", "12:00-17:00"]}}',
    )
    hours = NotifierSettings().business_hours
    assert hours is not None and hours.week()[0] == [(540, 720), (720, 1020)]
    assert parse_interval("00:00-24:00") == (0, 1440)


ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]


@st.composite
def schedules(draw: st.DrawFn) -> BusinessHours:
    hours: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        cuts = sorted(draw(st.sets(st.integers(0, 96), max_size=4)))
        pairs = [(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False) if a < b]
        hours[day] = [
            f"{a // 4:02d}:{a % 4 * 15:02d}-{b // 4:02d}:{b % 4 * 15:02d}" for a, b in pairs
        ]
    if not any(hours.values()):
        hours["wed"] = ["01:30-02:30"]  # straddles DST changes in some zones
    return BusinessHours.model_validate({"timezone": draw(st.sampled_from(ZONES)), "hours": hours})


starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.integers(min_value=0, max_value=60 * 60 * 24 * 9).map(lambda s: timedelta(seconds=s))


@given(schedules(), starts, durations)
def test_the_deadline_is_exactly_that_much_business_time_later(
    hours: BusinessHours, start: datetime, duration: timedelta
) -> None:
    due = add_business_time(start, duration, hours)
    assert due - start >= duration  # business time never runs faster than the wall clock
    assert business_time_between(start, due, hours) == duration
    if duration > timedelta(0):  # and it is the first such moment
        assert business_time_between(start, due - timedelta(microseconds=1), hours) < duration


@given(schedules(), starts, durations, durations)
def test_a_longer_target_is_never_due_sooner(
    hours: BusinessHours, start: datetime, one: timedelta, other: timedelta
) -> None:
    short, long = sorted((one, other))
    assert add_business_time(start, short, hours) <= add_business_time(start, long, hours)


@given(starts, durations)
def test_open_around_the_clock_is_the_wall_clock(start: datetime, duration: timedelta) -> None:
    always = BusinessHours(timezone="UTC", hours={day: ["00:00-24:00"] for day in WEEKDAYS})
    assert add_business_time(start, duration, always) == start + duration
