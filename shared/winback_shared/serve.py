"""Running a service's app under uvicorn, the same way for all three."""

from __future__ import annotations

import os
import sys

import uvicorn
from fastapi import FastAPI

DEFAULT_HOST = "127.0.0.1"
UVICORN_KEEP_ALIVE_SECONDS = 5
"""uvicorn's own default for closing an idle keep-alive connection."""


def address_variables(service: str) -> tuple[str, str]:
    """The environment variables naming a service's host and port."""
    prefix = f"WINBACK_{service.upper()}"
    return f"{prefix}_HOST", f"{prefix}_PORT"


def serve_forever(
    app: FastAPI,
    *,
    service: str,
    default_port: int,
    websocket_compression: bool = True,
    keep_alive_seconds: int = UVICORN_KEEP_ALIVE_SECONDS,
) -> None:
    """Serve ``app`` until SIGTERM/SIGINT; uvicorn then runs the lifespan's shutdown.

    ``WINBACK_<SERVICE>_HOST`` / ``_PORT`` choose the address (loopback by default, so a dev
    machine exposes nothing; the container image sets 0.0.0.0). Exits non-zero if one of the
    app's background loops died (``app.state.loops``, :mod:`winback_shared.loops`): that, not a
    SIGTERM from outside, is what stopped it.

    ``websocket_compression=False`` refuses permessage-deflate: a service that sends each frame
    to many websockets (the notifier's consoles) would otherwise compress it again for every
    one of them, and keep a compressor's memory per connection.

    ``keep_alive_seconds`` is how long an idle keep-alive connection stays open (uvicorn's 5 s
    unless a service says otherwise; ingest keeps them longer than its clients do, see
    :mod:`winback_ingest.settings`).
    """
    host_variable, port_variable = address_variables(service)
    uvicorn.run(
        app,
        host=os.environ.get(host_variable, DEFAULT_HOST),
        port=int(os.environ.get(port_variable, str(default_port))),
        log_config=None,
        access_log=False,
        ws_per_message_deflate=websocket_compression,
        timeout_keep_alive=keep_alive_seconds,
    )
    loops = getattr(app.state, "loops", None)
    if loops is not None and loops.error is not None:
        sys.exit(f"{service} stopped: {loops.error}")
