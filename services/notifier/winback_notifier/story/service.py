"""The story so far of a case's customer: what triggered the survey, what came before, and the
other open cases to handle together.

Which responses are the same customer's is :mod:`winback_shared.customer_match`'s call; this
module reads what the agent needs about them. Cases in queues the agent does not see are still
listed (status, owner, outcome: enough not to call the customer twice), without what the
customer wrote in them.

Claiming together (:func:`claim_together`) locks every case of the group in case-id order in one
transaction, refuses the whole group if another agent owns one, and otherwise claims each with
:func:`winback_notifier.cases.service.claim`. Two agents claiming overlapping groups at once
therefore queue on the first shared lock: the second then sees the first one's ownership and
gets 409 naming them, and nobody ends up owning half of a customer's cases.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel, Field

from winback_notifier.cases import service as cases
from winback_notifier.cases.rules import ACTIVE, CaseRefused
from winback_notifier.cases.service import Change
from winback_shared.agents import Agent
from winback_shared.case_months import CASE_OPENED_AT, RESPONSE_RECEIVED_AT
from winback_shared.case_vocabulary import OPEN_STATUSES
from winback_shared.customer_match import MatchRule, matching_responses
from winback_shared.db import Connection
from winback_shared.taxonomy import Taxonomy


class TriggeringInteraction(BaseModel):
    """The service interaction the survey was about, and the survey that rated it."""

    id: str | None = None
    channel: str | None = None
    agent: str | None = None
    team: str | None = None
    occurred_at: datetime | None = None
    source: str
    survey_id: str | None = None
    response_id: str
    submitted_at: datetime | None = None
    received_at: datetime


class CaseOutcome(BaseModel):
    """A case of the customer's and where it stands, or how it ended."""

    case_id: int
    status: str
    queue: str
    priority: int
    owner: str | None = None
    opened_at: datetime
    resolved_at: datetime | None = None
    root_cause: str | None = None
    root_cause_label: str | None = None
    resolution: dict[str, Any] | None = None
    customer_reaction: str | None = None
    follow_up_outcome: str | None = None
    visible: bool = Field(description="In a queue the agent sees: they may open or claim it.")


class EarlierResponse(BaseModel):
    """Another survey response of the same customer, with its case if one was opened."""

    survey_response_id: int
    source: str
    response_id: str
    answered_at: datetime = Field(description="When the customer answered (or we received it).")
    before: bool = Field(description="Answered before the response this case is about.")
    matched_by: list[str] = Field(description="The keys that linked it: id, email, phone.")
    scores: list[dict[str, Any]]
    reasons: list[str] = Field(description="Labels of its coded reasons.")
    comment: str | None = Field(description="Left out when its case is in a queue not yours.")
    interaction: dict[str, Any]
    case: CaseOutcome | None = None


class LinkedCase(CaseOutcome):
    """Another open case of the same customer: call about them together, once."""

    mine: bool
    claimable: bool = Field(description="Unowned and in your queues: claim it with this one.")


class Story(BaseModel):
    """``GET /api/cases/{id}/story``."""

    case_id: int
    interaction: TriggeringInteraction
    responses: list[EarlierResponse] = Field(description="Newest first.")
    open_cases: list[LinkedCase] = Field(description="The customer's other open cases.")
    repeat: bool = Field(description="Another response within the repeat window before this one.")
    repeat_window_days: float


class RepeatMark(BaseModel):
    """Whether a case's customer complained before, within the repeat window."""

    case_id: int
    earlier: int = Field(description="Earlier responses of the customer within the window.")
    last_at: datetime | None = None


_ANSWERED_AT = "coalesce(r.submitted_at, r.received_at)"

_RESPONSES_SQL = f"""
SELECT r.id, r.source, r.response_id, {_ANSWERED_AT} AS answered_at, r.scores, r.codes,
       r.comment, r.interaction,
       c.id AS case_id, c.status, c.queue, c.priority, c.opened_at, c.resolved_at,
       c.root_cause, c.resolution, c.customer_reaction, c.follow_up_outcome, c.owner_id,
       a.name AS owner
FROM survey_responses r
LEFT JOIN recovery_cases c ON c.survey_response_id = r.id
LEFT JOIN agents a ON a.id = c.owner_id
WHERE r.id = ANY($1::bigint[])
ORDER BY {_ANSWERED_AT} DESC, r.id DESC
"""


