"""The helpdesk tickets that stand for a case (``helpdesk_links``, written by the outbound
helpdesk sync): the case API shows them, and the case panel links to them."""

from __future__ import annotations

from pydantic import BaseModel

from winback_notifier.cases.service import Db


class HelpdeskTicket(BaseModel):
    """A ticket in a helpdesk kept in step with the case."""

    system: str
    """``zendesk``."""
    ticket_id: str
    url: str
    """The ticket's page for an agent of that helpdesk."""


async def case_tickets(conn: Db, case_id: int) -> list[HelpdeskTicket]:
    """The case's tickets, oldest first (one per helpdesk subscription)."""
    rows = await conn.fetch(
        "SELECT system, external_id AS ticket_id, url FROM helpdesk_links"
        " WHERE case_id = $1 ORDER BY created_at, subscription_id",
        case_id,
    )
    return [HelpdeskTicket.model_validate(dict(row)) for row in rows]
