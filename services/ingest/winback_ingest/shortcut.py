"""The webhook's shortcut past FastAPI: ``POST /webhooks/{source}`` straight to its handler.

At a burst's rate the framework's own work per request (its middleware chain, a telemetry
check, route matching over every route, the endpoint's dependency solving) was a fifth of
ingest's CPU (docs/performance.md, section 6). :class:`WebhookApp` is the FastAPI app with one
change: a ``POST`` to one webhook path goes to the webhook's handler
(:class:`~winback_ingest.webhook.WebhookIntake`) before any of that. Every other request
(``HEAD`` on the same path, the schema, health, metrics, the OpenAPI document, the lifespan)
goes through FastAPI as before, and FastAPI's route for the webhook stays declared, with the
same handler, so ``/docs`` and the route table still show it.

What it matches is what Starlette's ``/webhooks/{source}`` matches: one non-empty path
segment, the path already percent-decoded by the server; anything else (``/webhooks/``, a
trailing slash, two segments) falls through to FastAPI, which answers it as it always did.
An exception the handler does not turn into an answer gets the 500 Starlette's error
middleware would have sent, and is raised on to the server, which logs it, as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from winback_shared.urls import path_under_root

WEBHOOK_PREFIX = "/webhooks/"

Handler = Callable[[str, Request], Awaitable[Response]]
"""Answers one delivery: the source's name from the path, and the request."""


def webhook_source(scope: Scope) -> str | None:
    """The ``{source}`` of a ``POST /webhooks/{source}``, or ``None`` for any other request."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path = path_under_root(scope)
    if not path.startswith(WEBHOOK_PREFIX):
        return None
    source = path[len(WEBHOOK_PREFIX) :]
    return source if source and "/" not in source else None


class WebhookApp(FastAPI):
    """FastAPI, with the webhook's ``POST`` handed to ``webhook`` before FastAPI's own work.

    While ``webhook`` is ``None`` (until the app's builder sets it), FastAPI's documented route
    answers the webhook instead, through FastAPI's middleware and routing.
    """

    webhook: Handler | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one request (or the lifespan)."""
        source = None if self.webhook is None else webhook_source(scope)
        if source is None:
            await super().__call__(scope, receive, send)
            return
        assert self.webhook is not None
        scope["app"] = self  # what ``Request.app`` reads, as Starlette sets it
        try:
            answer = await self.webhook(source, Request(scope, receive))
        except Exception:
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
        await answer(scope, receive, send)
