"""The HTTP ceiling: a FastAPI endpoint that reads the body and answers 202, nothing else.

It runs as its own process, under the same uvicorn settings as the services
(:func:`winback_shared.serve.serve_forever`), so ingest divided by it says what ingest's own work
costs; and the generator's calibration aims at it, where the server is as cheap as it gets.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from winback_local.kafka import free_port
from winback_local.processes import spawn, stop
from winback_shared.serve import address_variables, serve_forever

SERVICE = "bare"


def create_app() -> FastAPI:
    """The endpoint: the same path shape and answer as ingest's, none of its work."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/{source}")
    async def receive(source: str, request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"receipt_id": uuid4().hex}, status_code=202)

    return app


@contextlib.contextmanager
def running(log_dir: Path, timeout: float = 30) -> Iterator[tuple[str, int]]:
    """Start the endpoint on a free loopback port; yield its base URL and pid; stop it."""
    port = free_port()
    _, port_variable = address_variables(SERVICE)
    process = spawn(
        [sys.executable, "-m", "winback_local.bench.bare_endpoint"],
        log_path=log_dir / "bare-endpoint.log",
        env={**os.environ, port_variable: str(port)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the bare endpoint exited; see {log_dir}/bare-endpoint.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1, trust_env=False).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bare endpoint was not up after {timeout:.0f} s")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        stop(process)


if __name__ == "__main__":
    serve_forever(create_app(), service=SERVICE, default_port=8009)
