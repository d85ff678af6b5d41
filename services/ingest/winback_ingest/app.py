"""The webhook endpoint: authenticate, bound, parse, publish, answer.

It does as little as possible on the request path; everything that can wait (normalising,
coding, deciding) happens in the router after Kafka has the delivery. Every refusal is a 4xx in
one JSON shape; a 5xx only ever means Kafka did not acknowledge (503, retry later).

That 503 says "unconfirmed", not "refused" (``Winback-Delivery: unconfirmed``): the write may
still land (see :mod:`winback_ingest.publisher`), and the retry it asks for is safe because the
router keeps one response and one case per source and response id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from winback_ingest.bodies import parse_body
from winback_ingest.metrics import ANSWER_SECONDS, DELIVERIES
from winback_ingest.openapi import GENERIC_SCHEMA_PATH, generic_schema, webhook_openapi
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
from winback_shared.errors import ApiError, install_error_handlers
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.health import health_router
from winback_shared.kafka import reliable_producer
from winback_shared.metrics import metrics_router
from winback_shared.sources import SourceConfig

log = logging.getLogger("winback.ingest")


class Receipt(BaseModel):
    """What a vendor gets back for an accepted delivery."""

    receipt_id: str


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing it as soon as it exceeds ``limit`` bytes."""
    too_large = ApiError(413, "body_too_large", f"body exceeds {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
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


def create_app(settings: IngestSettings, publisher: DeliveryPublisher | None = None) -> FastAPI:
    """Build the ingest app. Without a ``publisher`` it starts its own Kafka producer."""
    limiter = RateLimiter(rate=settings.rate_per_source, burst=settings.rate_burst)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if publisher is not None:
            app.state.publisher = publisher
            yield
            return
        producer = reliable_producer(settings.kafka_bootstrap_servers)
        await producer.start()
        app.state.publisher = DeliveryPublisher(
            producer, settings.topics.survey_responses, settings.publish_timeout_seconds
        )
        try:
            yield
        finally:
            await producer.stop()

    app = FastAPI(title="winback ingest", version="0.2.0", lifespan=lifespan)
    install_error_handlers(app)

    def source_or_404(name: str) -> SourceConfig:
        source = settings.sources.get(name)
        if source is None:
            raise ApiError(404, "unknown_source", f"no source named {name!r} is configured")
        return source

    @app.get(GENERIC_SCHEMA_PATH, summary="JSON Schema of the generic webhook format")
    async def generic_format_schema() -> JSONResponse:
        """Published so any system can validate what it posts to a generic source."""
        return JSONResponse(generic_schema())

    @app.head("/webhooks/{source}", include_in_schema=False)
    async def confirm_subscription(source: str) -> Response:
        """SurveyMonkey checks a subscription URL with HEAD before it will post to it."""
        source_or_404(source)
        return Response(status_code=200)

    @app.post(
        "/webhooks/{source}",
        status_code=202,
        response_model=Receipt,
        openapi_extra=webhook_openapi(),
        responses={
            400: {"description": "Body does not parse, is too deep, or a field is too long"},
            401: {"description": "Missing or bad signature, or stale timestamp"},
            404: {"description": "Unknown source (never answered for a configured one)"},
            413: {"description": "Body too large"},
            429: {"description": "Source is over its rate; retry after Retry-After"},
            503: {
                "description": (
                    "Kafka did not confirm the delivery in time (`Winback-Delivery: "
                    "unconfirmed`). It may still be stored: retry it unchanged after "
                    "Retry-After. A repeat of the same response (source and response id) never "
                    "opens a second case: the router keeps one response and one case per id."
                ),
                "headers": {
                    "Retry-After": {"schema": {"type": "integer"}},
                    DELIVERY_HEADER: {"schema": {"type": "string", "enum": [UNCONFIRMED]}},
                },
            },
        },
    )
    async def receive_webhook(source: str, request: Request) -> JSONResponse:
        """Accept one delivery from a configured source, in its vendor's own format."""
        started = time.perf_counter()
        # Only configured names become label values: a scan of random URLs must not grow the
        # metric without bound.
        label = source if source in settings.sources else "unknown"
        try:
            answer = await accept(source, request)
        except ApiError as refusal:
            DELIVERIES.labels(label, str(refusal.status)).inc()
            raise
        finally:
            ANSWER_SECONDS.observe(time.perf_counter() - started)
        DELIVERIES.labels(label, str(answer.status_code)).inc()
        return answer

    async def accept(source: str, request: Request) -> JSONResponse:
        config = source_or_404(source)
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
        wait = limiter.take(source)
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
        try:
            await request.app.state.publisher.publish(
                envelope, delivery.response_key or envelope.receipt_id
            )
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
        return JSONResponse({"receipt_id": envelope.receipt_id}, status_code=202)

    async def readiness() -> dict[str, bool]:
        current = getattr(app.state, "publisher", None)
        return {"kafka": current is not None and await current.is_connected()}

    app.include_router(health_router(readiness))
    app.include_router(metrics_router())
    return app
