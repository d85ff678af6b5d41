"""One delivery's way through ingest: authenticate, bound, parse, publish, answer.

It does as little as possible on the request path; everything that can wait (normalising,
coding, deciding) happens in the router after Kafka has the delivery. Every refusal is a 4xx in
one JSON shape; a 5xx only ever means Kafka did not acknowledge (503, retry later).

That 503 says "unconfirmed", not "refused" (``Winback-Delivery: unconfirmed``): the write may
still land (see :mod:`winback_ingest.publisher`), and the retry it asks for is safe because the
router keeps one response and one case per source and response id.

It knows Starlette's ``Request`` and ``Response`` and nothing of FastAPI's routing, so the
same handler answers through FastAPI's route (which documents it) and through the shortcut
that reaches it without the framework's per-request work (:mod:`winback_ingest.shortcut`).
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from winback_ingest.bodies import parse_body
from winback_ingest.metrics import ANSWER_SECONDS, DELIVERIES
from winback_ingest.publisher import (
    DELIVERY_HEADER,
    UNCONFIRMED,
    UNCONFIRMED_MESSAGE,
    BrokerUnavailable,
    DeliveryPublisher,
)
from winback_ingest.rate_limit import RateLimiter
from winback_ingest.settings import IngestSettings
from winback_ingest.vendors import INTAKES, SignatureError, Signed
from winback_shared.errors import ApiError, error_response
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.sources import SourceConfig

log = logging.getLogger("winback.ingest")


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing it as soon as it exceeds ``limit`` bytes.

    It reads the ASGI messages itself rather than through ``Request.stream()``: that is an
    async generator, and the event loop registers every one for finalisation (a ``WeakSet``
    insertion that cost 3 % of ingest's CPU; docs/performance.md, section 6). A disconnect
    ends it as it ends ``stream()``, with ``ClientDisconnect``.
    """
    too_large = ApiError(413, "body_too_large", f"body exceeds {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message["type"] != "http.request":
            continue
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _log_outcome(source: str, outcome: str, level: int = logging.INFO, **fields: object) -> None:
    """One line per delivery: receipt id, source and outcome, never the customer's data.

    A refusal is logged at INFO; an accepted delivery at DEBUG, because at a burst's rate its
    line cost about a tenth of the request's CPU (docs/performance.md) and says nothing the
    record in Kafka, the stored response (both carry the receipt id) and the
    ``winback_ingest_deliveries_total`` metric do not.
    """
    if log.isEnabledFor(level):
        log.log(
            level,
            "delivery %s",
            outcome,
            extra={"fields": {"source": source, "outcome": outcome, **fields}},
        )


def receipt(receipt_id: str) -> Response:
    """The 202: ``{"receipt_id": ...}``, the bytes ``JSONResponse`` renders, without its
    ``json.dumps`` (a receipt id is a UUID: nothing in it needs escaping)."""
    return Response(
        b'{"receipt_id":"' + receipt_id.encode() + b'"}',
        status_code=202,
        media_type="application/json",
    )


class WebhookIntake:
    """Answers ``POST /webhooks/{source}``; holds the per-source rate limiter."""

    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._limiter = RateLimiter(rate=settings.rate_per_source, burst=settings.rate_burst)
        self._counted: dict[tuple[str, int], Counter] = {}

    def source(self, name: str) -> SourceConfig:
        """The configured source, or a 404 that never names a configured one."""
        source = self._settings.sources.get(name)
        if source is None:
            raise ApiError(404, "unknown_source", f"no source named {name!r} is configured")
        return source

    async def answer(self, source: str, request: Request) -> Response:
        """Accept one delivery from a configured source, or refuse it in the one error shape."""
        started = time.perf_counter()
        # Only configured names become label values: a scan of random URLs must not grow the
        # metric without bound.
        label = source if source in self._settings.sources else "unknown"
        try:
            answer = await self._accept(source, request)
        except ApiError as refusal:
            answer = error_response(refusal.status, refusal.code, refusal.message, refusal.headers)
        finally:
            ANSWER_SECONDS.observe(time.perf_counter() - started)
        self._count(label, answer.status_code)
        return answer

    def _count(self, label: str, status: int) -> None:
        """``winback_ingest_deliveries_total`` + 1, its labelled child looked up once.

        Labels are configured sources and ``unknown`` times a handful of statuses, so the
        children kept here are few; ``labels()`` cost more than the increment itself.
        """
        child = self._counted.get((label, status))
        if child is None:
            child = self._counted[label, status] = DELIVERIES.labels(label, str(status))
        child.inc()

    async def _accept(self, source: str, request: Request) -> Response:
        settings = self._settings
        config = self.source(source)
        intake = INTAKES[config.vendor]
        body = await read_bounded_body(request, settings.max_body_bytes)
        signed = Signed(
            headers=request.headers,
            body=body,
            now=time.time(),
            tolerance_seconds=settings.signature_tolerance_seconds,
        )
        try:
            intake.authenticate(config, signed)
        except SignatureError as exc:
            _log_outcome(source, "401")
            raise ApiError(401, "bad_signature", str(exc)) from None
        wait = self._limiter.take(source)
        if wait:
            _log_outcome(source, "429")
            raise ApiError(
                429,
                "rate_limited",
                f"source {source!r} is over {settings.rate_per_source:g} deliveries per second",
                headers={"Retry-After": RateLimiter.retry_after(wait)},
            )
        content_type = intake.content_type_for(signed)
        payload = parse_body(
            body,
            content_type,
            max_depth=settings.max_json_depth,
            max_string_chars=settings.max_string_chars,
        )
        delivery = intake.inspect(config, payload, signed)
        envelope = SurveyReceived(
            source=source,
            vendor=config.vendor.value,
            content_type=content_type,
            delivery_id=delivery.delivery_id,
            body=body.decode(),
        )
        publisher: DeliveryPublisher = request.app.state.publisher
        try:
            await publisher.publish(envelope, delivery.response_key or envelope.receipt_id)
        except BrokerUnavailable as exc:
            _log_outcome(source, "503", cause=str(exc))
            raise ApiError(
                503,
                "broker_unavailable",
                UNCONFIRMED_MESSAGE,
                headers={
                    "Retry-After": str(settings.retry_after_seconds),
                    DELIVERY_HEADER: UNCONFIRMED,
                },
            ) from None
        _log_outcome(source, "202", logging.DEBUG, receipt_id=envelope.receipt_id)
        return receipt(envelope.receipt_id)
