"""The customer's local time and calling hours: zones from the phone number or configuration,
the verdict at a moment, and when it changes next. Pure: no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from winback_notifier.calls.local_time import (
    Basis,
    CallingHours,
    CallTimeZones,
    Verdict,
    ZoneGuess,
    call_time,
    guess_zones,
    phone_time_zones,
)
from winback_notifier.settings import NotifierSettings

HOURS = CallingHours({"mon": ["09:00-20:00"], "tue": ["09:00-20:00"], "sat": ["10:00-16:00"]})
CONFIGURED = CallTimeZones(
    default="Europe/Berlin",
    sources={"us-survey": "America/Chicago"},
    queues={"uk": "Europe/London"},
)
MONDAY_NOON_UTC = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("phone", "zones", "region"),
    [
        ("+1 212 555 0100", ("America/New_York",), "US"),
        ("+33 1 42 68 53 00", ("Europe/Paris",), "FR"),
        ("+61 2 9374 4000", ("Australia/Sydney",), "AU"),
        ("+44 20 7946 0958", ("Europe/London",), "GB"),
    ],
)
def test_an_international_number_places_the_customer(
    phone: str, zones: tuple[str, ...], region: str
) -> None:
    assert phone_time_zones(phone) == (zones, region)
    guess = guess_zones(phone, source="any", queue="default", configured=CONFIGURED)
    assert (guess.zones, guess.basis, guess.region) == (zones, Basis.PHONE, region)


@pytest.mark.parametrize("phone", [None, "", "0301234567", "call me", "+1 555 0100", "+999 1"])
def test_a_number_that_places_nobody_falls_back_to_source_queue_then_default(
    phone: str | None,
) -> None:
    def guess(source: str, queue: str) -> tuple[tuple[str, ...], Basis]:
        found = guess_zones(phone, source=source, queue=queue, configured=CONFIGURED)
        return found.zones, found.basis

    assert guess("us-survey", "uk") == (("America/Chicago",), Basis.SOURCE)
    assert guess("other", "uk") == (("Europe/London",), Basis.QUEUE)
    assert guess("other", "default") == (("Europe/Berlin",), Basis.DEFAULT)
    nothing = guess_zones(phone, source="x", queue="y", configured=CallTimeZones())
    assert (nothing.zones, nothing.basis) == ((), Basis.UNKNOWN)


def test_the_verdict_follows_the_customers_clock_not_ours() -> None:
    new_york = ZoneGuess(("America/New_York",), Basis.PHONE, "US")
    at_seven = call_time(new_york, HOURS, MONDAY_NOON_UTC)  # 07:00 on a Monday in New York
    assert at_seven.verdict is Verdict.OUTSIDE
    assert at_seven.zones[0].local_time.hour == 7
    assert at_seven.next_change_at == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # 09:00 there
    at_ten = call_time(new_york, HOURS, datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    assert at_ten.verdict is Verdict.OK
    assert at_ten.next_change_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 20:00 there


def test_a_day_without_hours_is_never_a_calling_day_and_the_next_opening_is_days_away() -> None:
    paris = ZoneGuess(("Europe/Paris",), Basis.DEFAULT)
    wednesday_noon = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
    result = call_time(paris, HOURS, wednesday_noon)
    assert result.verdict is Verdict.OUTSIDE
    assert result.next_change_at == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # Sat 10:00 CET


def test_several_candidate_zones_agree_or_the_verdict_says_mixed() -> None:
    spread = ZoneGuess(("Europe/London", "Asia/Tokyo"), Basis.PHONE)
    result = call_time(spread, HOURS, datetime(2026, 11, 30, 10, 0, tzinfo=UTC))
    assert [z.within_hours for z in result.zones] == [True, True]  # 10:00 and 19:00
    assert result.verdict is Verdict.OK
    later = call_time(spread, HOURS, datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    assert later.verdict is Verdict.MIXED  # 12:00 in London, 21:00 in Tokyo
    assert (
        call_time(ZoneGuess((), Basis.UNKNOWN), HOURS, MONDAY_NOON_UTC).verdict is Verdict.UNKNOWN
    )


def test_daylight_saving_moves_the_customers_clock() -> None:
    chicago = ZoneGuess(("America/Chicago",), Basis.SOURCE)
    summer = call_time(chicago, HOURS, datetime(2026, 7, 6, 13, 30, tzinfo=UTC))  # CDT, UTC-5
    winter = call_time(chicago, HOURS, datetime(2026, 12, 7, 13, 30, tzinfo=UTC))  # CST, UTC-6
    assert (summer.zones[0].local_time.hour, summer.verdict) == (8, Verdict.OUTSIDE)
    assert (winter.zones[0].local_time.hour, winter.verdict) == (7, Verdict.OUTSIDE)
    assert call_time(chicago, HOURS, datetime(2026, 7, 6, 14, 0, tzinfo=UTC)).verdict is Verdict.OK


def test_settings_read_hours_and_zones_and_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINBACK_CALLING_HOURS", '{"mon": ["08:00-12:00", "13:00-21:00"]}')
    monkeypatch.setenv("WINBACK_CALL_TIME_ZONES", '{"queues": {"uk": "Europe/London"}}')
    settings = NotifierSettings()
    assert settings.calling_hours.week()[0] == [(480, 720), (780, 1260)]
    assert settings.call_time_zones.queues == {"uk": "Europe/London"}
    assert list(CallingHours().root) == ["mon", "tue", "wed", "thu", "fri", "sat"]
    for bad, says in [
        ({"mon": ["20:00-09:00"]}, "closes before it opens"),
        ({"mon": ["09:00-13:00", "12:00-14:00"]}, "overlap"),
        ({"someday": ["09:00-10:00"]}, "someday"),
    ]:
        with pytest.raises(ValidationError, match=says):
            CallingHours.model_validate(bad)
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        CallTimeZones(sources={"x": "Mars/Olympus"})
