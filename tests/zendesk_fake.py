"""A local Zendesk Support API speaking the documented shapes the helpdesk sync uses.

- ``POST /api/v2/tickets.json``: ``201 {"ticket": {...}}``. With an ``Idempotency-Key`` it
  remembers the answer: the same key and body again answers the same ticket with
  ``x-idempotency-lookup: hit`` (``miss`` the first time); the same key with another body is
  ``400 IdempotentRequestError``. A ticket without a comment, or a requester whose e-mail is not
  an address, is ``422 RecordInvalid`` with ``details``.
- ``PUT /api/v2/tickets/{id}.json``: ``200`` with the ticket after the change (status,
  ``assignee_email``, a comment appended); ``404 RecordNotFound`` for an unknown ticket;
  ``422`` for a closed one ("closed prevents ticket update").
- ``GET /api/v2/tickets.json?external_id=...``: ``{"tickets": [...], "count"}``.
- Every request needs Basic ``{email}/token:{token}``: ``401 {"error": "Couldn't authenticate
  you"}`` otherwise.

``fail_next(429, 503, ...)`` answers the next requests so (429 with ``Retry-After``), and
``lose_next_answers(n)`` carries out the next ``n`` requests but answers ``502``, as a proxy
that lost Zendesk's answer would: the client cannot tell whether the ticket was made.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.support import serve


@dataclass
class Call:
    """A request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


@dataclass
class ZendeskApi:
    """One Zendesk account for one API user."""

    email: str = "winback@acme.test"
    token: str = "zd-token-0123456789"
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    lost: int = 0
    retry_after: str = "1"
    url: str = ""
    _keys: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    _next_id: int = 4800

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order, changing nothing."""
        self.failures.extend(statuses)

    def lose_next_answers(self, count: int) -> None:
        """Carry out the next ``count`` requests, then answer 502 instead."""
        self.lost += count

    def requests(self, method: str | None = None) -> list[Call]:
        """The requests seen (of one method)."""
        return [c for c in self.calls if method is None or c.method == method]

    def _ticket_out(self, ticket_id: int) -> dict[str, Any]:
        return {**self.tickets[ticket_id], "url": f"{self.url}/api/v2/tickets/{ticket_id}.json"}

    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.email}/token:{self.token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def _create(self, body: dict[str, Any], key: str | None, raw: bytes) -> Response:
        if key and key in self._keys:
            seen_body, ticket_id = self._keys[key]
            if seen_body != raw:
                return JSONResponse(
                    {
                        "error": "IdempotentRequestError",
                        "description": "The request body differs from the original request",
                    },
                    status_code=400,
                )
            return JSONResponse(
                {"ticket": self._ticket_out(ticket_id)},
                status_code=201,
                headers={"x-idempotency-lookup": "hit"},
            )
        ticket = body.get("ticket") or {}
        details: dict[str, list[dict[str, str]]] = {}
        if not (ticket.get("comment") or {}).get("body"):
            details["base"] = [
                {"description": "Description: cannot be blank", "error": "BlankValue"}
            ]
        requester = ticket.get("requester")
        if requester and "@" not in str(requester.get("email", "@")):
            details["requester"] = [
                {
                    "description": "Requester: Email is not properly formatted",
                    "error": "InvalidValue",
                }
            ]
        if details:
            return JSONResponse(
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": details,
                },
                status_code=422,
            )
        self._next_id += 1
        ticket_id = self._next_id
        self.tickets[ticket_id] = {
            "id": ticket_id,
            "external_id": ticket.get("external_id"),
            "subject": ticket.get("subject"),
            "status": ticket.get("status") or "new",
            "priority": ticket.get("priority"),
            "tags": ticket.get("tags") or [],
            "requester": requester,
            "assignee_email": ticket.get("assignee_email"),
            "group_id": ticket.get("group_id"),
            "brand_id": ticket.get("brand_id"),
        }
        self.comments[ticket_id] = [ticket["comment"]]
        if key:
            self._keys[key] = (raw, ticket_id)
        return JSONResponse(
            {"ticket": self._ticket_out(ticket_id)},
            status_code=201,
            headers={"x-idempotency-lookup": "miss"} if key else {},
        )

    def _update(self, ticket_id: int, body: dict[str, Any]) -> Response:
        if ticket_id not in self.tickets:
            return JSONResponse(
                {"error": "RecordNotFound", "description": "Not found"}, status_code=404
            )
        ticket = self.tickets[ticket_id]
        if ticket["status"] == "closed":
            return JSONResponse(
                {
                    "error": "RecordInvalid",
                    "description": "Record validation errors",
                    "details": {
                        "status": [{"description": "Status: closed prevents ticket update"}]
                    },
                },
                status_code=422,
            )
        change = body.get("ticket") or {}
        for name in ("status", "assignee_email"):
            if name in change:
                ticket[name] = change[name]
        if change.get("comment"):
            self.comments[ticket_id].append(change["comment"])
        return JSONResponse({"ticket": self._ticket_out(ticket_id), "audit": {"events": []}})

    def app(self) -> FastAPI:
        """The API as an ASGI app."""
        app = FastAPI()

        async def seen(request: Request) -> tuple[bytes, Response | None]:
            raw = await request.body()
            headers = {k.lower(): v for k, v in request.headers.items()}
            self.calls.append(Call(request.method, request.url.path, headers, raw))
            if self.failures:
                status = self.failures.pop(0)
                failed = JSONResponse(
                    {"error": "TooManyRequests" if status == 429 else "ServiceUnavailable"},
                    status_code=status,
                )
                if status == 429:
                    failed.headers["Retry-After"] = self.retry_after
                return raw, failed
            if not self._authorised(request):
                return raw, JSONResponse({"error": "Couldn't authenticate you"}, status_code=401)
            return raw, None

        def answered(response: Response) -> Response:
            if self.lost:
                self.lost -= 1
                return JSONResponse({"error": "Bad Gateway"}, status_code=502)
            return response

        @app.post("/api/v2/tickets.json")
        async def create(request: Request) -> Response:
            raw, refused = await seen(request)
            if refused is not None:
                return refused
            key = request.headers.get("idempotency-key")
            return answered(self._create(json.loads(raw), key, raw))

        @app.put("/api/v2/tickets/{ticket_id}.json")
        async def update(ticket_id: int, request: Request) -> Response:
            raw, refused = await seen(request)
            if refused is not None:
                return refused
            return answered(self._update(ticket_id, json.loads(raw)))

        @app.get("/api/v2/tickets.json")
        async def listing(request: Request) -> Response:
            _, refused = await seen(request)
            if refused is not None:
                return refused
            wanted = request.query_params.get("external_id")
            found = [
                self._ticket_out(i) for i, t in self.tickets.items() if t["external_id"] == wanted
            ]
            return JSONResponse({"tickets": found, "count": len(found)})

        return app


@asynccontextmanager
async def running_zendesk(api: ZendeskApi | None = None) -> AsyncIterator[ZendeskApi]:
    """Serve a Zendesk account on a free loopback port; its ``url`` is set meanwhile."""
    account = api or ZendeskApi()
    async with serve(account.app()) as url:
        account.url = url
        yield account
