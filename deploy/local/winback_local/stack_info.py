"""What a running local stack writes for its tools, and how they read it back.

Kept apart from :mod:`winback_local.stack` (which starts Kafka, PostgreSQL and the services, and
imports their clients) so that ``winback send`` and ``winback --help`` load only this: the
details of a stack already running are a JSON file, not a reason to import a database driver.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
STATE_DIR = REPO_ROOT / ".winback"
STATE_FILE = STATE_DIR / "stack.json"


def service_of(instance: str) -> str:
    """``router-2`` → ``router``."""
    return instance.split("-", 1)[0]


@dataclass
class StackInfo:
    """What a user (or the ``send`` command) needs to talk to a running stack."""

    ingest_url: str
    notifier_url: str
    router_url: str
    source: str | None
    """The demo source, or None when the user configured their own (``WINBACK_SOURCES``)."""
    secret: str | None
    agent_token: str
    """The demo supervisor's token (``stack.DEMO_AGENT``)."""
    kafka_bootstrap_servers: str
    database_url: str
    instance_urls: dict[str, str] = field(default_factory=dict)
    """Every instance's base URL by name (``router-2`` ...), the first ones included."""
    secret_path: str | None = None
    """Where the demo source's signing secret is kept (the same across restarts)."""
    floor_token: str | None = None
    """The demo agent's token (``stack.DEMO_FLOOR_AGENT``); ``None`` in a stack file written
    before the demo had one."""

    def demo_signing(self) -> tuple[str, str]:
        """(source, secret) of the demo source, or a clear exit when the user's own serve."""
        if self.source is None or self.secret is None:
            raise SystemExit(
                "this stack serves your own WINBACK_SOURCES, not the demo source, so a sample has"
                " nothing to sign with: post a body in your vendor's format with `winback send"
                " --file PATH --source NAME` (or yourself to /webhooks/<source>, signed with that"
                " source's secret; docs/sources.md), or restart `make run` with WINBACK_SOURCES"
                " and WINBACK_SOURCES_FILE unset"
            )
        return self.source, self.secret

    def urls_of(self, service: str) -> list[str]:
        """The base URLs of every instance of ``service``."""
        return [url for name, url in self.instance_urls.items() if service_of(name) == service]


def load_info(path: Path = STATE_FILE) -> StackInfo:
    """Read the running stack's details written by ``winback run``."""
    if not path.exists():
        raise SystemExit(f"no running stack found ({path} is missing): start it with `make run`")
    return StackInfo(**json.loads(path.read_text()))
