"""What the batch logic needs from the database, and its PostgreSQL implementation.

The consumer loop sees two verbs: save a batch's outcomes in one transaction, and record that
alerts were acknowledged. Behind ``save`` sits the idempotent store (``store.py``): a first
delivery is inserted, a repeat changes nothing (but hands back a case whose alert was never
confirmed), and a delivery that says something new revises the response and its open case.
The unit tests of the loop use an in-memory ``BatchStore`` instead (``tests/router_memory.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import asyncpg

from winback_router.dead_letters.store import Failure, record_dead_letter
from winback_router.decision import Decision
from winback_router.revisions import content_digest, merge_revision
from winback_router.store import (
    AlreadyStored,
    CaseChange,
    ConcurrentDelivery,
    insert_response,
    load_response,
    mark_alerted,
    revise_response,
    unalerted_case,
)
from winback_shared.db import Connection
from winback_shared.deadlines import ContactPolicy
from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import SurveyResponse

log = logging.getLogger("winback.router")

Coded = tuple[list[CodedReason], Decision, str]
"""A response's coded reasons, the decision on its case, and the queue for that case."""

Coder = Callable[[SurveyResponse], Coded]
"""The router's pure rules for one response; the store calls it again on a merged revision."""


class BatchStore(Protocol):
    """Durable outcomes of a batch."""

    async def save(
        self, outcomes: Sequence[SurveyResponse | Failure], code: Coder
    ) -> list[CaseChange]:
        """Store responses (opening or revising their cases) and dead letters, in that order.

        All or nothing: one transaction, committed when this returns. Returns the cases the
        consoles must hear about, in the order of the outcomes that changed them.
        """
        ...

    async def mark_alerted(self, case_ids: Sequence[int]) -> None:
        """Record that these cases' alerts were acknowledged (cases already marked keep their
        first time)."""
        ...


class PostgresBatchStore:
    """``BatchStore`` on PostgreSQL: one pooled connection and one transaction per batch."""

    def __init__(self, pool: asyncpg.Pool, contact_policy: ContactPolicy) -> None:
        self._pool = pool
        self._contact_policy = contact_policy

    async def save(
        self, outcomes: Sequence[SurveyResponse | Failure], code: Coder
    ) -> list[CaseChange]:
        """One transaction for the whole batch: what lets the router keep up with a burst."""
        changes: list[CaseChange] = []
        async with self._pool.acquire() as conn, conn.transaction():
            for outcome in outcomes:
                if isinstance(outcome, Failure):
                    await record_dead_letter(conn, outcome)
                    continue
                change = await store_response(conn, outcome, code, self._contact_policy)
                if change is not None:
                    changes.append(change)
        return changes

    async def mark_alerted(self, case_ids: Sequence[int]) -> None:
        """Stamp ``alerted_at`` outside any batch transaction (it is already committed)."""
        async with self._pool.acquire() as conn:
            await mark_alerted(conn, list(case_ids))


async def store_response(
    conn: Connection, response: SurveyResponse, code: Coder, contact_policy: ContactPolicy
) -> CaseChange | None:
    """Insert a first delivery, or merge a later one into what is stored; the case to announce."""
    reasons, decision, queue = code(response)
    try:
        return await insert_response(
            conn,
            response,
            content_digest(response),
            reasons,
            decision,
            queue,
            contact_policy=contact_policy,
        )
    except AlreadyStored:
        pass
    stored = await load_response(conn, response.source, response.response_id)
    if stored is None:  # only if another router's transaction removed it: start over
        raise ConcurrentDelivery(f"{response.source}/{response.response_id}")
    merged = merge_revision(stored.response, response)
    digest = content_digest(merged)
    if digest == (stored.digest or content_digest(stored.response)):
        return await unalerted_case(conn, stored)
    reasons, decision, queue = code(merged)
    log.info(
        "response revised",
        extra={"fields": {"receipt_id": response.receipt_id, "source": response.source}},
    )
    return await revise_response(
        conn, stored, merged, digest, reasons, decision, queue, contact_policy=contact_policy
    )
