"""Prometheus metrics: one ``/metrics`` endpoint per service, and the latency buckets we share.

Each service defines its own metrics (prefixed ``winback_<service>_``) next to the code that
updates them; this module only serves them. Latency is measured per stage from the moment
ingest received the delivery (the envelope's ``occurred_at``), so one histogram family answers
"how old is a response when it is stored, alerted, pushed to a console".
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds; the promise is a pop-up within a second, so the buckets are dense below it."""


def metrics_router() -> APIRouter:
    """``GET /metrics`` in the Prometheus text format."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
