"""Source configuration is validated at start-up with clear errors."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from tests.support import generic_source
from winback_ingest.settings import IngestSettings
from winback_local.signing import new_secret


def test_sources_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = new_secret()
    monkeypatch.setenv(
        "WINBACK_SOURCES", json.dumps({"acme": {"vendor": "generic", "secrets": [secret]}})
    )
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    settings = IngestSettings()
    assert settings.kafka_bootstrap_servers == "broker:9092"
    assert settings.sources["acme"].secrets[0].get_secret_value() == secret


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"vendor": "generic", "secrets": ["whsec_not base64!"]}, "secret #1"),
        ({"vendor": "generic", "secrets": ["whsec_c2hvcnQ="]}, "at least 16 bytes"),
        ({"vendor": "generic", "secrets": []}, "at least 1 item"),
        ({"vendor": "fax", "secrets": [new_secret()]}, "generic"),
    ],
)
def test_bad_sources_are_refused_with_a_clear_message(
    source: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        IngestSettings.model_validate({"sources": {"acme": source}})


def test_secrets_never_appear_in_the_settings_repr() -> None:
    secret = new_secret()
    settings = IngestSettings(sources={"acme": generic_source(secret)})
    assert secret not in repr(settings)
    assert secret not in str(settings.model_dump())
