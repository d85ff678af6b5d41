"""Settings mixin for outbound's two safety rules: where deliveries may go, how secrets rest.

Shared by the notifier (its admin API creates subscriptions: it checks their URLs and seals their
secrets), the outbound process (it opens the secrets and checks every connection) and the CLI,
so the three read one definition of each variable. Lists are a JSON list or comma-separated.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from winback_notifier.outbound.sealing import SecretBox
from winback_notifier.outbound.targets import TargetPolicy


def _list(value: Any) -> Any:
    """A JSON list, or comma-separated words, from the environment's text."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [word.strip() for word in text.split(",") if word.strip()]


class WithOutboundSafety(BaseModel):
    """``WINBACK_OUTBOUND_SECRET_KEYS``, ``_ALLOWED_PRIVATE_HOSTS``, ``_ALLOWED_PRIVATE_NETWORKS``
    and ``_HTTP_HOSTS``."""

    outbound_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    """Fernet keys: the first seals subscription secrets, each opens them (rotation without
    downtime; see :mod:`winback_notifier.outbound.sealing`). Unset: secrets stored in clear."""
    outbound_allowed_private_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Host names deliveries may reach although they are or resolve to internal addresses."""
    outbound_allowed_private_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Internal networks (CIDRs) deliveries may reach, e.g. ``10.20.0.0/16``."""
    outbound_http_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Hosts that may be sent to over plain ``http`` (everything else is ``https`` only)."""

    @field_validator(
        "outbound_secret_keys",
        "outbound_allowed_private_hosts",
        "outbound_allowed_private_networks",
        "outbound_http_hosts",
        mode="before",
    )
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _list(value)

    @field_validator("outbound_allowed_private_networks")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        for network in networks:
            ipaddress.ip_network(network.strip(), strict=False)  # ValueError names the bad one
        return networks

    @field_validator("outbound_secret_keys")
    @classmethod
    def _keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        SecretBox([key.get_secret_value() for key in keys])  # ValueError if one is no key
        return keys

    def target_policy(self) -> TargetPolicy:
        """Where deliveries may go, as these settings say."""
        return TargetPolicy.build(
            private_hosts=self.outbound_allowed_private_hosts,
            private_networks=self.outbound_allowed_private_networks,
            http_hosts=self.outbound_http_hosts,
        )

    def secret_box(self) -> SecretBox:
        """Seals and opens subscription secrets with these settings' keys."""
        return SecretBox([key.get_secret_value() for key in self.outbound_secret_keys])
