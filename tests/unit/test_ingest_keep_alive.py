"""Ingest keeps an idle keep-alive connection open longer than its clients keep theirs.

A server closing an idle connection races with the client reusing it: a delivery already on the
wire meets a reset or an end of stream, and no HTTP client retries a ``POST`` on its own. The
load harness counted 16 such resets at 1,000 deliveries/s, each on a connection idle for just
over uvicorn's default 5 s (docs/performance.md, section 13). These tests hold ingest's server,
configured exactly as ``python -m winback_ingest`` configures it, to answering a delivery sent
on a connection that sat idle past that default; the Kafka producer is a fake, no broker needed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import uvicorn
from aiokafka import AIOKafkaProducer

from tests.support import generic_source
from winback_ingest import __main__ as ingest_main
from winback_ingest.app import create_app
from winback_ingest.publisher import DeliveryPublisher
from winback_ingest.settings import KEEP_ALIVE_SECONDS, IngestSettings
from winback_local.signing import new_secret, sample_response, signed_request
from winback_shared.serve import UVICORN_KEEP_ALIVE_SECONDS

SECRET = new_secret()
GO_IDLE_CONN_SECONDS = 90
"""How long the load generator's HTTP client (Go's ``http.Transport``) keeps an idle one."""


class AcceptingProducer:
    """Acknowledges every record at once."""

    async def send_and_wait(self, topic: str, value: bytes, *, key: bytes) -> None:
        del topic, value, key


def uvicorn_options(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What ``python -m winback_ingest`` hands to ``uvicorn.run`` (nothing is served)."""
    given: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: given.update(options))
    monkeypatch.setattr(ingest_main, "configure_logging", lambda *_args, **_kwargs: None)
    ingest_main.main()
    return given


def test_ingest_keeps_idle_connections_longer_than_common_clients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = uvicorn_options(monkeypatch)

    assert options["timeout_keep_alive"] == KEEP_ALIVE_SECONDS
    assert KEEP_ALIVE_SECONDS > GO_IDLE_CONN_SECONDS > UVICORN_KEEP_ALIVE_SECONDS


def test_the_keep_alive_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINBACK_HTTP_KEEP_ALIVE_SECONDS", "650")

    assert uvicorn_options(monkeypatch)["timeout_keep_alive"] == 650


@contextlib.asynccontextmanager
async def serving(options: dict[str, Any]) -> AsyncIterator[int]:
    """Ingest (one generic source, a producer that acknowledges) under uvicorn with ``options``."""
    settings = IngestSettings(sources={"survey": generic_source(SECRET)})
    producer = cast(AIOKafkaProducer, AcceptingProducer())
    app = create_app(settings, DeliveryPublisher(producer, "survey-responses", 1.0))
    config = uvicorn.Config(app, **{**options, "host": "127.0.0.1", "port": 0})
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.05)
        port: int = server.servers[0].sockets[0].getsockname()[1]
        yield port
    finally:
        server.should_exit = True
        await task


def delivery(port: int) -> bytes:
    """One signed detractor as the bytes of an HTTP/1.1 request on a kept-alive connection."""
    body, headers = signed_request(SECRET, sample_response(nps=2, reasons=["Long wait"]))
    head = [
        "POST /webhooks/survey HTTP/1.1",
        f"host: 127.0.0.1:{port}",
        f"content-length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def status_of_answer(reader: asyncio.StreamReader) -> int:
    """Read one answer off the connection; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    length = next(
        int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length")
    )
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def test_a_connection_idle_past_uvicorns_default_still_gets_its_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = uvicorn_options(monkeypatch)
    async with serving(options) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(delivery(port))
            assert await status_of_answer(reader) == 202
            await asyncio.sleep(UVICORN_KEEP_ALIVE_SECONDS + 0.5)

            writer.write(delivery(port))
            # Before: uvicorn had closed the connection at 5 s, so this read met the end of
            # the stream (or a reset, had the delivery crossed the close on the wire).
            assert await status_of_answer(reader) == 202
        finally:
            writer.close()
