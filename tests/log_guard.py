"""No secret and no customer data in any log line any test makes the services write.

Every test of the run is watched (``tests/conftest.py`` uses these fixtures with ``autouse``, so
no test can opt out): every log record of the process, at the services' production level
(INFO), is formatted exactly as production writes it (:class:`winback_shared.logs.JsonFormatter`,
exception text included) and kept. What the test used that must never be logged is remembered
as it is made, by the helpers that make it: webhook secrets, agent tokens (also those the admin
API and CLI issue), customer names, e-mails, phone numbers and comments. When the test ends,
after its services stopped, any remembered value found in a line fails the test, naming the
line.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from winback_shared import agents
from winback_shared.logs import JsonFormatter

SHORTEST = 6
"""Values shorter than this ("Sam", "x") would be found by accident; they prove nothing."""

_remembered: set[str] = set()


def remember(*values: object) -> None:
    """Values the current test uses that no log line may contain (``None`` and short ones are
    skipped)."""
    for value in values:
        if isinstance(value, str) and len(value.strip()) >= SHORTEST:
            _remembered.add(value)


def remember_secret(secret: str) -> None:
    """A webhook secret, and its HMAC key in the spellings a log could show."""
    remember(secret)
    encoded = secret.removeprefix("whsec_")
    if encoded != secret:
        remember(encoded)
        try:
            remember(base64.b64decode(encoded).hex())
        except ValueError:
            pass


def remember_sources(sources: Iterable[Any]) -> None:
    """Every secret of these source configurations (``SourceConfig``)."""
    for source in sources:
        for secret in source.secrets:
            remember_secret(secret.get_secret_value())


def remember_response(payload: dict[str, Any]) -> None:
    """The customer data of a generic-format survey response."""
    customer = payload.get("customer")
    if isinstance(customer, dict):
        remember(customer.get("name"), customer.get("email"), customer.get("phone"))
    remember(payload.get("comment"))


class KeptLines(logging.Handler):
    """Every record, formatted as production formats it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a record that cannot be formatted is a bug for another test
            self.handleError(record)


def leaks(lines: Iterable[str], values: Iterable[str]) -> list[tuple[str, str]]:
    """(value, line) for every remembered value found in a line, raw or JSON-escaped."""
    spellings = {
        spelling: value
        for value in values
        for spelling in (value, json.dumps(value)[1:-1], repr(value)[1:-1])
    }
    return [
        (value, line) for line in lines for spelling, value in spellings.items() if spelling in line
    ]


@pytest.fixture(scope="session")
def kept_lines() -> Iterator[KeptLines]:
    """Keep every log line of the run, at the level the services log at in production."""
    handler = KeptLines()
    root = logging.getLogger()
    saved = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # As winback_shared.logs.configure_logging does: the Kafka client's INFO chatter is off.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)


@pytest.fixture(autouse=True)
def no_secrets_in_logs(kept_lines: KeptLines, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if a log line it caused holds a value it remembered."""
    _remembered.clear()
    start = len(kept_lines.lines)
    issue_token = agents.issue_token

    async def issue_and_remember(*args: Any, **kwargs: Any) -> tuple[agents.Agent, str]:
        agent, token = await issue_token(*args, **kwargs)
        remember(token)
        return agent, token

    # The admin API and CLI call it through the module: their tokens are remembered too.
    monkeypatch.setattr(agents, "issue_token", issue_and_remember)
    yield
    lines = kept_lines.lines[start:]
    del kept_lines.lines[start:]  # a long run keeps only the current test's lines
    found = leaks(lines, sorted(_remembered))
    _remembered.clear()
    if found:
        value, line = found[0]
        pytest.fail(
            f"{len(found)} log line(s) hold a secret or customer data; the first holds "
            f"{value[:12]!r}...: {line[:600]}",
            pytrace=False,
        )
