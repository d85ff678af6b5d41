"""Configured webhook sources: who may send, how they sign, and where their answers live.

Ingest and router read the same configuration. Ingest needs the vendor and secrets to
authenticate a delivery; the router needs the vendor, the field map and the vendor API settings
to normalise it. Keeping it in one place means a dead letter caused by a wrong field map is fixed
by editing one file and replaying, with no redeploy of ingest.

Configuration comes from ``WINBACK_SOURCES`` (JSON) or, more comfortably for real surveys, from
``WINBACK_SOURCES_FILE`` (a JSON or TOML file); see docs/sources.md.
"""

from __future__ import annotations

import json
import os
import tomllib
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    field_validator,
    model_validator,
)

# Re-exported: callers that read sources decode their secrets with it. Its home is
# winback_shared.standard_webhooks, which needs no pydantic (``winback send`` signs with it).
from winback_shared.standard_webhooks import (
    decode_standard_webhooks_secret as decode_standard_webhooks_secret,
)

SourceName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Locator = Annotated[str, Field(min_length=1, max_length=300)]
"""Where a value lives in a vendor's payload, in that vendor's terms.

For form vendors it is a question reference or id (Typeform ``field.ref``, Formbricks question
id, Qualtrics ``QID3``, SurveyMonkey question id) or ``hidden.<name>`` for hidden fields; for
vendors whose body the survey owner designs (Zendesk, a Qualtrics workflow task) it is a dotted
path into the JSON body, such as ``ticket.requester.email``.
"""


class Vendor(StrEnum):
    """The vendor formats we accept; each has its own signature scheme and adapter."""

    GENERIC = "generic"
    TYPEFORM = "typeform"
    SURVEYMONKEY = "surveymonkey"
    QUALTRICS = "qualtrics"
    FORMBRICKS = "formbricks"
    DELIGHTED = "delighted"
    ZENDESK = "zendesk"


STANDARD_WEBHOOKS_VENDORS = frozenset({Vendor.GENERIC, Vendor.FORMBRICKS})
"""Vendors whose secrets are Standard Webhooks ``whsec_<base64>`` strings."""


