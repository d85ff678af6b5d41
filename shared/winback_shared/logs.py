"""Structured JSON logs on stderr.

Log records carry identifiers (receipt id, source, case id, outcome), never customer data or
secrets: callers pass those identifiers through ``extra={"fields": {...}}``. A warning or error
that repeats (the same connection error on every retry of an outage) is written once and then
counted (:mod:`winback_shared.log_repeats`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from winback_shared.coordinator_logs import quiet_coordinator_elections
from winback_shared.log_repeats import DEFAULT_WINDOW_SECONDS, CollapsingHandler


class JsonFormatter(logging.Formatter):
    """One JSON object per line, so log shippers need no parsing rules."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(
    level: str = "INFO", *, repeat_seconds: float = DEFAULT_WINDOW_SECONDS
) -> None:
    """Route the root logger to stderr as JSON lines, repeats collapsed (every logger's:
    aiokafka's and asyncpg's reach the root's handler too)."""
    handler = (
        CollapsingHandler(sys.stderr, window=repeat_seconds)
        if repeat_seconds > 0
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka logs every reconnect attempt at INFO and warnings the services already report.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    quiet_coordinator_elections()
