"""Source configuration: files and environment, validated at start-up with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from winback_ingest.settings import IngestSettings
from winback_local.signing import new_secret
from winback_router.settings import RouterSettings

TOML = """
[tf]
vendor = "typeform"
secrets = ["typeform-secret-1", "typeform-secret-0"]

[tf.field_map]
nps = "how_likely"
reasons = ["why"]

[tf.field_map.csat]
from = "rating"
min = 1
max = 10

[sm]
vendor = "surveymonkey"
secrets = ["key&secret-value"]
api = { base_url = "http://127.0.0.1:9", token_env = "SM_TOKEN" }
"""


def test_sources_file_in_toml_is_read_by_ingest_and_router(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(TOML)
    monkeypatch.setenv("WINBACK_SOURCES_FILE", str(path))

    ingest, router = IngestSettings(), RouterSettings()

    assert set(ingest.sources) == set(router.sources) == {"tf", "sm"}
    typeform = router.sources["tf"]
    assert typeform.keys == [b"typeform-secret-1", b"typeform-secret-0"]
    assert typeform.field_map.csat is not None
    assert (typeform.field_map.csat.source, typeform.field_map.csat.max) == ("rating", 10)
    assert router.sources["sm"].api is not None


def test_environment_adds_sources_but_may_not_redefine_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sources.json"
    path.write_text(json.dumps({"a": {"vendor": "generic", "secrets": [new_secret()]}}))
    monkeypatch.setenv("WINBACK_SOURCES_FILE", str(path))
    monkeypatch.setenv(
        "WINBACK_SOURCES", json.dumps({"b": {"vendor": "generic", "secrets": [new_secret()]}})
    )
    assert set(IngestSettings().sources) == {"a", "b"}

    monkeypatch.setenv(
        "WINBACK_SOURCES", json.dumps({"a": {"vendor": "generic", "secrets": [new_secret()]}})
    )
    with pytest.raises(ValidationError, match=r"both in the file and in WINBACK_SOURCES: \['a'\]"):
        IngestSettings()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"vendor": "surveymonkey", "secrets": ["k&secret123"]}, "'api' .* is required"),
        ({"vendor": "typeform", "secrets": ["short"]}, "at least 8 characters"),
        ({"vendor": "formbricks", "secrets": ["not-a-whsec-secret"]}, "whsec_"),
        ({"vendor": "typeform", "secrets": ["long-enough"], "field_map": {"npz": "x"}}, "npz"),
        (
            {"vendor": "typeform", "secrets": ["long-enough"], "field_map": {"nps": {"to": "x"}}},
            "from",
        ),
        (
            {
                "vendor": "qualtrics",
                "secrets": ["long-enough"],
                "api": {"base_url": "ftp://x", "token_env": "T"},
            },
            "base_url",
        ),
    ],
)
def test_bad_source_is_refused_naming_what_is_wrong(
    source: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        RouterSettings.model_validate({"sources": {"acme": source}})


def test_unreadable_sources_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "sources.toml"
    broken.write_text("[tf\nvendor=")
    with pytest.raises(ValidationError, match="sources file"):
        IngestSettings(sources_file=broken)
    with pytest.raises(ValidationError, match="sources file"):
        IngestSettings(sources_file=tmp_path / "missing.json")


def test_api_token_is_read_from_the_environment_at_use(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = RouterSettings.model_validate(
        {
            "sources": {
                "sm": {
                    "vendor": "surveymonkey",
                    "secrets": ["key&secret"],
                    "api": {"base_url": "https://api.example", "token_env": "SM_TOKEN"},
                }
            }
        }
    )
    api = settings.sources["sm"].api
    assert api is not None
    monkeypatch.delenv("SM_TOKEN", raising=False)
    with pytest.raises(LookupError, match="SM_TOKEN"):
        api.token()
    monkeypatch.setenv("SM_TOKEN", "t0ken")
    assert api.token() == "t0ken"
