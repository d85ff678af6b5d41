"""Sealed subscription secrets: the Fernet round trip, rotation with two keys, clear values
from before sealing, what admins are shown, and the settings that carry the keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from winback_notifier.outbound.events import EventType
from winback_notifier.outbound.sealing import (
    SealError,
    SecretBox,
    is_sealed,
    new_key,
    shown_url,
)
from winback_notifier.outbound.settings import OutboundSettings
from winback_notifier.outbound.store import subscription_summary
from winback_notifier.outbound.subscriptions import Channel, Subscription

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK_URL = "https://hooks.slack.com/services/T0001/B0002/a1b2c3d4e5f6a7b8c9d0e1f2"


def test_a_sealed_value_opens_to_what_was_sealed_and_shows_nothing_of_it() -> None:
    box = SecretBox([new_key()])
    sealed = box.seal(SECRET)
    assert is_sealed(sealed) and SECRET not in sealed
    assert sealed != box.seal(SECRET)  # a fresh IV each time
    assert box.open(sealed) == SECRET
    assert box.seal(sealed) == sealed  # never sealed twice


def test_two_keys_the_first_seals_and_both_open() -> None:
    old, new = new_key(), new_key()
    sealed_with_old = SecretBox([old]).seal(SECRET)
    during = SecretBox([new, old])
    assert during.open(sealed_with_old) == SECRET  # nothing breaks while both are set
    moved = during.reseal(sealed_with_old)
    assert SecretBox([new]).open(moved) == SECRET  # the old key may go now
    with pytest.raises(SealError, match="not in WINBACK_OUTBOUND_SECRET_KEYS"):
        SecretBox([old]).open(moved)
    with pytest.raises(SealError, match="not in WINBACK_OUTBOUND_SECRET_KEYS"):
        SecretBox([new]).open(sealed_with_old)


def test_clear_values_from_before_sealing_stay_readable_and_reseal() -> None:
    box = SecretBox([new_key()])
    assert box.open(SECRET) == SECRET
    sealed = box.reseal(SECRET)
    assert is_sealed(sealed) and box.open(sealed) == SECRET


def test_without_keys_values_stay_clear_and_sealed_ones_do_not_open() -> None:
    clear = SecretBox()
    assert not clear.has_keys and clear.seal(SECRET) == SECRET
    sealed = SecretBox([new_key()]).seal(SECRET)
    with pytest.raises(SealError, match="WINBACK_OUTBOUND_SECRET_KEYS is not set"):
        clear.open(sealed)
    with pytest.raises(SealError):
        clear.reseal(SECRET)


def test_a_subscription_is_opened_whole() -> None:
    box = SecretBox([new_key()])
    stored = Subscription(
        id=1,
        name="floor",
        channel=Channel.SLACK,
        url=box.seal(SLACK_URL),
        event_types=frozenset({EventType.CASE_BREACHED}),
        created_at=datetime.now(UTC),
        secrets=(box.seal("routing"), "legacy-clear"),
        url_shown=shown_url(Channel.SLACK, SLACK_URL),
    )
    opened = box.open_subscription(stored)
    assert opened.url == SLACK_URL and opened.secrets == ("routing", "legacy-clear")
    assert SLACK_URL not in repr(stored) and "routing" not in repr(opened)
    shown = subscription_summary(stored)
    assert shown["url"] == "https://hooks.slack.com/…" and shown["secrets"] == 2
    assert "B0002" not in str(shown)


def test_only_chat_urls_are_hidden() -> None:
    assert shown_url(Channel.TEAMS, "https://x.logic.azure.com/workflows/1?sig=abc") == (
        "https://x.logic.azure.com/…"
    )
    assert shown_url(Channel.WEBHOOK, "https://crm.example.com/h") == "https://crm.example.com/h"
    assert shown_url(Channel.WEBHOOK, SecretBox([new_key()]).seal("https://x/")) == "(sealed)"


def test_settings_take_keys_and_allow_lists_as_json_or_commas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = new_key(), new_key()
    monkeypatch.setenv("WINBACK_OUTBOUND_SECRET_KEYS", f"{first}, {second}")
    monkeypatch.setenv("WINBACK_OUTBOUND_ALLOWED_PRIVATE_NETWORKS", '["10.20.0.0/16"]')
    monkeypatch.setenv("WINBACK_OUTBOUND_HTTP_HOSTS", "crm.lan")
    settings = OutboundSettings()
    sealed = SecretBox([first]).seal(SECRET)
    assert settings.secret_box().open(sealed) == SECRET
    assert first not in repr(settings)  # SecretStr
    policy = settings.target_policy()
    assert policy.http_hosts == frozenset({"crm.lan"})
    assert [str(n) for n in policy.private_networks] == ["10.20.0.0/16"]
    assert settings.sender_config().secret_box.has_keys


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WINBACK_OUTBOUND_SECRET_KEYS", "not-a-fernet-key"),
        ("WINBACK_OUTBOUND_ALLOWED_PRIVATE_NETWORKS", "10.0.0.0/33"),
    ],
)
def test_bad_settings_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError):
        OutboundSettings()