class ScoreField(BaseModel):
    """Where a score lives and, when the survey uses an unusual scale, what that scale is.

    ``values`` maps textual answers to numbers (Zendesk's ``bad``/``good``, a choice question
    whose options are "1 - Very poor" ...). Written as a plain string it is just the locator.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: Locator = Field(alias="from")
    min: float | None = None
    max: float | None = None
    values: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_plain_locator(cls, data: Any) -> Any:
        return {"from": data} if isinstance(data, str) else data


class FieldMap(BaseModel):
    """Which question or hidden field holds each part of the canonical response.

    Every field is optional: an adapter starts from its vendor's defaults and a source's map
    overrides them field by field (see ``FieldMap.over``). Several locators may feed
    ``reasons`` and ``comment``; their answers are collected in order.
    """

    model_config = ConfigDict(extra="forbid")

    response_id: Locator | None = None
    survey_id: Locator | None = None
    submitted_at: Locator | None = None
    updated_at: Locator | None = Field(
        default=None, description="When the vendor last changed the response (orders revisions)."
    )
    nps: ScoreField | None = None
    csat: ScoreField | None = None
    ces: ScoreField | None = None
    stars: ScoreField | None = None
    reasons: list[Locator] | None = None
    comment: list[Locator] | None = None
    follow_up: Locator | None = Field(
        default=None, description="A yes/no or choice answer; an affirmative one asks for a call."
    )
    customer_id: Locator | None = None
    customer_name: Locator | None = None
    customer_email: Locator | None = None
    customer_phone: Locator | None = None
    customer_segment: Locator | None = None
    customer_value: Locator | None = None
    interaction_id: Locator | None = None
    interaction_channel: Locator | None = None
    interaction_agent: Locator | None = None
    interaction_team: Locator | None = None
    interaction_at: Locator | None = Field(
        default=None, description="When the interaction happened; unreadable is left empty."
    )

    def over(self, defaults: FieldMap) -> FieldMap:
        """This map with ``defaults`` filling every field it leaves unset."""
        return defaults.model_copy(
            update={name: getattr(self, name) for name in self.model_fields_set}
        )


class VendorApi(BaseModel):
    """How the router fetches a full response from vendors that post only ids.

    The token is read from the environment variable named here at the moment of use, so it never
    sits in the configuration file or in logs.
    """

    model_config = ConfigDict(extra="forbid")

    base_url: Annotated[str, Field(pattern=r"^https?://")]
    token_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    attempts: Annotated[int, Field(ge=1, le=10)] = 4

    def token(self) -> str:
        """The API token; a clear error when the variable is missing."""
        value = os.environ.get(self.token_env)
        if not value:
            raise LookupError(f"environment variable {self.token_env} (the API token) is not set")
        return value


class SourceConfig(BaseModel):
    """A configured sender. Several secrets are accepted at once so they can be rotated.

    What a secret is depends on the vendor: a ``whsec_`` secret for generic and Formbricks, the
    webhook secret for Typeform and Zendesk, the account API key for Delighted,
    ``{api_key}&{api_secret}`` for SurveyMonkey, the shared key for Qualtrics.
    """

    model_config = ConfigDict(extra="forbid")

    vendor: Vendor
    secrets: Annotated[list[SecretStr], Field(min_length=1, max_length=10)]
    field_map: FieldMap = Field(default_factory=FieldMap)
    api: VendorApi | None = None

    @field_validator("secrets")
    @classmethod
    def _secrets_usable(cls, secrets: list[SecretStr]) -> list[SecretStr]:
        for index, secret in enumerate(secrets):
            if len(secret.get_secret_value()) < 8:
                raise ValueError(f"secret #{index + 1}: must be at least 8 characters")
        return secrets

    @model_validator(mode="after")
    def _vendor_rules(self) -> SourceConfig:
        if self.vendor in STANDARD_WEBHOOKS_VENDORS:
            for index, secret in enumerate(self.secrets):
                try:
                    decode_standard_webhooks_secret(secret.get_secret_value())
                except ValueError as exc:
                    raise ValueError(f"secret #{index + 1}: {exc}") from None
        if self.vendor in (Vendor.SURVEYMONKEY, Vendor.QUALTRICS) and self.api is None:
            raise ValueError(
                f"{self.vendor} posts only ids: 'api' (base_url, token_env) is required"
            )
        return self

    @cached_property
    def keys(self) -> list[bytes]:
        """HMAC keys in configuration order, derived once rather than per request."""
        if self.vendor in STANDARD_WEBHOOKS_VENDORS:
            return [decode_standard_webhooks_secret(s.get_secret_value()) for s in self.secrets]
        return [s.get_secret_value().encode() for s in self.secrets]


Sources = dict[SourceName, SourceConfig]


def load_sources_file(path: Path) -> dict[str, Any]:
    """Read a sources file (TOML by extension, JSON otherwise) into plain data for validation."""
    text = path.read_text()
    if path.suffix == ".toml":
        return tomllib.loads(text)
    loaded = json.loads(text)
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected an object of sources")
    return loaded


class WithSources(BaseModel):
    """Settings mixin: ``WINBACK_SOURCES`` (JSON) and/or ``WINBACK_SOURCES_FILE``.

    Sources from the file come first; ``WINBACK_SOURCES`` may add more but not redefine one, since
    two definitions of one source would make which secret is live a guess.
    """

    sources: Sources = Field(default_factory=dict)
    sources_file: Path | None = None

    @model_validator(mode="after")
    def _merge_sources_file(self) -> WithSources:
        if self.sources_file is None:
            return self
        try:
            raw = load_sources_file(self.sources_file)
        except (OSError, ValueError) as exc:
            raise ValueError(f"sources file {self.sources_file}: {exc}") from None
        from_file = _SOURCES.validate_python(raw)
        clash = sorted(set(from_file) & set(self.sources))
        if clash:
            raise ValueError(f"sources defined both in the file and in WINBACK_SOURCES: {clash}")
        self.sources = {**from_file, **self.sources}
        return self


_SOURCES: TypeAdapter[Sources] = TypeAdapter(Sources)
