"""Running a service's app under uvicorn, the same way for all three."""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

DEFAULT_HOST = "127.0.0.1"


def address_variables(service: str) -> tuple[str, str]:
    """The environment variables naming a service's host and port."""
    prefix = f"WINBACK_{service.upper()}"
    return f"{prefix}_HOST", f"{prefix}_PORT"


def serve_forever(app: FastAPI, *, service: str, default_port: int) -> None:
    """Serve ``app`` until SIGTERM/SIGINT; uvicorn then runs the lifespan's shutdown.

    ``WINBACK_<SERVICE>_HOST`` / ``_PORT`` choose the address (loopback by default, so a dev
    machine exposes nothing; the container image sets 0.0.0.0).
    """
    host_variable, port_variable = address_variables(service)
    uvicorn.run(
        app,
        host=os.environ.get(host_variable, DEFAULT_HOST),
        port=int(os.environ.get(port_variable, str(default_port))),
        log_config=None,
        access_log=False,
    )
