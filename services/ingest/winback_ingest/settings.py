"""Ingest settings: where to publish, the request limits, and the configured sources."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from winback_shared.settings import CommonSettings
from winback_shared.sources import WithSources

KEEP_ALIVE_SECONDS = 120
"""How long ingest keeps an idle keep-alive connection open: longer than its clients do.

Closing an idle connection races with a client reusing it: a request already on the wire when
the server closes meets a reset (or an end of stream) instead of an answer, and an HTTP client
retries only idempotent requests on its own, never a webhook's ``POST``. The race is the
client's to avoid, by closing first, and it can only do that if the server keeps a connection
open longer than the client's pool does. uvicorn's 5 s is shorter than every common pool and
proxy (Go's 90 s, which the load generator uses; nginx's and AWS load balancers' 60 s): the
load harness counted "connection reset" at 1,000 deliveries/s, and reproduced, each reset was
on a connection idle 5.005-5.021 s (docs/performance.md, section 13). 120 s outlasts those;
behind a proxy that keeps idle connections longer (Google Cloud's load balancer: 600 s), set it
above the proxy's.
"""


class IngestSettings(CommonSettings, WithSources):
    """Sources come from ``WINBACK_SOURCES`` / ``WINBACK_SOURCES_FILE`` (see README)."""

    max_body_bytes: Annotated[int, Field(gt=0)] = 256 * 1024
    max_json_depth: Annotated[int, Field(gt=0, le=200)] = 32
    max_string_chars: Annotated[int, Field(gt=0)] = 20_000
    publish_timeout_seconds: Annotated[float, Field(gt=0)] = 5.0
    retry_after_seconds: Annotated[int, Field(gt=0)] = 30
    signature_tolerance_seconds: Annotated[int, Field(gt=0)] = 300
    rate_per_source: Annotated[float, Field(gt=0)] = Field(
        default=50.0, description="Sustained deliveries per second each source may send."
    )
    rate_burst: Annotated[int, Field(gt=0)] = Field(
        default=200, description="Deliveries a source may send at once before being slowed."
    )
    http_keep_alive_seconds: Annotated[int, Field(gt=0)] = Field(
        default=KEEP_ALIVE_SECONDS,
        description="How long an idle keep-alive connection stays open (see KEEP_ALIVE_SECONDS).",
    )
