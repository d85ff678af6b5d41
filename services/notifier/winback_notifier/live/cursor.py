"""The console's resume position: when its board was last read, and for which view of it.

A ``snapshot`` or a finished catch-up hands the console a cursor; the console sends it back when
it reconnects (``{"type": "auth", "token": ..., "cursor": ...}``) and gets every case changed
since, instead of a snapshot capped at the board limit. So a case opened or changed while the
console was away (its network dropped, the notifier restarted) reaches it whatever the size of
the board and whatever the notifier's alert feed missed: the catch-up is read from PostgreSQL.

The cursor is the database's clock at the read, moved back by :data:`OVERLAP`. A change is
stamped ``updated_at`` with the start of its transaction, so one that started before the read
and committed after it carries an earlier moment than the read; the overlap takes those too.
Cards sent twice cost nothing: a console drops what its ``seq`` says it already shows.

The cursor also names the view (the agent, its role and queues) it was read for. When the
agent's view changed while the console was away, cases of a newly joined queue may not have
changed since, so the console gets a full snapshot instead. The console treats the cursor as
an opaque string; one this notifier cannot read (garbage, another version) also earns a
snapshot, never an error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from winback_shared.agents import Agent

OVERLAP = timedelta(minutes=2)
"""How far before a read a resumed catch-up starts: longer than any transaction that changes
cases (the router's batches, held across their Kafka publish, are the longest)."""
_VERSION = "v1"


def view_of(agent: Agent) -> str:
    """A short fingerprint of whose board it is and what it shows: the agent (its id and
    name, which cards show as their owner), its role and its queues."""
    seen = "*" if agent.sees_all_queues else ",".join(sorted(agent.queues))
    identity = f"{agent.id}|{agent.name}|{agent.role}|{seen}"
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cursor:
    """Where a console's board stands: changes from ``since`` on are still to be sent."""

    since: datetime
    view: str

    @classmethod
    def after_read(cls, read_at: datetime, agent: Agent) -> Cursor:
        """The cursor for a board read at ``read_at`` (the database's clock) for ``agent``."""
        return cls(read_at - OVERLAP, view_of(agent))

    def encode(self) -> str:
        """The opaque string the console keeps."""
        micros = int(self.since.timestamp() * 1_000_000)
        return f"{_VERSION}.{micros}.{self.view}"

    @classmethod
    def decode(cls, text: object) -> Cursor | None:
        """The cursor in ``text``, or ``None`` if it is not one this notifier wrote."""
        if not isinstance(text, str) or len(text) > 64:
            return None
        parts = text.split(".")
        if len(parts) != 3 or parts[0] != _VERSION or not parts[1].isdigit():
            return None
        since = datetime.fromtimestamp(int(parts[1]) / 1_000_000, UTC)
        return cls(since, parts[2])

    def fits(self, agent: Agent) -> bool:
        """Whether the board it describes is the one this agent sees now."""
        return self.view == view_of(agent)
