"""The ingest app: the webhook, its HEAD check, the published schema, health and metrics.

The webhook's work is :class:`~winback_ingest.webhook.WebhookIntake`; a ``POST`` to it reaches
that handler through :class:`~winback_ingest.shortcut.WebhookApp`, past FastAPI's per-request
work, and FastAPI's route for it (the same handler) documents it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from winback_ingest.openapi import GENERIC_SCHEMA_PATH, generic_schema, webhook_openapi
from winback_ingest.partitioner import KeyPartitioner
from winback_ingest.publisher import (
    DELIVERY_HEADER,
    PRODUCE_BATCH_BYTES,
    UNCONFIRMED,
    DeliveryPublisher,
)
from winback_ingest.settings import IngestSettings
from winback_ingest.shortcut import WebhookApp
from winback_ingest.webhook import WebhookIntake
from winback_shared.errors import install_error_handlers
from winback_shared.health import health_router
from winback_shared.kafka import reliable_producer
from winback_shared.metrics import metrics_router


class Receipt(BaseModel):
    """What a vendor gets back for an accepted delivery."""

    receipt_id: str


def create_app(settings: IngestSettings, publisher: DeliveryPublisher | None = None) -> WebhookApp:
    """Build the ingest app. Without a ``publisher`` it starts its own Kafka producer."""
    intake = WebhookIntake(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if publisher is not None:
            app.state.publisher = publisher
            yield
            return
        producer = reliable_producer(
            settings.kafka_bootstrap_servers,
            max_batch_bytes=PRODUCE_BATCH_BYTES,
            partitioner=KeyPartitioner(),
        )
        await producer.start()
        app.state.publisher = DeliveryPublisher(
            producer, settings.topics.survey_responses, settings.publish_timeout_seconds
        )
        try:
            yield
        finally:
            await producer.stop()

    app = WebhookApp(title="winback ingest", version="0.2.0", lifespan=lifespan)
    install_error_handlers(app)
    app.webhook = intake.answer

    @app.get(GENERIC_SCHEMA_PATH, summary="JSON Schema of the generic webhook format")
    async def generic_format_schema() -> JSONResponse:
        """Published so any system can validate what it posts to a generic source."""
        return JSONResponse(generic_schema())

    @app.head("/webhooks/{source}", include_in_schema=False)
    async def confirm_subscription(source: str) -> Response:
        """SurveyMonkey checks a subscription URL with HEAD before it will post to it."""
        intake.source(source)
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
    async def receive_webhook(source: str, request: Request) -> Response:
        """Accept one delivery from a configured source, in its vendor's own format.

        Served by :class:`~winback_ingest.shortcut.WebhookApp`, which calls the same handler
        before FastAPI's own work; this route documents it (and answers should the shortcut be
        switched off: ``app.webhook = None``).
        """
        return await intake.answer(source, request)

    async def readiness() -> dict[str, bool]:
        current = getattr(app.state, "publisher", None)
        return {"kafka": current is not None and await current.is_connected()}

    app.include_router(health_router(readiness))
    app.include_router(metrics_router())
    return app
