"""Business hours: contact deadlines that count only the hours someone is there to call.

``WINBACK_BUSINESS_HOURS`` names a timezone and the opening hours per weekday, e.g.
``{"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"], ..., "fri": ["09:00-13:00",
"14:00-17:00"]}}``; a day left out is closed. A P1 case opened on Friday at 16:55 with a
10-minute target is then due on Monday at 09:05. Hours are local wall-clock times, so a day
with a DST change is an hour shorter or longer, as the people working it see it (a local time
skipped by the change counts with the offset before it, one that happens twice is the later
one, see ``_at``: the rule PostgreSQL applied when it computed deadlines, kept so deadlines
stamped before and after migration 0008 agree).

Shared because the router stamps a case's deadline when it opens it or raises its priority
and the notifier fills in deadlines a case lacks (:mod:`winback_shared.deadlines`); this is the
only place the rule is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, field_validator, model_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60

Interval = tuple[int, int]
"""Opening and closing minute of a day, ``0 <= opens < closes <= 1440``."""


def _minute(text: str) -> int:
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{text!r} is not HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > DAY_MINUTES:
        raise ValueError(f"{text!r} is not a time of day (00:00 to 24:00)")
    return value


def parse_interval(text: str) -> Interval:
    """``"09:00-17:30"`` as minutes of the day; ``24:00`` closes at midnight."""
    opens, sep, closes = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM")
    interval = (_minute(opens), _minute(closes))
    if interval[0] >= interval[1]:
        raise ValueError(f"{text!r} closes before it opens (a night shift is two intervals)")
    return interval


class BusinessHours(BaseModel):
    """Opening hours per weekday in one timezone; at least one day must open."""

    timezone: str
    hours: dict[Weekday, list[str]]

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _intervals_make_sense(self) -> BusinessHours:
        for day, texts in self.hours.items():
            intervals = sorted(parse_interval(text) for text in texts)
            for (_, closes), (opens, _) in pairwise(intervals):
                if opens < closes:
                    raise ValueError(f"{day}: opening hours overlap")
        if not any(self.hours.values()):
            raise ValueError("business hours must open on at least one day")
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The timezone the hours are in."""
        return ZoneInfo(self.timezone)

    def week(self) -> list[list[Interval]]:
        """Monday first: each day's intervals in minutes, in order."""
        return [sorted(parse_interval(t) for t in self.hours.get(day, [])) for day in WEEKDAYS]


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of ``minute`` on local ``day``, read as PostgreSQL reads local times: a
    time skipped by a DST change counts with the offset before the change (02:30 on a
    spring-forward night is 03:30 summer time), and a time that happens twice (clocks set back)
    is the second one, after the change."""
    if minute >= DAY_MINUTES:
        return _at(day + timedelta(days=1), 0, zone)
    first = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    second = first.replace(fold=1)
    if first.utcoffset() != second.utcoffset() and _exists(second):
        return second.astimezone(UTC)  # twice on the clock: the later one
    return first.astimezone(UTC)  # once, or never (a gap): the offset before the change


def _exists(local: datetime) -> bool:
    """Whether this wall-clock time really happens in its zone (is not in a DST gap)."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None, fold=0) == local.replace(tzinfo=None, fold=0)


def _spans_from(hours: BusinessHours, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Open spans (UTC, in order, endless) from the local day of ``start`` on; earlier days'
    spans all end by that day's local midnight, so none that reaches past ``start`` is missed.
    """
    zone = hours.zone
    week = hours.week()
    day = start.astimezone(zone).date()
    while True:
        for opens, closes in week[day.weekday()]:
            yield _at(day, opens, zone), _at(day, closes, zone)
        day += timedelta(days=1)


def add_business_time(
    start: datetime, duration: timedelta, hours: BusinessHours | None
) -> datetime:
    """The moment ``duration`` of business time has passed since ``start`` (UTC).

    Without business hours, plain ``start + duration``. Started outside the hours, the clock
    starts at the next opening; a deadline falling exactly on a closing time stays there.
    """
    start = start.astimezone(UTC)
    if hours is None or duration <= timedelta(0):
        return start + max(duration, timedelta(0))
    remaining = duration
    for opens, closes in _spans_from(hours, start):  # ends: some day of every week opens
        begin = max(opens, start)
        if closes <= begin:
            continue
        if remaining <= closes - begin:
            return begin + remaining
        remaining -= closes - begin
    raise AssertionError("unreachable")  # pragma: no cover


def business_time_between(start: datetime, end: datetime, hours: BusinessHours | None) -> timedelta:
    """How much business time lies between ``start`` and ``end`` (the inverse, for checking)."""
    if end <= start:
        return timedelta(0)
    if hours is None:
        return end - start
    total = timedelta(0)
    for opens, closes in _spans_from(hours, start):
        if opens >= end:
            return total
        overlap = min(closes, end) - max(opens, start)
        if overlap > timedelta(0):
            total += overlap
    raise AssertionError("unreachable")  # pragma: no cover
