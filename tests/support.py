"""Test helpers: serving apps in-process on real sockets, and a pipeline handle."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import httpx
import uvicorn
from starlette.types import ASGIApp

from tests.log_guard import remember_response
from tests.schema_drops import drop_schema
from winback_local.signing import sample_response, signed_request
from winback_shared.sources import SourceConfig
from winback_shared.urls import with_query

PERF_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts" / "perf"


def perf_script(name: str) -> ModuleType:
    """``scripts/perf/<name>.py`` loaded as a module, freshly each call (the scripts are not a
    package, so a test of one reaches its functions this way)."""
    spec = importlib.util.spec_from_file_location(name, PERF_SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for the run's HTTP clients to the services.

    httpx builds a context for every client it makes (reading the CA bundle: a tenth of the
    CPU of a case-desk test, measured with py-spy), and the tests make a client for every
    pipeline and case desk, all speaking plain HTTP on loopback; one built once serves them all.
    """
    return httpx.create_ssl_context()


def loopback_client(**options: Any) -> httpx.AsyncClient:
    """An HTTP client for the services a test runs, sharing :func:`tls_context`."""
    return httpx.AsyncClient(verify=tls_context(), **options)


def generic_source(*secrets: str) -> SourceConfig:
    """A generic-format source accepting these secrets."""
    return SourceConfig.model_validate({"vendor": "generic", "secrets": list(secrets)})


@asynccontextmanager
async def serve(app: ASGIApp, *, websocket_compression: bool = True) -> AsyncIterator[str]:
    """Run ``app`` under uvicorn on a free loopback port (lifespan included); yield its URL.

    ``websocket_compression=False`` refuses permessage-deflate, as the notifier is served
    (``winback_shared.serve``): its consoles' frames are then written directly (``live.direct``).
    """
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        lifespan="on",
        ws_per_message_deflate=websocket_compression,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 10) -> Any:
    """Poll ``probe`` until it returns something truthy (or the timeout passes); return that."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)


@dataclass
class Pipeline:
    """A running ingest + router + notifier on real Kafka and PostgreSQL, for one test."""

    ingest_url: str
    notifier_url: str
    router_url: str
    source: str
    secret: str
    agent_token: str
    pool: asyncpg.Pool
    http: httpx.AsyncClient

    @property
    def websocket_url(self) -> str:
        """The notifier's live endpoint."""
        return self.notifier_url.replace("http://", "ws://") + "/ws"

    def sample(
        self,
        nps: int,
        reasons: list[str] | None = None,
        comment: str | None = None,
        follow_up: bool = False,
    ) -> dict[str, Any]:
        """A generic-format response with a fresh response id."""
        return sample_response(nps=nps, reasons=reasons or [], comment=comment, follow_up=follow_up)

    async def post(self, payload: dict[str, Any]) -> httpx.Response:
        """Sign ``payload`` with the source's secret and post it to ingest."""
        remember_response(payload)
        body, headers = signed_request(self.secret, payload)
        return await self.http.post(
            f"{self.ingest_url}/webhooks/{self.source}", content=body, headers=headers
        )


async def read_topic(bootstrap_servers: str, topic: str, *, settle: float = 1.0) -> list[bytes]:
    """Every record value on ``topic`` so far, waiting ``settle`` seconds for late arrivals."""
    return [value for _, value in await read_topic_records(bootstrap_servers, topic, settle=settle)]


async def read_topic_records(
    bootstrap_servers: str, topic: str, *, settle: float = 1.0
) -> list[tuple[bytes, bytes]]:
    """Every (key, value) on ``topic`` so far, waiting ``settle`` seconds for late arrivals."""
    from aiokafka import AIOKafkaConsumer  # test-only import kept local

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[tuple[bytes, bytes]] = []
    try:
        deadline = asyncio.get_running_loop().time() + settle
        while asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            records += [
                (r.key or b"", r.value) for batch in batches.values() for r in batch if r.value
            ]
    finally:
        await consumer.stop()
    return records


async def delete_topics(bootstrap_servers: str, names: Iterable[str]) -> None:
    """Delete whichever of these topics exist (a test's own, at its end)."""
    from aiokafka.admin import AIOKafkaAdminClient  # test-only import kept local

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [name for name in names if name in existing]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def group_caught_up(bootstrap_servers: str, group: str, topic: str) -> bool:
    """Whether ``group`` has committed every partition of ``topic`` up to its end.

    Asks the admin API and a group-less consumer, so probing never joins (and rebalances) the
    group it is watching.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition  # test-only imports kept local
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None)
    await admin.start()
    await reader.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        described = await admin.describe_topics([topic])
        partitions = [
            TopicPartition(topic, p["partition"])
            for found in described
            if found["topic"] == topic
            for p in found["partitions"]
        ]
        if not partitions:
            return False
        ends = await reader.end_offsets(partitions)
        # A partition nothing was ever written to has no committed offset and needs none.
        return all(
            ends[partition] == 0
            or (partition in committed and committed[partition].offset >= ends[partition])
            for partition in partitions
        )
    finally:
        await reader.stop()
        await admin.close()


@asynccontextmanager
async def empty_schema(database_url: str, schema: str) -> AsyncIterator[str]:
    """A URL whose ``search_path`` is a new empty schema named ``schema``, dropped on exit: the
    one way tests make a schema of their own, so every such schema is cleaned up alike (behind
    the run, while it drops behind: ``tests/schema_drops.py``)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    try:
        yield with_query(database_url, search_path=schema)
    finally:
        await drop_schema(database_url, schema)
