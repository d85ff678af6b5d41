"""Local receivers for outbound deliveries, speaking each vendor's documented shapes.

- :class:`WebhookReceiver`: a Standard Webhooks consumer that verifies every request with the
  official ``standardwebhooks`` package (not our code) and remembers the ids it took.
- :class:`SlackWebhook`: a Slack incoming webhook: ``200 ok`` for a message with ``text`` or
  ``blocks``; ``400 invalid_payload`` for a body that is not JSON, ``400 no_text`` for a message
  with neither; scripted failures answer as Slack does (``404 no_service``,
  ``410 channel_is_archived``, ``429`` with ``Retry-After``, ``500``).
- :class:`PagerDutyEvents`: PagerDuty's Events API v2: ``202`` with ``status``, ``message`` and
  ``dedup_key`` for a valid event (a routing key, ``trigger`` with a payload of summary, source
  and severity, or ``resolve`` / ``acknowledge`` with a dedup key), ``400 invalid event`` with
  ``errors`` otherwise; scripted ``429`` and ``5xx``. It keeps the alerts open by dedup key.
- :class:`TeamsWorkflow`: a Teams "When a Teams webhook request is received" trigger:
  ``202 Accepted`` for a message with an Adaptive Card attachment, ``400`` with an error object
  otherwise; scripted ``429`` with ``Retry-After`` and ``5xx``.

Each can be told to fail its next requests (``fail_next``) or to hang (``hang``: never answer,
as a dead host behind a load balancer does), and counts every request it saw.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from standardwebhooks import Webhook, WebhookVerificationError

from tests.support import serve

SLACK_ERRORS = {
    400: "invalid_payload",
    403: "action_prohibited",
    404: "no_service",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "internal_error",
}


@dataclass
class Seen:
    """A request as it arrived."""

    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """What every fake shares: scripted failures, a hang switch and what it saw."""

    seen: list[Seen] = field(default_factory=list)
    accepted: list[Seen] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    retry_after: str = "1"
    released: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    def __post_init__(self) -> None:
        self.released.set()

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these statuses, in order."""
        self.failures.extend(statuses)

    def hang(self, hanging: bool = True) -> None:
        """Never answer (until switched off): the sender's timeout ends each attempt."""
        if hanging:
            self.released.clear()
        else:
            self.released.set()

    def answer(self, seen: Seen) -> Response:
        """The vendor's answer to an accepted message."""
        raise NotImplementedError

    def failure(self, status: int) -> Response:
        """The vendor's answer for a scripted failure."""
        raise NotImplementedError

    def app(self) -> FastAPI:
        """The receiver as an ASGI app: every path takes POSTs."""
        app = FastAPI()

        @app.post("/{path:path}")
        async def receive(request: Request) -> Response:
            seen = Seen({k.lower(): v for k, v in request.headers.items()}, await request.body())
            self.seen.append(seen)
            await self.released.wait()
            if self.failures:
                response = self.failure(self.failures.pop(0))
                if response.status_code == 429:
                    response.headers["Retry-After"] = self.retry_after
                return response
            return self.answer(seen)

        return app


@dataclass
class WebhookReceiver(Receiver):
    """A Standard Webhooks endpoint with these secrets (any may verify: rotation)."""

    secrets: list[str] = field(default_factory=list)

    def answer(self, seen: Seen) -> Response:
        """204 once one secret verifies the request; 401 otherwise."""
        for secret in self.secrets:
            try:
                Webhook(secret).verify(seen.body, seen.headers)
            except WebhookVerificationError:
                continue
            self.accepted.append(seen)
            return Response(status_code=204)
        return JSONResponse({"error": "bad signature"}, status_code=401)

    def failure(self, status: int) -> Response:
        """A plain error."""
        return JSONResponse({"error": f"failing with {status}"}, status_code=status)

    def ids(self) -> list[str]:
        """The ``webhook-id`` of every request seen, in order."""
        return [seen.headers["webhook-id"] for seen in self.seen]