def _outcome(row: asyncpg.Record, agent: Agent, taxonomy: Taxonomy) -> dict[str, Any]:
    label = None
    if row["root_cause"] is not None:
        try:
            label = taxonomy.by_id(row["root_cause"]).label
        except KeyError:
            label = row["root_cause"]
    return {
        "case_id": row["case_id"],
        "status": row["status"],
        "queue": row["queue"],
        "priority": row["priority"],
        "owner": row["owner"],
        "opened_at": row["opened_at"],
        "resolved_at": row["resolved_at"],
        "root_cause": row["root_cause"],
        "root_cause_label": label,
        "resolution": row["resolution"],
        "customer_reaction": row["customer_reaction"],
        "follow_up_outcome": row["follow_up_outcome"],
        "visible": agent.sees_queue(row["queue"]),
    }


async def _triggering(conn: Connection, case_id: int) -> asyncpg.Record:
    row = await conn.fetchrow(
        f"""
        SELECT r.id, r.source, r.survey_id, r.response_id, r.submitted_at, r.received_at,
               r.interaction, {_ANSWERED_AT} AS answered_at
        FROM recovery_cases c
        JOIN survey_responses r ON r.id = c.survey_response_id
                               AND r.received_at = c.response_received_at
        WHERE c.id = $1 AND c.opened_at = {CASE_OPENED_AT}
          AND r.received_at = {RESPONSE_RECEIVED_AT}
        """,
        case_id,
    )
    if row is None:
        raise CaseRefused(404, "case_not_found", f"there is no case {case_id}")
    return row


async def read_story(
    conn: Connection,
    *,
    agent: Agent,
    case_id: int,
    rule: MatchRule,
    repeat_window: timedelta,
    taxonomy: Taxonomy,
) -> Story:
    """The case's story as the agent may see it; 404/403 as for reading the case."""
    await cases.get_card(conn, agent, case_id)
    me = await _triggering(conn, case_id)
    matches = await matching_responses(conn, survey_response_id=me["id"], rule=rule)
    matched_by = {match.survey_response_id: list(match.matched_by) for match in matches}
    rows = await conn.fetch(_RESPONSES_SQL, list(matched_by)) if matched_by else []
    responses: list[EarlierResponse] = []
    open_cases: list[LinkedCase] = []
    for row in rows:
        outcome = _outcome(row, agent, taxonomy) if row["case_id"] is not None else None
        hidden = outcome is not None and not outcome["visible"]
        responses.append(
            EarlierResponse(
                survey_response_id=row["id"],
                source=row["source"],
                response_id=row["response_id"],
                answered_at=row["answered_at"],
                before=(row["answered_at"], row["id"]) < (me["answered_at"], me["id"]),
                matched_by=matched_by[row["id"]],
                scores=row["scores"],
                reasons=[reason.get("label") or reason["code"] for reason in row["codes"]],
                comment=None if hidden else row["comment"],
                interaction=row["interaction"],
                case=CaseOutcome.model_validate(outcome) if outcome else None,
            )
        )
        if outcome is not None and row["status"] in OPEN_STATUSES:
            mine = row["owner_id"] == agent.id
            owned = row["owner_id"] is not None and row["status"] in ACTIVE
            open_cases.append(
                LinkedCase.model_validate(
                    {**outcome, "mine": mine, "claimable": outcome["visible"] and not owned}
                )
            )
    since = me["answered_at"] - repeat_window
    interaction = me["interaction"]
    return Story(
        case_id=case_id,
        interaction=TriggeringInteraction(
            id=interaction.get("id"),
            channel=interaction.get("channel"),
            agent=interaction.get("agent"),
            team=interaction.get("team"),
            occurred_at=interaction.get("occurred_at"),
            source=me["source"],
            survey_id=me["survey_id"],
            response_id=me["response_id"],
            submitted_at=me["submitted_at"],
            received_at=me["received_at"],
        ),
        responses=responses,
        open_cases=sorted(open_cases, key=lambda linked: linked.case_id),
        repeat=any(r.before and r.answered_at >= since for r in responses),
        repeat_window_days=repeat_window / timedelta(days=1),
    )


