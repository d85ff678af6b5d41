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
from contextlib import suppress
from typing import Protocol

import asyncpg

from winback_router.bulk_store import (
    AlreadyStored,
    CaseToOpen,
    FirstDelivery,
    FirstsStored,
    ResponseKey,
    open_cases,
    store_first_deliveries,
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
    triggers_json,
    unalerted_case,
)
from winback_shared.case_vocabulary import HistoryKind
from winback_shared.db import Connection
from winback_shared.deadlines import ContactPolicy
from winback_shared.events.recovery_alerts import CaseSummary, CodedReason
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
        """One transaction for the whole batch; what is new written by one statement.

        The first delivery of each response in the batch is inserted with the others, and the
        cases they need opened, by one call of a SQL function (``bulk_store``). A batch of new
        responses only (no dead letter, no later delivery, no business hours) is that one
        statement alone, its own transaction: one round trip for the whole save (the batch's
        fixed cost, docs/performance.md section 21). Otherwise, or if some response turns
        out to be stored already (the function then writes nothing), the same call runs inside
        a transaction with the rest. Everything else,
        a later delivery in the same batch or a response stored before it, is merged one by
        one in batch order (``store_later_delivery``), after the insert, as it would have been
        record by record: per response, deliveries still apply in the order they came.
        """
        responses = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, SurveyResponse)]
        failures = [o for o in outcomes if isinstance(o, Failure)]
        first: dict[ResponseKey, tuple[int, SurveyResponse]] = {}
        for index, response in responses:
            first.setdefault((response.source, response.response_id), (index, response))
        firsts = [response for _, response in first.values()]
        candidates = [
            FirstDelivery(response, content_digest(response), *coded)
            for response, coded in zip(firsts, code(firsts), strict=True)
        ]
        if (
            candidates
            and len(firsts) == len(responses)
            and not failures
            and self._contact_policy.hours is None
        ):
            # The common batch, new responses only: one statement, one transaction, one round
            # trip. If some were stored before, nothing is written and the batch goes the long
            # way below, which merges them.
            with suppress(AlreadyStored):
                async with self._pool.acquire() as conn:
                    alone = await store_first_deliveries(
                        conn, candidates, self._contact_policy, whole=True
                    )
                changes = self._opened_in_order(first, candidates, alone, alone.opened)
                return [changes[index] for index in sorted(changes)]
        async with self._pool.acquire() as conn, conn.transaction():
            stored = await store_first_deliveries(conn, candidates, self._contact_policy)
            opened = stored.opened
            to_open = self._to_open(candidates, stored)
            if to_open.keys() - opened.keys():  # business hours: opened here, as Python says
                assert stored.now is not None
                opened = opened | await open_cases(
                    conn,
                    [case for row, case in to_open.items() if row not in opened],
                    self._contact_policy,
                    stored.now,
                )
            changes = self._opened_in_order(first, candidates, stored, opened)
            for index, response in responses:
                key = (response.source, response.response_id)
                if first[key][0] == index and key in stored.rows:
                    continue
                change = await store_later_delivery(conn, response, code, self._contact_policy)
                if change is not None:
                    changes[index] = change
            await record_dead_letters(conn, failures)
        return [changes[index] for index in sorted(changes)]

    @staticmethod
    def _to_open(
        candidates: Sequence[FirstDelivery], stored: FirstsStored
    ) -> dict[int, CaseToOpen]:
        """The cases the responses inserted need, by response row, in batch order."""
        return {
            row.id: CaseToOpen(row, d.decision.priority, d.queue, triggers_json(d.decision))
            for d in candidates
            if (row := stored.rows.get(d.key)) is not None and d.decision.needs_recovery
        }

    @staticmethod
    def _opened_in_order(
        first: dict[ResponseKey, tuple[int, SurveyResponse]],
        candidates: Sequence[FirstDelivery],
        stored: FirstsStored,
        opened: dict[int, CaseSummary],
    ) -> dict[int, CaseChange]:
        """The ``opened`` changes of the first deliveries, by their index in the batch."""
        changes: dict[int, CaseChange] = {}
        for (index, _), delivery in zip(first.values(), candidates, strict=True):
            row = stored.rows.get(delivery.key)
            if row is not None and row.id in opened:
                changes[index] = CaseChange(HistoryKind.OPENED, opened[row.id])
        return changes

    async def mark_alerted(self, case_ids: Sequence[int]) -> None:
        """Stamp ``alerted_at`` outside any batch transaction (it is already committed); a
        batch that opened no case costs no round trip."""
        if not case_ids:
            return
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
