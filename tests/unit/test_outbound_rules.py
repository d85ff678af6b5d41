"""Outbound's pure rules: which case events leave, which subscriptions take them, where they may
go, and when to retry or leave an endpoint alone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tests.outbound_support import LOOPBACK
from winback_notifier.outbound.digest import check_mail_endpoint
from winback_notifier.outbound.events import (
    OUTBOUND_KINDS,
    EventType,
    event_key,
    from_alert,
    from_change,
    queue_event,
)
from winback_notifier.outbound.floor_watch import changes
from winback_notifier.outbound.retry import BreakerState, CircuitBreaker, RetryPolicy
from winback_notifier.outbound.subscriptions import (
    Channel,
    EndpointError,
    Subscription,
    check_endpoint,
    matches,
)
from winback_shared.case_vocabulary import CaseStatus, HistoryKind
from winback_shared.events.case_events import CaseCard, CaseChanged, HistoryEntry
from winback_shared.events.recovery_alerts import RecoveryCaseOpened

NOW = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)


def card(**changes: object) -> CaseCard:
    base: dict[str, object] = {
        "case_id": 42,
        "seq": 1,
        "status": CaseStatus.OPEN,
        "priority": 1,
        "queue": "billing",
        "source": "survey",
        "response_id": "r-1",
        "customer": {"id": "c-1", "name": "Dana"},
        "interaction": {},
        "scores": [],
        "reasons": [],
        "comment": None,
        "follow_up_requested": False,
        "submitted_at": None,
        "received_at": NOW,
        "opened_at": NOW,
    }
    return CaseCard.model_validate({**base, **changes})


def changed(kind: HistoryKind, seq: int = 3, **case: object) -> CaseChanged:
    entry = HistoryEntry(seq=seq, kind=kind, actor="sla", occurred_at=NOW)
    return CaseChanged(case=card(seq=seq, **case), change=entry)


def subscription(**changes: object) -> Subscription:
    base: dict[str, object] = {
        "id": 1,
        "name": "ops",
        "channel": Channel.WEBHOOK,
        "url": "https://example.com/hook",
        "event_types": frozenset(EventType),
        "created_at": NOW - timedelta(hours=1),
    }
    return Subscription(**{**base, **changes})  # type: ignore[arg-type]


def test_an_alert_is_a_case_opened_event_keyed_by_case_and_seq() -> None:
    event = from_alert(RecoveryCaseOpened(case=card()))
    assert event.type is EventType.CASE_OPENED
    assert event.key == event_key(42, 1) == "case:42:1"
    assert event.payload["type"] == "case.opened"
    assert event.payload["data"]["case"]["case_id"] == 42


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (HistoryKind.CLAIMED, EventType.CASE_CLAIMED),
        (HistoryKind.SLA_BREACHED, EventType.CASE_BREACHED),
        (HistoryKind.RESOLVED, EventType.CASE_RESOLVED),
        (HistoryKind.CLOSED, EventType.CASE_CLOSED),
        (HistoryKind.RECODED, EventType.CASE_RECODED),
    ],
)
def test_changes_that_leave_become_their_event(kind: HistoryKind, expected: EventType) -> None:
    event = from_change(changed(kind, seq=7))
    assert event is not None
    assert event.type is expected
    assert event.key == "case:42:7"
    assert event.payload["data"]["change"]["kind"] == kind


def test_the_rest_of_a_case_history_stays_inside() -> None:
    inside = set(HistoryKind) - set(OUTBOUND_KINDS)
    assert HistoryKind.NOTE_ADDED in inside and HistoryKind.CONTACT_ATTEMPTED in inside
    for kind in inside:
        assert from_change(changed(kind)) is None


def test_a_repeat_of_the_same_change_has_the_same_key() -> None:
    first = from_change(changed(HistoryKind.SLA_BREACHED, seq=4))
    again = from_change(changed(HistoryKind.SLA_BREACHED, seq=4))
    assert first is not None and again is not None and first.key == again.key


def test_subscriptions_filter_by_type_queue_priority_and_age() -> None:
    breach = from_change(changed(HistoryKind.SLA_BREACHED, priority=2, queue="billing"))
    assert breach is not None
    assert matches(subscription(), breach)
    assert not matches(subscription(event_types=frozenset({EventType.CASE_OPENED})), breach)
    assert matches(subscription(queues=frozenset({"billing"})), breach)
    assert not matches(subscription(queues=frozenset({"vip"})), breach)
    assert matches(subscription(max_priority=2), breach)
    assert not matches(subscription(max_priority=1), breach)
    assert not matches(subscription(enabled=False), breach)
    assert not matches(subscription(created_at=NOW + timedelta(seconds=1)), breach)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T/B/X",
        "http://127.0.0.1:9000/hook",
        "http://[::1]/h",
    ],
)
def test_endpoints_are_https_or_allowed_loopback(url: str) -> None:
    assert check_endpoint(url, LOOPBACK) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "ftp://example.com/",
        "https://user:pw@example.com/",
        "hook",
        "http://10.0.0.1/hook",
        "http://localhost:8080/x",
    ],
)
def test_other_endpoints_are_refused(url: str) -> None:
    with pytest.raises(EndpointError):
        check_endpoint(url, LOOPBACK)


def test_backoff_grows_exponentially_within_its_jitter_and_cap() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=60, max_attempts=5)
    rng = random.Random(7)
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (6, 60), (20, 60)]:
        draws = [policy.delay(attempts, rng=rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling / 2  # jitter spreads over the whole range
    assert policy.delay(1, retry_after=30, rng=rng) >= 30
    assert not policy.gives_up(4) and policy.gives_up(5)


def test_the_breaker_opens_after_consecutive_failures_then_probes_once() -> None:
    breaker = CircuitBreaker(failures=3, cooldown=10)
    breaker.failed(0)
    breaker.failed(1)
    breaker.succeeded()  # a success in between resets the count
    for moment in (2, 3):
        breaker.failed(moment)
    assert breaker.state(3.5) is BreakerState.CLOSED and breaker.allowed(3.5, 4) == 4
    breaker.failed(4)
    assert breaker.state(5) is BreakerState.OPEN
    assert breaker.allowed(5, 4) == 0 and breaker.wait(5) == pytest.approx(9)
    assert breaker.state(14) is BreakerState.HALF_OPEN and breaker.allowed(14, 4) == 1
    breaker.failed(14)  # the probe failed: open again for a whole cooldown
    assert breaker.state(20) is BreakerState.OPEN and breaker.wait(20) == pytest.approx(4)
    breaker.succeeded()
    assert breaker.state(20) is BreakerState.CLOSED


def test_a_queue_is_announced_once_when_unwatched_and_once_when_covered() -> None:
    assert changes({"billing": 2}, set()) == ({"billing": 2}, set())
    assert changes({"billing": 3}, {"billing"}) == ({}, set())  # still unwatched: nothing new
    assert changes({}, {"billing"}) == ({}, {"billing"})
    assert changes({"vip": 1}, {"billing"}) == ({"vip": 1}, {"billing"})


def test_each_unwatched_spell_has_its_own_keys() -> None:
    since = NOW - timedelta(minutes=2)
    raised = queue_event(
        EventType.QUEUE_UNWATCHED, queue="billing", since=since, waiting=2, occurred_at=NOW
    )
    ended = queue_event(
        EventType.QUEUE_WATCHED, queue="billing", since=since, waiting=2, occurred_at=NOW
    )
    later = queue_event(
        EventType.QUEUE_UNWATCHED, queue="billing", since=NOW, waiting=1, occurred_at=NOW
    )
    assert len({raised.key, ended.key, later.key}) == 3
    assert raised.case_id is None and raised.priority == 1
    assert raised.payload["data"] == {
        "queue": "billing",
        "unwatched_since": since.isoformat(),
        "waiting_p1": 2,
    }
    assert matches(subscription(max_priority=1, queues=frozenset({"billing"})), raised)


def test_an_email_endpoint_names_server_sender_and_recipients() -> None:
    endpoint = check_mail_endpoint(
        "smtp://alerts%40example.com@mail.example.com?from=w@example.com&to=a@x.com&to=b@x.com"
    )
    assert (endpoint.host, endpoint.port, endpoint.implicit_tls) == ("mail.example.com", 587, False)
    assert endpoint.user == "alerts@example.com"
    assert endpoint.recipients == ("a@x.com", "b@x.com")
    assert check_mail_endpoint("smtps://mail.example.com?from=w@x&to=a@x").port == 465


@pytest.mark.parametrize(
    "url",
    [
        "https://mail.example.com?from=w@x&to=a@x",
        "smtp://mail.example.com?to=a@x",
        "smtp://mail.example.com?from=w@x",
        "smtp://user:secret@mail.example.com?from=w@x&to=a@x",
    ],
)
def test_email_endpoints_we_refuse(url: str) -> None:
    with pytest.raises(EndpointError):
        check_mail_endpoint(url)