async def repeat_marks(
    conn: Connection,
    *,
    agent: Agent,
    case_ids: list[int],
    rule: MatchRule,
    repeat_window: timedelta,
) -> list[RepeatMark]:
    """For each case the agent sees among ``case_ids``, the customer's earlier responses within
    the window (cases not found or not the agent's to see are left out)."""
    marks = []
    rows = await conn.fetch(
        f"""
        SELECT c.id AS case_id, c.queue, r.id, {_ANSWERED_AT} AS answered_at
        FROM case_keys k
        JOIN recovery_cases c ON c.id = k.case_id AND c.opened_at = k.opened_at
        JOIN survey_responses r
          ON r.id = c.survey_response_id AND r.received_at = c.response_received_at
        WHERE k.case_id = ANY($1::bigint[]) ORDER BY c.id
        """,
        case_ids,
    )
    for row in rows:
        if not agent.sees_queue(row["queue"]):
            continue
        matches = await matching_responses(conn, survey_response_id=row["id"], rule=rule)
        # Each matched response named with its month: one partition probed per response.
        earlier = await conn.fetchrow(
            f"""
            SELECT count(*) AS earlier, max({_ANSWERED_AT}) AS last_at
            FROM unnest($1::bigint[], $5::timestamptz[]) AS m (id, received_at)
            JOIN survey_responses r ON r.id = m.id AND r.received_at = m.received_at
            WHERE {_ANSWERED_AT} >= $2 AND ({_ANSWERED_AT}, r.id) < ($3, $4)
            """,
            [match.survey_response_id for match in matches],
            row["answered_at"] - repeat_window,
            row["answered_at"],
            row["id"],
            [match.received_at for match in matches],
        )
        assert earlier is not None
        marks.append(RepeatMark(case_id=row["case_id"], **dict(earlier)))
    return marks


async def claim_together(
    conn: Connection, *, case_id: int, linked: list[int], actor: Agent, rule: MatchRule
) -> list[Change]:
    """Claim the case and the linked open cases the agent chose, all or none (see the module
    docstring); cases already the agent's are left as they are."""
    me = await _triggering(conn, case_id)
    same_customer = {
        match.survey_response_id
        for match in await matching_responses(conn, survey_response_id=me["id"], rule=rule)
    }
    async with conn.transaction():
        rows = await conn.fetch(
            """
            SELECT c.id, c.status, c.owner_id, c.survey_response_id,
                   (SELECT a.name FROM agents a WHERE a.id = c.owner_id) AS owner
            FROM case_keys k
            JOIN recovery_cases c ON c.id = k.case_id AND c.opened_at = k.opened_at
            WHERE k.case_id = ANY($1::bigint[])
            ORDER BY c.id FOR UPDATE OF c
            """,
            sorted({case_id, *linked}),
        )
        found = {row["id"]: row for row in rows}
        for other in sorted(set(linked) - {case_id}):
            row = found.get(other)
            if row is None or row["survey_response_id"] not in same_customer:
                raise CaseRefused(
                    409, "not_linked", f"case {other} is not another case of this customer"
                )
            if row["owner_id"] not in (None, actor.id) and row["status"] in ACTIVE:
                raise CaseRefused(
                    409,
                    "linked_owned",
                    f"case {other} of the same customer is already claimed by {row['owner']}; "
                    "agree with them who calls",
                )
        changes = []
        for row in sorted(found.values(), key=lambda row: row["id"]):
            if row["owner_id"] == actor.id and row["status"] in ACTIVE:
                continue
            changes.append(await cases.claim(conn, case_id=row["id"], actor=actor))
        return changes
