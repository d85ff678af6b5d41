"""The webhook's shortcut past FastAPI: ``POST /webhooks/{source}`` straight to its handler.

At a burst's rate the framework's own work per request (its middleware chain, route matching
over every route, the endpoint's dependency solving) is a large share of ingest's CPU
(docs/performance.md, section 6). This ASGI middleware sits first inside Starlette's error
middleware and hands a ``POST`` to one webhook path to the webhook's handler
(:class:`~winback_ingest.webhook.WebhookIntake`) directly. Every other request (``HEAD`` on
the same path, the schema, health, metrics, the OpenAPI document) goes through FastAPI as
before, and FastAPI's route for the webhook stays declared, with the same handler, so
``/docs`` and the route table still show it.

What it matches is what Starlette's ``/webhooks/{source}`` matches: one non-empty path
segment, the path already percent-decoded by the server; anything else (``/webhooks/``, a
trailing slash, two segments) falls through to FastAPI, which answers it as it always did.
An exception the handler does not turn into an answer reaches Starlette's error middleware,
the same 500 as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

WEBHOOK_PREFIX = "/webhooks/"

Handler = Callable[[str, Request], Awaitable[Response]]
"""Answers one delivery: the source's name from the path, and the request."""


def webhook_source(scope: Scope) -> str | None:
    """The ``{source}`` of a ``POST /webhooks/{source}``, or ``None`` for any other request."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path + "/"):
        path = path[len(root_path) :]
    if not path.startswith(WEBHOOK_PREFIX):
        return None
    source = path[len(WEBHOOK_PREFIX) :]
    return source if source and "/" not in source else None


class WebhookShortcut:
    """ASGI middleware: the webhook's ``POST`` to ``handler``, everything else to ``app``."""

    def __init__(self, app: ASGIApp, handler: Handler) -> None:
        self.app = app
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one request."""
        source = webhook_source(scope)
        if source is None:
            await self.app(scope, receive, send)
            return
        answer = await self.handler(source, Request(scope, receive))
        await answer(scope, receive, send)
