"""Helpers for outbound tests: a pool as the notifier's role, events, a running dispatcher, and
the target policy and keys the tests run with (loopback receivers allowed, secrets sealed)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from itertools import count
from typing import Any

import asyncpg

from winback_notifier.outbound import store
from winback_notifier.outbound.events import OutboundEvent, from_change
from winback_notifier.outbound.guarded_http import Resolver, guarded_client, system_resolver
from winback_notifier.outbound.retry import RetryPolicy
from winback_notifier.outbound.sealing import SecretBox, new_key
from winback_notifier.outbound.sender import Dispatcher, SenderConfig
from winback_notifier.outbound.targets import TargetPolicy
from winback_shared.case_vocabulary import CaseStatus, HistoryKind
from winback_shared.events.case_events import CaseCard, CaseChanged, HistoryEntry

FAST_RETRIES = RetryPolicy(base_seconds=0.01, cap_seconds=0.05, max_attempts=20)
LOOPBACK_HOSTS = ["127.0.0.1", "::1"]
LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]
LOOPBACK = TargetPolicy.build(private_networks=LOOPBACK_NETWORKS, http_hosts=LOOPBACK_HOSTS)
"""The test receivers listen on loopback over plain http: allowed as an operator would."""
TEST_KEY = new_key()
SEALED = SecretBox([TEST_KEY])
"""Every test subscription's secrets are sealed, as in production."""
SAFETY_SETTINGS: dict[str, Any] = {
    "outbound_allowed_private_networks": LOOPBACK_NETWORKS,
    "outbound_http_hosts": LOOPBACK_HOSTS,
    "outbound_secret_keys": [TEST_KEY],
}
"""The same, as settings of the notifier and the outbound process."""
_case_ids = count(1000)


def breach(priority: int = 1, queue: str = "default") -> OutboundEvent:
    """A fresh case's ``case.breached`` event, happening now."""
    now = datetime.now(UTC)
    case_id = next(_case_ids)
    card = CaseCard.model_validate(
        {
            "case_id": case_id,
            "seq": 3,
            "status": CaseStatus.OPEN,
            "priority": priority,
            "queue": queue,
            "source": "survey",
            "response_id": f"r-{case_id}",
            "customer": {"id": "c-1"},
            "interaction": {},
            "scores": [],
            "reasons": [],
            "comment": None,
            "follow_up_requested": False,
            "submitted_at": None,
            "received_at": now,
            "opened_at": now,
        }
    )
    entry = HistoryEntry(seq=3, kind=HistoryKind.SLA_BREACHED, actor="sla", occurred_at=now)
    event = from_change(CaseChanged(case=card, change=entry))
    assert event is not None
    return event


@asynccontextmanager
async def running_dispatcher(
    pool: asyncpg.Pool,
    *,
    policy: RetryPolicy = FAST_RETRIES,
    breaker_failures: int = 1000,
    breaker_cooldown: float = 60.0,
    timeout: float = 5.0,
    targets: TargetPolicy = LOOPBACK,
    box: SecretBox = SEALED,
    resolve: Resolver = system_resolver,
) -> AsyncIterator[Dispatcher]:
    """The senders, running until the block ends, through the guarded client."""
    async with guarded_client(targets, timeout, resolve) as client:
        config = SenderConfig(
            policy=policy,
            console_url="http://127.0.0.1:8002",
            breaker_failures=breaker_failures,
            breaker_cooldown=breaker_cooldown,
            lease_seconds=30.0,
            poll_seconds=0.2,
            timeout=timeout,
            targets=targets,
            secret_box=box,
        )
        dispatcher = Dispatcher(pool, client, config)
        task = asyncio.create_task(dispatcher.run())
        try:
            yield dispatcher
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert dispatcher.error is None, f"a sender died: {dispatcher.error!r}"


async def statuses(pool: asyncpg.Pool, name: str) -> list[str]:
    """The status of each of a subscription's deliveries, oldest first."""
    return [row.status for row in reversed(await store.list_deliveries(pool, name))]


CLI_RUN_SECONDS = 60
"""What a test allows one :func:`outbound` run, with room, in its timeout: 3-4 s of CPU, 14-45 s
of wall time on two shared cores at load 9-18 (most of it importing the notifier's modules)."""


async def outbound(
    database_url: str, *args: str, keys: str | None = TEST_KEY, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run the outbound CLI as an operator would (a subprocess). ``keys`` is its
    ``WINBACK_OUTBOUND_SECRET_KEYS`` (``None``: unset); ``env`` adds variables."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WINBACK_OUTBOUND_")},
        **(env or {}),
    }
    if keys is not None:
        env["WINBACK_OUTBOUND_SECRET_KEYS"] = keys
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "winback_notifier.outbound",
        *args,
        env={**env, "DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode() + err.decode()
