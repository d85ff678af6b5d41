"""Bare endpoints: the first two read the ~1 KB body and answer 202, nothing else.

* ``fastapi``: FastAPI under the services' own uvicorn settings
  (:func:`winback_shared.serve.serve_forever`), the HTTP ceiling: ingest divided by it says what
  ingest's own work costs on the framework it is built on.
* ``asgi``: a plain ASGI callable under uvicorn, the cheapest server there is, for the
  generator's calibration: what it cannot reach there is the generator's limit (or the machine's).
* ``consoles``: the consoles' calibration (:mod:`winback_local.bench.bare_consoles`), a bare
  fan-out of one frame per webhook to every connected console, its snapshot of
  ``snapshot_bytes`` (``WINBACK_BARE_SNAPSHOT_BYTES``).

Each runs as its own process, as the services do.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, Literal
from uuid import uuid4

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from winback_local.kafka import free_port
from winback_local.processes import spawn, stop
from winback_shared.serve import DEFAULT_HOST, address_variables, serve_forever

Kind = Literal["fastapi", "asgi", "consoles"]
SERVICE = "bare"
Message = MutableMapping[str, Any]
SNAPSHOT_VARIABLE = "WINBACK_BARE_SNAPSHOT_BYTES"


def create_app() -> FastAPI:
    """The FastAPI endpoint: the same path shape and answer as ingest's, none of its work."""
    app = FastAPI()

    @app.post("/webhooks/{source}")
    async def receive(source: str, request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"receipt_id": uuid4().hex}, status_code=202)

    return app


async def plain_asgi(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """The plain endpoint: any request, body read to the end, 202 with a small JSON answer."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    body = b'{"receipt_id": "%s"}' % uuid4().hex.encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def running(
    log_dir: Path, kind: Kind, timeout: float = 60, snapshot_bytes: int = 0
) -> Iterator[str]:
    """Start an endpoint on a free loopback port; yield its base URL; stop it.
    ``snapshot_bytes``: the size of the ``consoles`` kind's snapshot."""
    port = free_port()
    _, port_variable = address_variables(SERVICE)
    process = spawn(
        [sys.executable, "-m", "winback_local.bench.bare_endpoint", kind],
        log_path=log_dir / f"bare-{kind}.log",
        env={**os.environ, port_variable: str(port), SNAPSHOT_VARIABLE: str(snapshot_bytes)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the bare endpoint exited; see {log_dir}/bare-{kind}.log")
            with contextlib.suppress(httpx.HTTPError):
                httpx.post(f"{url}/webhooks/ready", timeout=1, trust_env=False)
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bare endpoint was not up after {timeout:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        stop(process)


def main(kind: str) -> None:
    """Serve one endpoint until SIGTERM, on ``WINBACK_BARE_PORT``."""
    if kind == "fastapi":
        serve_forever(create_app(), service=SERVICE, default_port=8009)
        return
    if kind == "consoles":
        from winback_local.bench.bare_consoles import create_app as fan_out

        app = fan_out(int(os.environ.get(SNAPSHOT_VARIABLE) or 0))
        serve_forever(app, service=SERVICE, default_port=8009, websocket_compression=False)
        return
    _, port_variable = address_variables(SERVICE)
    port = int(os.environ.get(port_variable, "8009"))
    uvicorn.run(plain_asgi, host=DEFAULT_HOST, port=port, log_config=None, access_log=False)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fastapi")
