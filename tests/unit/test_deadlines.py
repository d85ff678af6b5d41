"""Contact deadlines: one pure function from the SLA policy both services read from settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from winback_notifier.settings import NotifierSettings
from winback_router.settings import RouterSettings
from winback_shared.business_hours import BusinessHours
from winback_shared.deadlines import ContactPolicy, contact_deadline

OPENED = datetime(2026, 3, 6, 15, 55, tzinfo=UTC)  # a Friday, 16:55 in Berlin
OFFICE = BusinessHours(
    timezone="Europe/Berlin",
    hours={day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
)


def test_around_the_clock_each_priority_gets_its_target() -> None:
    policy = ContactPolicy()
    due = {p: contact_deadline(policy, OPENED, p) for p in (1, 2, 3, 4)}
    assert due == {
        1: OPENED + timedelta(minutes=10),
        2: OPENED + timedelta(minutes=15),
        3: OPENED + timedelta(hours=1),
        4: OPENED + timedelta(hours=4),
    }


def test_a_priority_without_a_target_gets_no_deadline() -> None:
    assert contact_deadline(ContactPolicy(), OPENED, 5) is None


def test_with_business_hours_friday_afternoon_is_due_on_monday_morning() -> None:
    due = contact_deadline(ContactPolicy(hours=OFFICE), OPENED, 1)
    assert due == datetime(2026, 3, 9, 9, 5, tzinfo=ZoneInfo("Europe/Berlin"))


def test_fractional_minutes_are_seconds() -> None:
    policy = RouterSettings(contact_target_minutes={1: 0.1, 2: 15, 3: 60, 4: 240}).contact_policy()
    assert contact_deadline(policy, OPENED, 1) == OPENED + timedelta(seconds=6)


def test_router_and_notifier_read_one_policy_from_the_same_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WINBACK_CONTACT_TARGET_MINUTES", '{"1": 5, "2": 15, "3": 60, "4": 240}')
    monkeypatch.setenv(
        "WINBACK_BUSINESS_HOURS", '{"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"]}}'
    )
    router = RouterSettings().contact_policy()
    notifier = NotifierSettings().contact_policy()
    assert router == notifier
    assert router.targets[1] == timedelta(minutes=5)
    assert router.hours is not None and router.hours.timezone == "Europe/Berlin"
    assert NotifierSettings().contact_target_minutes[1] == 5  # consoles and reports read these


@pytest.mark.parametrize("settings", [RouterSettings, NotifierSettings])
def test_every_priority_needs_a_target(settings: type[RouterSettings | NotifierSettings]) -> None:
    with pytest.raises(ValidationError, match="lacks priorities"):
        settings(contact_target_minutes={1: 10, 2: 15, 3: 60})
    with pytest.raises(ValidationError):
        settings(contact_target_minutes={1: 0, 2: 15, 3: 60, 4: 240})