@dataclass
class SlackWebhook(Receiver):
    """A Slack incoming webhook."""

    def answer(self, seen: Seen) -> Response:
        """``ok``, or Slack's 400s for a malformed message."""
        try:
            message = seen.json()
        except ValueError:
            return PlainTextResponse("invalid_payload", status_code=400)
        if not isinstance(message, dict) or not (message.get("text") or message.get("blocks")):
            return PlainTextResponse("no_text", status_code=400)
        self.accepted.append(seen)
        return PlainTextResponse("ok")

    def failure(self, status: int) -> Response:
        """Slack's error strings."""
        return PlainTextResponse(SLACK_ERRORS.get(status, "error"), status_code=status)


@dataclass
class TeamsWorkflow(Receiver):
    """A Teams workflow webhook trigger."""

    def answer(self, seen: Seen) -> Response:
        """202 for a message with an Adaptive Card; 400 otherwise."""
        try:
            message = seen.json()
            cards = [
                a
                for a in message["attachments"]
                if a["contentType"] == "application/vnd.microsoft.card.adaptive"
                and a["content"]["type"] == "AdaptiveCard"
            ]
        except (ValueError, KeyError, TypeError):
            cards = []
        if not cards:
            return self.failure(400)
        self.accepted.append(seen)
        return Response(status_code=202)

    def failure(self, status: int) -> Response:
        """The workflow service's error object."""
        body = {
            "error": {
                "code": "TriggerRequestFailed" if status < 500 else "ServiceError",
                "message": f"The request failed with status {status}.",
            }
        }
        return JSONResponse(body, status_code=status)


AnyReceiver = TypeVar("AnyReceiver", bound=Receiver)


@dataclass
class PagerDutyEvents(Receiver):
    """PagerDuty's Events API v2 for one routing key; ``open`` holds the open alerts."""

    routing_key: str = "R0123456789abcdef0123456789abcdef"
    open: dict[str, str] = field(default_factory=dict)
    """Open alerts: dedup key → summary."""

    def answer(self, seen: Seen) -> Response:
        """202 for a valid event (and the alert opened or closed); 400 otherwise."""
        errors = self.errors(seen)
        if errors:
            body = {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors,
            }
            return JSONResponse(body, status_code=400)
        event = seen.json()
        key = event["dedup_key"]
        if event["event_action"] == "trigger":
            self.open.setdefault(key, event["payload"]["summary"])
        elif event["event_action"] == "resolve":
            self.open.pop(key, None)
        self.accepted.append(seen)
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": key},
            status_code=202,
        )

    def errors(self, seen: Seen) -> list[str]:
        """What PagerDuty would refuse in the event."""
        try:
            event = seen.json()
        except ValueError:
            return ["Event must be JSON"]
        found = []
        if event.get("routing_key") != self.routing_key:
            found.append("Invalid routing key")
        action = event.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            found.append("'event_action' is invalid")
        if action == "trigger":
            payload = event.get("payload") or {}
            for name in ("summary", "source", "severity"):
                if not payload.get(name):
                    found.append(f"'payload.{name}' is missing or blank")
            if payload.get("severity") not in ("critical", "error", "warning", "info"):
                found.append("'payload.severity' is invalid")
        elif not event.get("dedup_key"):
            found.append("'dedup_key' is missing or blank")
        return found

    def failure(self, status: int) -> Response:
        """PagerDuty's error object."""
        return JSONResponse(
            {
                "status": "throttle event" if status == 429 else "error",
                "message": f"failing with {status}",
            },
            status_code=status,
        )


@asynccontextmanager
async def running(receiver: AnyReceiver) -> AsyncIterator[AnyReceiver]:
    """Serve ``receiver`` on a free loopback port; its ``url`` is set meanwhile."""
    async with serve(receiver.app()) as url:
        receiver.url = f"{url}/hook"
        try:
            yield receiver
        finally:
            receiver.hang(False)
