"""The customer's local time and whether it is a reasonable hour to call them: pure, no I/O.

Where the customer is comes from their phone number first (``phonenumbers`` maps a number's
country and area code to time zones: one for most numbers, several for a country that spans
zones when the number says no more), else from a zone configured for the response's source,
then for the case's queue, then a default (``WINBACK_CALL_TIME_ZONES``). Calling hours are
local wall-clock hours per weekday (``WINBACK_CALLING_HOURS``), the same in every zone: "not
before nine, not after eight, not on Sunday" is about the customer's clock, not ours.

Where the zone is uncertain (several candidates), the verdict is "ok" only if it is a calling
hour in every one of them, "mixed" when only in some: the agent sees the spread and decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_zones
from pydantic import BaseModel, Field, RootModel, field_validator, model_validator

from winback_shared.business_hours import DAY_MINUTES, WEEKDAYS, Weekday, parse_interval

UNKNOWN_ZONE = "Etc/Unknown"
"""What ``phonenumbers`` answers for a number it cannot place."""
MAX_PHONE_ZONES = 8
"""More candidate zones than this (a bare Russian or US number) tell the agent nothing: the
configured zone is used instead, if any."""
LOOKAHEAD_DAYS = 8


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class CallingHours(RootModel[dict[Weekday, list[str]]]):
    """Local hours per weekday when calling a customer is reasonable; a day left out: never.
    ``WINBACK_CALLING_HOURS='{"mon": ["09:00-12:00", "14:00-20:00"], "sat": ["10:00-16:00"]}'``.

    The default, 09:00-20:00 Monday to Saturday, sits inside the common legal windows for
    calling consumers (8:00-21:00 in the US, for instance); a company narrows or widens it.
    """

    root: dict[Weekday, list[str]] = Field(
        default_factory=lambda: {day: ["09:00-20:00"] for day in WEEKDAYS[:6]}
    )

    @model_validator(mode="after")
    def _intervals_make_sense(self) -> CallingHours:
        for day, texts in self.root.items():
            intervals = sorted(parse_interval(text) for text in texts)
            for (_, closes), (opens, _) in pairwise(intervals):
                if opens < closes:
                    raise ValueError(f"{day}: calling hours overlap")
        return self

    def week(self) -> list[list[tuple[int, int]]]:
        """Monday first: each day's intervals in minutes, in order."""
        return [sorted(parse_interval(t) for t in self.root.get(day, [])) for day in WEEKDAYS]


class CallTimeZones(BaseModel):
    """Time zones to assume when the phone number does not tell (``WINBACK_CALL_TIME_ZONES``),
    e.g. ``{"default": "Europe/Berlin", "sources": {"typeform-us": "America/Chicago"},
    "queues": {"uk": "Europe/London"}}``; a source's zone wins over its queue's."""

    default: str | None = None
    sources: dict[str, str] = Field(default_factory=dict)
    queues: dict[str, str] = Field(default_factory=dict)

    @field_validator("default")
    @classmethod
    def _default_known(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone(value)

    @field_validator("sources", "queues")
    @classmethod
    def _all_known(cls, value: dict[str, str]) -> dict[str, str]:
        for zone in value.values():
            _known_zone(zone)
        return value


class Basis(StrEnum):
    """Where the customer's time zone was taken from."""

    PHONE = "phone"
    SOURCE = "source"
    QUEUE = "queue"
    DEFAULT = "default"
    UNKNOWN = "unknown"


class Verdict(StrEnum):
    """Whether now is a reasonable hour to call."""

    OK = "ok"
    OUTSIDE = "outside"
    MIXED = "mixed"
    """Inside calling hours in some of the candidate zones, not all."""
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ZoneGuess:
    """The customer's candidate time zones and where they came from."""

    zones: tuple[str, ...]
    basis: Basis
    region: str | None = None
    """The phone number's country (ISO 3166 code), when it has one."""


def phone_time_zones(phone: str | None) -> tuple[tuple[str, ...], str | None]:
    """The zones and country of an international number (``+`` first); none if unplaceable."""
    if not phone or not phone.strip().startswith("+"):
        return (), None
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return (), None
    if not phonenumbers.is_possible_number(number):
        return (), None
    region = phonenumbers.region_code_for_number(number)
    zones = tuple(z for z in phone_zones.time_zones_for_number(number) if z != UNKNOWN_ZONE)
    return tuple(z for z in zones if _loadable(z)), region


def _loadable(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def guess_zones(
    phone: str | None, *, source: str, queue: str, configured: CallTimeZones
) -> ZoneGuess:
    """The customer's time zones: the phone's, else the source's, queue's or default zone."""
    zones, region = phone_time_zones(phone)
    if zones and len(zones) <= MAX_PHONE_ZONES:
        return ZoneGuess(zones, Basis.PHONE, region)
    for basis, zone in (
        (Basis.SOURCE, configured.sources.get(source)),
        (Basis.QUEUE, configured.queues.get(queue)),
        (Basis.DEFAULT, configured.default),
    ):
        if zone:
            return ZoneGuess((zone,), basis, region)
    if zones:  # a country with many zones and nothing configured: still better than nothing
        return ZoneGuess(zones, Basis.PHONE, region)
    return ZoneGuess((), Basis.UNKNOWN, region)


@dataclass(frozen=True)
class ZoneTime:
    """The customer's clock in one candidate zone."""

    zone: str
    local_time: datetime
    within_hours: bool


@dataclass(frozen=True)
class CallTime:
    """The customer's local time now, and whether it is a reasonable hour to call."""

    guess: ZoneGuess
    zones: tuple[ZoneTime, ...]
    verdict: Verdict
    next_change_at: datetime | None
    """When the verdict may change next (an opening or closing in some zone), if within a week."""


def within_hours(local: datetime, hours: CallingHours) -> bool:
    """Whether a local wall-clock time falls in the calling hours of its weekday."""
    minute = local.hour * 60 + local.minute
    return any(opens <= minute < closes for opens, closes in hours.week()[local.weekday()])


def next_boundary(now: datetime, zone: ZoneInfo, hours: CallingHours) -> datetime | None:
    """The next opening or closing of the calling hours in ``zone`` after ``now`` (UTC)."""
    week = hours.week()
    day = now.astimezone(zone).date()
    for offset in range(LOOKAHEAD_DAYS):
        current = day + timedelta(days=offset)
        for opens, closes in week[current.weekday()]:
            for minute in (opens, closes):
                moment = _instant(current, minute, zone)
                if moment > now:
                    return moment
    return None


def _instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local minute of ``day`` (1440: the next midnight)."""
    if minute >= DAY_MINUTES:
        day, minute = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


def call_time(guess: ZoneGuess, hours: CallingHours, now: datetime) -> CallTime:
    """The customer's clock in each candidate zone at ``now`` and the verdict over them."""
    zone_times = tuple(
        ZoneTime(zone, local, within_hours(local, hours))
        for zone in guess.zones
        for local in (now.astimezone(ZoneInfo(zone)),)
    )
    inside = [zt.within_hours for zt in zone_times]
    if not inside:
        verdict = Verdict.UNKNOWN
    elif all(inside):
        verdict = Verdict.OK
    elif any(inside):
        verdict = Verdict.MIXED
    else:
        verdict = Verdict.OUTSIDE
    boundaries = [
        moment
        for zone in guess.zones
        if (moment := next_boundary(now, ZoneInfo(zone), hours)) is not None
    ]
    return CallTime(guess, zone_times, verdict, min(boundaries, default=None))
