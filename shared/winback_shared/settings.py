"""Settings shared by every service, read from the environment.

Settings are built in each service's ``main()``/``create_app()`` and passed down, never read at
import time, so tests can construct them directly with per-test topics and schemas.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaTopics(BaseSettings):
    """Topic names; tests override them to get a fresh topic per test."""

    model_config = SettingsConfigDict(env_prefix="WINBACK_TOPIC_", extra="ignore")

    survey_responses: str = "survey-responses"
    recovery_alerts: str = "recovery-alerts"
    dead_letters: str = "survey-dead-letters"
    case_events: str = "case-events"


class CommonSettings(BaseSettings):
    """Where the infrastructure is. The two unprefixed names are the documented switches."""

    model_config = SettingsConfigDict(env_prefix="WINBACK_", extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "WINBACK_KAFKA_BOOTSTRAP_SERVERS"),
    )
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/winback",
        validation_alias=AliasChoices("DATABASE_URL", "WINBACK_DATABASE_URL"),
    )
    topics: KafkaTopics = Field(default_factory=KafkaTopics)
    topic_partitions: Annotated[int, Field(ge=1, le=10_000)] = 6
    """``WINBACK_TOPIC_PARTITIONS``: partitions of each topic a service creates (an existing topic
    keeps its own). The most routers that can share the work: one more than this idles."""
    log_level: str = "INFO"
    log_repeat_seconds: Annotated[float, Field(ge=0)] = 30.0
    """A warning or error repeating within this many seconds is written once, then counted
    (:mod:`winback_shared.log_repeats`); 0 writes every one."""
