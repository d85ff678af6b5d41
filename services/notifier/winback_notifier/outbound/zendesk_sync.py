"""Keeping a Zendesk ticket per case in step: the sender of a Zendesk subscription.

It is an endpoint worker like the others (its own circuit breaker, backoff, dead letters,
replay), with three differences a ticket needs:

- **One ticket per case, made once.** The first change of a case that reaches Zendesk creates
  the ticket (normally ``case.opened``; a case opened before the subscription gets its ticket
  from its first later change), with an ``Idempotency-Key`` that is the delivery's webhook id:
  a retry whose first answer was lost gets the same ticket back (Zendesk keeps a key for two
  hours, longer than a delivery's retries last). Its id and page are kept in
  ``helpdesk_links``; every later change is a ``PUT`` to it.
- **In the case's order.** A change waits (without counting an attempt) while an earlier
  change of the same case is still owed: a ``case.claimed`` never runs ahead of the ticket's
  creation, and a delivery retried later never overtakes the next. Deliveries of one case in
  one batch go one after another; different cases go at once.
- **Nothing echoed.** A change the ticket already shows (``helpdesk_links.synced_*``, which the
  inbound webhook also writes) sends nothing, and a change older than what the ticket shows is
  dropped: so a case resolved from Zendesk does not send "solved" back.

Safety as every worker: the subscription's URL and its API token are opened from their seal
only to send, the URL is checked against the target policy before each delivery, and every
request goes through :meth:`EndpointWorker.exchange` (the guarded client: addresses checked
once resolved and pinned, redirects refused). A blocked Zendesk address is a dead letter
saying why.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from winback_notifier.outbound import helpdesk_links, store
from winback_notifier.outbound.channels.base import (
    Context,
    Delivery,
    OutboundRequest,
    Outcome,
    Verdict,
)
from winback_notifier.outbound.channels.zendesk import (
    SYSTEM,
    TicketState,
    ZendeskConfig,
    ZendeskConfigError,
    closing_note,
    create_request,
    desired_state,
    judge,
    ticket_in,
    update_request,
    zendesk_config,
)
from winback_notifier.outbound.helpdesk_links import Link
from winback_notifier.outbound.metrics import OUTBOUND_ATTEMPTS
from winback_notifier.outbound.sender import EndpointWorker
from winback_notifier.outbound.subscriptions import Subscription

log = logging.getLogger("winback.outbound")

WAIT_FLOOR_SECONDS = 0.5
"""A change waiting for an earlier one looks again at least this much later."""


@dataclass(frozen=True)
class Wait:
    """An earlier change of the case is owed first: look again in ``seconds``."""

    seconds: float


@dataclass(frozen=True)
class Skip:
    """Nothing to send: the ticket already shows this, or something newer."""

    reason: str


@dataclass(frozen=True)
class Create:
    """No ticket yet: make one showing ``state``."""

    state: TicketState


@dataclass(frozen=True)
class Update:
    """Send what changed to the ticket."""

    link: Link
    state: TicketState


Step = Wait | Skip | Create | Update


def case_of(delivery: Delivery) -> dict[str, Any]:
    """The card after the delivery's change."""
    case: dict[str, Any] = delivery.payload["data"]["case"]
    return case


def plan(
    delivery: Delivery,
    config: ZendeskConfig,
    link: Link | None,
    earlier_due_in: float | None,
) -> Step:
    """What to do with one delivery, given the case's link and whether an earlier change of it
    is still owed (``earlier_due_in``: seconds until it is due)."""
    if earlier_due_in is not None:
        return Wait(max(WAIT_FLOOR_SECONDS, earlier_due_in + WAIT_FLOOR_SECONDS))
    case = case_of(delivery)
    state = desired_state(case, config)
    if link is None:
        return Create(state)
    if case["seq"] <= link.synced_seq:
        return Skip(f"the ticket already reflects change {link.synced_seq} of the case")
    wanted = TicketState(state.status, state.assignee or link.synced.assignee)
    if wanted == link.synced and closing_note(delivery) is None:
        return Skip(f"the ticket already shows {wanted.status}")
    return Update(link, wanted)


