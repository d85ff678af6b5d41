"""Flagging offers that wait too long for a supervisor's answer.

A request above an agent's limit should be answered within minutes, while the customer is
still on the line or waiting for the call back. One left unanswered for
``WINBACK_OFFER_APPROVAL_MINUTES`` gets an ``offer_overdue`` history entry (actor ``sla``),
which every supervisor console pops up again. Each offer is flagged once, whichever notifier
gets there first: the flag is written under the case's row lock and only if still unset.

Checked every ``WINBACK_OFFER_CHECK_SECONDS`` rather than by the SLA scheduler's to-the-second
timers: a flag a few seconds late changes nothing for a deadline counted in minutes, and a
second kind of deadline would have made that scheduler's heap and its wake-ups about two
things. Should approvals ever need seconds, that is where they would go.
"""

from __future__ import annotations

from functools import partial

import asyncpg

from winback_notifier.cases import flows, offer_store, offers
from winback_notifier.cases.publisher import CaseEventPublisher


class OfferApprovalTimer:
    """Flags pending offers older than the approval time (see the module's docstring)."""

    def __init__(
        self, pool: asyncpg.Pool, publisher: CaseEventPublisher, approval_minutes: float
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._seconds = approval_minutes * 60

    async def flag(self) -> int:
        """Flag (and publish) every offer overdue now; returns how many this call flagged."""
        flagged = 0
        due = await offer_store.overdue_candidates(self._pool, older_than_seconds=self._seconds)
        for case_id, offer_id in due:
            write = partial(
                offers.flag_overdue,
                case_id=case_id,
                offer_id=offer_id,
                older_than_seconds=self._seconds,
            )
            if await flows.commit_and_publish(self._pool, self._publisher, write) is not None:
                flagged += 1
        return flagged
