"""The webhook endpoint: authenticate, bound, parse, publish, answer.

It does as little as possible on the request path; everything that can wait (normalising,
coding, deciding) happens in the router after Kafka has the delivery.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from winback_ingest.publisher import BrokerUnavailable, DeliveryPublisher
from winback_ingest.settings import IngestSettings, SourceConfig
from winback_ingest.signatures import SignatureError, verify
from winback_shared.errors import ApiError, install_error_handlers
from winback_shared.events.survey_received import SurveyReceived
from winback_shared.health import health_router
from winback_shared.kafka import reliable_producer
from winback_shared.survey import GenericSurveyResponse

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


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying why not."""
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"body is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_json", "body must be a JSON object")
    return parsed


def create_app(settings: IngestSettings, publisher: DeliveryPublisher | None = None) -> FastAPI:
    """Build the ingest app. Without a ``publisher`` it starts its own Kafka producer."""

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

    app = FastAPI(title="winback ingest", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)

    def source_or_404(name: str) -> SourceConfig:
        source = settings.sources.get(name)
        if source is None:
            raise ApiError(404, "unknown_source", f"no source named {name!r} is configured")
        return source

    @app.post(
        "/webhooks/{source}",
        status_code=202,
        response_model=Receipt,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": GenericSurveyResponse.model_json_schema()}
                },
            }
        },
        responses={
            400: {"description": "Body is not a JSON object"},
            401: {"description": "Missing or bad signature, or stale timestamp"},
            404: {"description": "Unknown source"},
            413: {"description": "Body too large"},
            503: {"description": "Kafka did not acknowledge in time; retry after Retry-After"},
        },
    )
    async def receive_webhook(
        source: str,
        request: Request,
        webhook_id: Annotated[str | None, Header()] = None,
        webhook_timestamp: Annotated[str | None, Header()] = None,
        webhook_signature: Annotated[str | None, Header()] = None,
    ) -> JSONResponse:
        """Accept one survey response from a configured source (generic format)."""
        config = source_or_404(source)
        body = await read_bounded_body(request, settings.max_body_bytes)
        try:
            verify(
                keys=config.keys,
                msg_id=webhook_id,
                timestamp=webhook_timestamp,
                signature_header=webhook_signature,
                body=body,
                now=time.time(),
                tolerance_seconds=settings.signature_tolerance_seconds,
            )
        except SignatureError as exc:
            raise ApiError(401, "bad_signature", str(exc)) from None
        payload = parse_json_object(body)
        response_key = payload.get("response_id")
        envelope = SurveyReceived(
            source=source,
            vendor=config.vendor.value,
            content_type="application/json",
            delivery_id=webhook_id,
            body=body.decode(),
        )
        try:
            await request.app.state.publisher.publish(
                envelope, response_key if isinstance(response_key, str) else envelope.receipt_id
            )
        except BrokerUnavailable as exc:
            log.warning(
                "delivery not accepted: broker unavailable",
                extra={"fields": {"source": source, "outcome": "503", "cause": str(exc)}},
            )
            raise ApiError(
                503,
                "broker_unavailable",
                "the event log did not acknowledge in time; retry later",
                headers={"Retry-After": str(settings.retry_after_seconds)},
            ) from None
        log.info(
            "delivery accepted",
            extra={
                "fields": {"receipt_id": envelope.receipt_id, "source": source, "outcome": "202"}
            },
        )
        return JSONResponse({"receipt_id": envelope.receipt_id}, status_code=202)

    async def readiness() -> dict[str, bool]:
        current = getattr(app.state, "publisher", None)
        return {"kafka": current is not None and await current.is_connected()}

    app.include_router(health_router(readiness))
    return app