class ZendeskWorker(EndpointWorker):
    """A Zendesk subscription's sender (chosen by :class:`~.sender.Dispatcher`)."""

    async def send_batch(self, due: list[Delivery]) -> None:
        """Each case's deliveries one after another, in the case's order; cases at once."""
        by_case: dict[int | None, list[Delivery]] = {}
        for delivery in sorted(due, key=lambda d: (case_of(d)["seq"], d.id)):
            by_case.setdefault(delivery.case_id, []).append(delivery)
        await asyncio.gather(*(self._in_order(group) for group in by_case.values()))

    async def _in_order(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            await self.deliver(delivery)

    async def deliver(self, delivery: Delivery) -> None:
        """Create the case's ticket, update it, wait for an earlier change, or skip."""
        subscription = self._opened()  # secrets opened, the URL checked by the target policy
        if isinstance(subscription, Outcome):
            self._count(subscription)
            await self.record(delivery, subscription)
            return
        try:
            config = zendesk_config(subscription.url, subscription.secrets)
        except ZendeskConfigError as exc:
            await self.record(delivery, Outcome(Verdict.REFUSED, None, str(exc)))
            return
        assert delivery.case_id is not None  # a Zendesk subscription takes case events only
        case = case_of(delivery)
        pool = self._pool
        link = await helpdesk_links.find(pool, self.subscription.id, delivery.case_id)
        earlier = await helpdesk_links.seconds_until_earlier_due(
            pool, self.subscription.id, delivery.case_id, case["seq"]
        )
        step = plan(delivery, config, link, earlier)
        if isinstance(step, Wait):
            await helpdesk_links.defer(pool, delivery.id, step.seconds)
            return
        if isinstance(step, Skip):
            await self._skip(delivery, case["seq"], step.reason)
            return
        if isinstance(step, Create):
            await self._create(delivery, subscription, config, step.state)
        elif isinstance(step, Update):
            await self._update(delivery, config, step)

    async def _skip(self, delivery: Delivery, seq: int, reason: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await store.mark_delivered(conn, delivery.id, None)
            assert delivery.case_id is not None
            link = await helpdesk_links.find(conn, self.subscription.id, delivery.case_id)
            if link is not None:
                await helpdesk_links.synced(
                    conn, self.subscription.id, delivery.case_id, seq=seq, state=link.synced
                )
        OUTBOUND_ATTEMPTS.labels(self.subscription.name, "delivered").inc()
        log.info(
            "zendesk: nothing to send",
            extra={
                "fields": {
                    "subscription": self.subscription.name,
                    "case_id": delivery.case_id,
                    "reason": reason,
                }
            },
        )

    async def _send(self, request: OutboundRequest) -> tuple[Outcome, httpx.Response | None]:
        """Through the same guarded client, target policy and redirect refusal as every
        endpoint worker (:meth:`EndpointWorker.exchange`), read as Zendesk answers."""
        answer = await self.exchange(request)
        if isinstance(answer, Outcome):
            return answer, None
        return judge(answer.status_code, answer.headers, answer.text), answer

    async def _create(
        self,
        delivery: Delivery,
        subscription: Subscription,
        config: ZendeskConfig,
        state: TicketState,
    ) -> None:
        context = Context(subscription, datetime.now(UTC), self._config.console_url)
        outcome, response = await self._send(create_request(delivery, context, config, state))
        ticket = ticket_in(response.text) if response is not None else None
        if outcome.verdict is Verdict.DELIVERED and ticket is None:
            # Made, but we cannot tell which: the retry gets it back by its idempotency key.
            outcome = Outcome(Verdict.RETRY, outcome.status, "the answer named no ticket")
        self._count(outcome)
        if ticket is None or outcome.verdict is not Verdict.DELIVERED:
            await self.record(delivery, outcome)
            return
        assert delivery.case_id is not None and response is not None
        async with self._pool.acquire() as conn, conn.transaction():
            await helpdesk_links.save(
                conn,
                subscription_id=self.subscription.id,
                case_id=delivery.case_id,
                system=SYSTEM,
                external_id=ticket.id,
                url=config.ticket_page(ticket.id),
                seq=case_of(delivery)["seq"],
                state=state,
            )
            await self.record(delivery, outcome, db=conn)
        log.info(
            "zendesk ticket made",
            extra={
                "fields": {
                    "subscription": self.subscription.name,
                    "case_id": delivery.case_id,
                    "ticket_id": ticket.id,
                    "idempotency": response.headers.get("x-idempotency-lookup"),
                }
            },
        )

    async def _update(self, delivery: Delivery, config: ZendeskConfig, step: Update) -> None:
        request = update_request(
            step.link.external_id, delivery, config, step.state, step.link.synced
        )
        outcome, _ = await self._send(request)
        self._count(outcome)
        if outcome.verdict is not Verdict.DELIVERED:
            await self.record(delivery, outcome)
            return
        assert delivery.case_id is not None
        async with self._pool.acquire() as conn, conn.transaction():
            await helpdesk_links.synced(
                conn,
                self.subscription.id,
                delivery.case_id,
                seq=case_of(delivery)["seq"],
                state=step.state,
            )
            await self.record(delivery, outcome, db=conn)
