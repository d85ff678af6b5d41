"""What the batch logic needs from the database, and its PostgreSQL implementation.

The consumer loop sees two verbs: save a batch's outcomes in one transaction, and record that
alerts were acknowledged. Behind ``save`` sits the idempotent store: a first delivery is
inserted (a batch's first deliveries together, ``bulk_store.py``), a repeat changes nothing (but
hands back a case whose alert was never confirmed), and a delivery that says something new
revises the response and its open case (one at a time, ``store.py``).
The unit tests of the loop use an in-memory ``BatchStore`` instead (``tests/router_memory.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import asyncpg

from winback_router.bulk_store import (
    CaseToOpen,
    FirstDelivery,
    ResponseKey,
    insert_first_deliveries,
    open_cases,
)
from winback_router.dead_letters.store import Failure, record_dead_letters
from winback_router.decision import Decision
from winback_router.revisions import content_digest, merge_revision
from winback_router.store import (
    CaseChange,
    ConcurrentDelivery,
    load_response,
    mark_alerted,
    revise_response,
    unalerted_case,
)
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.db import Connection
from winback_shared.deadlines import ContactPolicy
from winback_shared.events.recovery_alerts import CodedReason
from winback_shared.survey import SurveyResponse

log = logging.getLogger("winback.router")

Coded = tuple[list[CodedReason], Decision, str]
"""A response's coded reasons, the decision on its case, and the queue for that case."""

Coder = Callable[[Sequence[SurveyResponse]], list[Coded]]
"""The router's pure rules for many responses at once, one ``Coded`` per response in order.

Coding a list is the seam for a model that scores a batch of texts in one call; the store
calls it once for a batch's first deliveries and again, with one response, on a merged
revision."""


class BatchStore(Protocol):
    """Durable outcomes of a batch."""

    async def save(
        self, outcomes: Sequence[SurveyResponse | Failure], code: Coder
    ) -> list[CaseChange]:
        """Store responses (opening or revising their cases) and dead letters.

        All or nothing: one transaction, committed when this returns. Returns the cases the
        consoles must hear about, in the order of the outcomes that changed them. The result
        is what storing the outcomes one by one, in order, would give.
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
        """One transaction for the whole batch, one statement per table for what is new.

        The first delivery of each response in the batch is inserted with the others in one
        statement (``bulk_store``) and the cases it needs opened in another. Everything else,
        a later delivery in the same batch or a response stored before it, is merged one by
        one in batch order (``store_later_delivery``), after the insert, as it would have been
        record by record: per response, deliveries still apply in the order they came.
        """
        responses = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, SurveyResponse)]
        first: dict[ResponseKey, tuple[int, SurveyResponse]] = {}
        for index, response in responses:
            first.setdefault((response.source, response.response_id), (index, response))
        firsts = [response for _, response in first.values()]
        candidates = [
            FirstDelivery(response, content_digest(response), *coded)
            for response, coded in zip(firsts, code(firsts), strict=True)
        ]
        changes: dict[int, CaseChange] = {}
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await insert_first_deliveries(conn, candidates)
            opened = await open_cases(
                conn,
                [
                    CaseToOpen(inserted[d.key], d.decision.priority, d.queue)
                    for d in candidates
                    if d.key in inserted and d.decision.needs_recovery
                ],
                self._contact_policy,
            )
            for (index, _), delivery in zip(first.values(), candidates, strict=True):
                row = inserted.get(delivery.key)
                if row is not None and row.id in opened:
                    changes[index] = CaseChange(HistoryKind.OPENED, opened[row.id])
            for index, response in responses:
                key = (response.source, response.response_id)
                if first[key][0] == index and key in inserted:
                    continue
                change = await store_later_delivery(conn, response, code, self._contact_policy)
                if change is not None:
                    changes[index] = change
            await record_dead_letters(conn, [o for o in outcomes if isinstance(o, Failure)])
        return [changes[index] for index in sorted(changes)]

    async def mark_alerted(self, case_ids: Sequence[int]) -> None:
        """Stamp ``alerted_at`` outside any batch transaction (it is already committed)."""
        async with self._pool.acquire() as conn:
            await mark_alerted(conn, list(case_ids))


async def store_later_delivery(
    conn: Connection, response: SurveyResponse, code: Coder, contact_policy: ContactPolicy
) -> CaseChange | None:
    """Merge a delivery of a stored response: nothing new (a case never alerted is handed back
    to be alerted), or a revision of the response and its case."""
    stored = await load_response(conn, response.source, response.response_id)
    if stored is None:  # only if another router's transaction removed it: start over
        raise ConcurrentDelivery(f"{response.source}/{response.response_id}")
    merged = merge_revision(stored.response, response)
    digest = content_digest(merged)
    if digest == (stored.digest or content_digest(stored.response)):
        return await unalerted_case(conn, stored)
    ((reasons, decision, queue),) = code([merged])
    log.info(
        "response revised",
        extra={"fields": {"receipt_id": response.receipt_id, "source": response.source}},
    )
    return await revise_response(
        conn, stored, merged, digest, reasons, decision, queue, contact_policy=contact_policy
    )
