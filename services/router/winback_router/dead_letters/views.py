"""The router's ops endpoints: dead letters, listed and replayed, and what became of one
delivery (``winback send`` asks, after ingest's 202), for supervisors and admins.

The same actions exist on the command line (``python -m winback_router.dead_letters``); the
endpoints are for ops tooling and dashboards. Both read PostgreSQL, the list's source of truth.
Callers sign in with an agent token (:mod:`winback_shared.auth`): supervisors and admins only.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from winback_router.dead_letters.fates import DeliveryFate, delivery_fate
from winback_router.dead_letters.store import (
    get_dead_letter,
    list_dead_letters,
    replay_dead_letters,
)
from winback_shared.auth import current_supervisor
from winback_shared.errors import ApiError


class ReplayRequest(BaseModel):
    """Which dead letters to replay: explicit ids, or every pending one of a source."""

    ids: Annotated[list[int], Field(max_length=10_000)] = Field(default_factory=list)
    source: str | None = None


def ops_router() -> APIRouter:
    """Routes under ``/ops``; the app must have ``state.pool``, ``state.producer`` and
    ``state.responses_topic``."""
    router = APIRouter(prefix="/ops", tags=["ops"], dependencies=[Depends(current_supervisor)])

    @router.get("/dead-letters")
    async def dead_letters(
        request: Request,
        source: str | None = None,
        include_replayed: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """Dead letters, newest first; by default only those not yet replayed."""
        letters = await list_dead_letters(
            request.app.state.pool,
            pending_only=not include_replayed,
            source=source,
            limit=limit,
        )
        return [letter.as_json() for letter in letters]

    @router.get("/dead-letters/{letter_id}")
    async def dead_letter(request: Request, letter_id: int) -> dict[str, Any]:
        """One dead letter with its original record (base64), to see what the vendor sent."""
        found = await get_dead_letter(request.app.state.pool, letter_id)
        if found is None:
            raise ApiError(404, "not_found", f"no dead letter {letter_id}")
        letter, record = found
        return {**letter.as_json(), "record_base64": base64.b64encode(record).decode()}

    @router.get("/deliveries/{receipt_id}")
    async def read_delivery_fate(
        request: Request,
        receipt_id: str,
        source: str | None = None,
        response_id: str | None = None,
    ) -> DeliveryFate:
        """What became of one accepted delivery: ``case``, ``stored`` (no case needed),
        ``dead_letter`` (with why) or ``unseen`` (not yet). Give the ``source`` and
        ``response_id`` the delivery carries to learn of a stored response; without them only
        a dead letter can be found."""
        return await delivery_fate(
            request.app.state.pool, receipt_id, source=source, response_id=response_id
        )

    @router.post("/dead-letters/replay")
    async def replay(request: Request, body: ReplayRequest) -> dict[str, list[int]]:
        """Put dead letters back on the input topic, after their adapter or field map is fixed."""
        state = request.app.state
        ids = body.ids
        if not ids and body.source is None:
            raise ApiError(400, "nothing_selected", "give 'ids' or a 'source'")
        if not ids:
            pending = await list_dead_letters(state.pool, source=body.source, limit=10_000)
            ids = [letter.id for letter in pending]
        replayed = await replay_dead_letters(state.pool, state.producer, state.responses_topic, ids)
        return {"replayed": replayed, "missing": sorted(set(ids) - set(replayed))}

    return router
