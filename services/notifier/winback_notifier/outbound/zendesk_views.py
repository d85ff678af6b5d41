"""``POST /webhooks/zendesk/{name}``: a Zendesk trigger tells the notifier a ticket changed.

No agent token: Zendesk cannot send one. The request is authenticated by the Zendesk webhook's
signature instead (the signing secret kept with the subscription ``name``, sealed at rest and
opened here with the notifier's ``WINBACK_OUTBOUND_SECRET_KEYS``; a missing, wrong or stale
signature is a 401), and it can do no more than :mod:`.zendesk_inbound` allows: resolve
or close the one case linked to that ticket when the workflow allows it, or add a note.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from winback_notifier.cases import service as cases
from winback_notifier.cases.rules import Action, CaseState
from winback_notifier.cases.rules import Outcome as CaseOutcome
from winback_notifier.cases.service import Change
from winback_notifier.deps import ServicesDep
from winback_notifier.outbound import helpdesk_links, store
from winback_notifier.outbound.channels.zendesk import zendesk_config
from winback_notifier.outbound.sealing import SealError
from winback_notifier.outbound.subscriptions import Channel, Subscription
from winback_notifier.outbound.zendesk_inbound import TicketChange, plan_inbound, verify
from winback_shared.case_changes import NOW, CaseColumn
from winback_shared.case_vocabulary import CaseStatus, HistoryKind
from winback_shared.db import Connection
from winback_shared.errors import ApiError
from winback_shared.events.case_events import Resolution

log = logging.getLogger("winback.outbound")

router = APIRouter(tags=["helpdesk"])

MAX_BODY_BYTES = 65536


class TicketChangeAnswer(BaseModel):
    """What the change did to the case, and what it left alone (and why)."""

    case_id: int | None
    applied: list[str]
    ignored: list[str]


async def _step(
    conn: Connection,
    state: CaseState,
    kind: HistoryKind,
    *,
    status: CaseStatus,
    actor: str,
    data: dict[str, Any],
    columns: dict[CaseColumn, Any] | None = None,
) -> Change:
    outcome = CaseOutcome(status=status, owner_id=state.owner_id, queue=state.queue)
    return await cases.commit_change(
        conn, state, outcome, kind, actor=actor, actor_id=None, data=data, columns=columns
    )


async def apply_ticket_change(
    pool: asyncpg.Pool, subscription: Subscription, change: TicketChange
) -> tuple[list[Change], TicketChangeAnswer]:
    """Apply a verified ticket change to its case in one transaction (the link and the case
    locked), remembering what the ticket now shows; returns the case changes to publish."""
    config = zendesk_config(subscription.url, subscription.secrets)
    actor = f"zendesk:{subscription.name}"
    ticket = f"Zendesk ticket #{change.ticket_id}"
    async with pool.acquire() as conn, conn.transaction():
        link = await helpdesk_links.find_by_ticket(
            conn, subscription.id, change.ticket_id, lock=True
        )
        if link is None:
            return [], TicketChangeAnswer(
                case_id=None, applied=[], ignored=[f"no case has {ticket}"]
            )
        state = await cases.lock_case(conn, link.case_id)
        plan = plan_inbound(
            change,
            known=link.synced,
            case_status=state.status,
            case_owned=state.owner_id is not None,
            api_user=config.email,
        )
        made: list[Change] = []
        if plan.action is Action.RESOLVE:
            resolution = Resolution(explanation=f"Solved in {ticket}").model_dump(mode="json")
            made.append(
                await _step(
                    conn,
                    state,
                    HistoryKind.RESOLVED,
                    status=CaseStatus.RESOLVED,
                    actor=actor,
                    data={"resolution": resolution, "ticket_id": change.ticket_id},
                    columns={CaseColumn.RESOLUTION: resolution, CaseColumn.RESOLVED_AT: NOW},
                )
            )
        elif plan.action is Action.CLOSE:
            outcome = f"Closed in {ticket}"
            made.append(
                await _step(
                    conn,
                    state,
                    HistoryKind.CLOSED,
                    status=CaseStatus.CLOSED,
                    actor=actor,
                    data={"follow_up_outcome": outcome, "ticket_id": change.ticket_id},
                    columns={CaseColumn.FOLLOW_UP_OUTCOME: outcome, CaseColumn.CLOSED_AT: NOW},
                )
            )
        if plan.note:
            state = await cases.lock_case(conn, link.case_id)
            made.append(
                await _step(
                    conn,
                    state,
                    HistoryKind.NOTE_ADDED,
                    status=state.status,
                    actor=actor,
                    data={"text": plan.note},
                )
            )
        if plan.known is not None or made:
            await helpdesk_links.synced(
                conn,
                subscription.id,
                link.case_id,
                seq=made[-1].card.seq if made else link.synced_seq,
                state=plan.known or link.synced,
            )
    applied = [str(m.entry.kind) for m in made]
    return made, TicketChangeAnswer(case_id=link.case_id, applied=applied, ignored=plan.ignored)


@router.post(
    "/webhooks/zendesk/{name}",
    response_model=TicketChangeAnswer,
    responses={
        401: {"description": "`bad_signature`: missing, wrong or stale, or no secret kept"},
        503: {"description": "`sealed`: the signing secret is sealed under no configured key"},
        404: {"description": "`unknown_subscription`: no Zendesk subscription of that name"},
        413: {"description": "`body_too_large`"},
        422: {"description": "`invalid_ticket_change`: the body is not the documented shape"},
    },
)
async def receive_zendesk_change(
    services: ServicesDep, name: str, request: Request
) -> TicketChangeAnswer:
    """A Zendesk trigger's ticket change (signed by the Zendesk webhook; no agent token): a
    solved or closed ticket resolves or closes the case where the workflow allows it, a new
    assignee becomes a note; our own updates coming back are ignored."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "body_too_large", f"at most {MAX_BODY_BYTES} bytes")
    stored = await store.find_subscription(services.pool, name)
    if stored is None or stored.channel is not Channel.ZENDESK:
        raise ApiError(404, "unknown_subscription", f"there is no Zendesk subscription {name!r}")
    try:  # the signing secret (and the URL naming the API user) are sealed at rest
        subscription = services.settings.secret_box().open_subscription(stored)
    except SealError as exc:
        raise ApiError(503, "sealed", str(exc)) from None
    if len(subscription.secrets) < 2:
        raise ApiError(401, "bad_signature", f"no signing secret is kept for {name!r}")
    verify(request.headers, body, subscription.secrets[1], time.time())
    try:
        change = TicketChange.model_validate_json(body)
    except ValidationError as exc:
        raise ApiError(422, "invalid_ticket_change", str(exc)[:500]) from None
    made, answer = await apply_ticket_change(services.pool, subscription, change)
    for case_change in made:
        await services.publisher.publish(case_change)
    log.info(
        "zendesk ticket change",
        extra={
            "fields": {
                "subscription": name,
                "ticket_id": change.ticket_id,
                "case_id": answer.case_id,
                "applied": answer.applied,
                "ignored": answer.ignored,
            }
        },
    )
    return answer
