"""Real infrastructure for the test run.

Kafka (from Maven Central's jars) and PostgreSQL (embedded, unless ``DATABASE_URL`` is set) start
once per run; each test gets its own topics and its own schema, so tests never see each other's
data and need no clean-up order. ``KAFKA_BOOTSTRAP_SERVERS`` points the run at another broker.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, async_playwright

from tests.browser_support import CHROMIUM_ARGS, chromium_or_skip
from tests.case_support import CaseDesk, running_desk
from tests.log_guard import (
    kept_lines,
    no_secrets_in_logs,
    remember,
    remember_secret,
    remember_sources,
)
from tests.role_support import NOTIFIER, ROUTER, migrate_as_owner, service_env
from tests.run_servers import (
    RUN_DATABASE_URL,
    RUN_KAFKA,
    own_broker,
    own_database_server,
    start_for_workers,
    starts_workers,
)
from tests.schema_drops import drops_behind
from tests.schema_template import spares_kept
from tests.support import (
    Pipeline,
    delete_topics,
    empty_schema,
    generic_source,
    loopback_client,
    serve,
)
from winback_ingest.app import create_app as create_ingest_app
from winback_ingest.settings import IngestSettings
from winback_local.signing import new_secret
from winback_notifier.app import create_app as create_notifier_app
from winback_notifier.settings import NotifierSettings
from winback_router.adapters import AdapterContext
from winback_router.adapters.vendor_api import VendorApiClient
from winback_router.app import create_app as create_router_app
from winback_router.settings import RouterSettings
from winback_shared.agents import Role, issue_token
from winback_shared.db import create_pool
from winback_shared.settings import KafkaTopics
from winback_shared.sources import Sources


def pytest_configure(config: pytest.Config) -> None:
    """A parallel run's controller starts the run's broker and database server once, for all
    its workers (``tests/run_servers.py``)."""
    if starts_workers(config):
        start_for_workers(config)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """One real broker for the whole run (shared by a parallel run's workers)."""
    named = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or os.environ.get(RUN_KAFKA)
    if named:
        yield named
        return
    with own_broker() as bootstrap_servers:
        yield bootstrap_servers


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    """One real PostgreSQL server for the whole run (shared by a parallel run's workers)."""
    named = os.environ.get("DATABASE_URL") or os.environ.get(RUN_DATABASE_URL)
    if named:
        async with schema_work_aside(named):
            yield named
        return
    with own_database_server() as url:
        async with schema_work_aside(url):
            yield url


@asynccontextmanager
async def schema_work_aside(database_url: str) -> AsyncIterator[None]:
    """The run's schema work done while tests wait on other things: the next filled schema
    made ahead (``tests/schema_template.py``), finished tests' schemas dropped behind
    (``tests/schema_drops.py``); both waited for when the run ends."""
    async with drops_behind(database_url), spares_kept(database_url):
        yield


@pytest.fixture
def unique() -> str:
    """A short id that names this test's topics and schema."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
async def schema_url(database_url: str, unique: str) -> AsyncIterator[str]:
    """A database URL whose ``search_path`` is a fresh schema, dropped afterwards."""
    async with empty_schema(database_url, f"test_{unique}") as url:
        yield url


@pytest.fixture
async def pool(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on this test's own migrated schema, as its owner. A module that needs another
    role or size defines a ``pool`` of its own, which takes this one's place there."""
    await migrate_as_owner(schema_url)
    opened = await create_pool(schema_url, min_size=1, max_size=2)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def topics(unique: str, request: pytest.FixtureRequest) -> AsyncIterator[KafkaTopics]:
    """Fresh topic names for this test; a test that reached the broker has them deleted after.

    Deleting keeps one broker lean over a whole run: thousands of left-over partitions slow down
    every topic creation and group join that follows (and a small broker heap runs out).
    """
    names = KafkaTopics(
        **{field: f"{field.replace('_', '-')}-{unique}" for field in KafkaTopics.model_fields}
    )
    yield names
    if "kafka_bootstrap" in request.fixturenames:
        await delete_topics(request.getfixturevalue("kafka_bootstrap"), names.model_dump().values())


@pytest.fixture
def infra_env(kafka_bootstrap: str, schema_url: str, topics: KafkaTopics) -> dict[str, object]:
    """Settings arguments every service of this test shares."""
    return {
        "kafka_bootstrap_servers": kafka_bootstrap,
        "database_url": schema_url,
        "topics": topics,
    }


@pytest.fixture
def source_secret() -> str:
    """The test source's Standard Webhooks secret."""
    secret = new_secret()
    remember_secret(secret)
    return secret


@pytest.fixture
def sources(source_secret: str) -> Sources:
    """The configured webhook sources: one generic source named ``survey``.

    Vendor tests override this fixture in their module to run the pipeline with their sources.
    """
    return {"survey": generic_source(source_secret)}


@pytest.fixture
def ingest_settings(infra_env: dict[str, object], sources: Sources) -> IngestSettings:
    """Ingest configured with this test's sources."""
    return IngestSettings(**infra_env, sources=sources)  # type: ignore[arg-type]


@pytest.fixture
def router_overrides() -> dict[str, object]:
    """Extra router settings for the pipeline; tests override this fixture (queue rules...)."""
    return {}


@pytest.fixture
def router_failures() -> list[BaseException]:
    """Errors that stopped the in-process router loop (a real router process would exit)."""
    return []


@pytest.fixture
async def pipeline(
    infra_env: dict[str, object],
    ingest_settings: IngestSettings,
    source_secret: str,
    unique: str,
    router_failures: list[BaseException],
    router_overrides: dict[str, object],
) -> AsyncIterator[Pipeline]:
    """Ingest, router and notifier running in-process on real sockets, Kafka and PostgreSQL.

    The router and the notifier act as their own database roles, as deployed (the migrations
    run first, as the owner); the test's ``pool`` is the superuser's, to look and to seed.
    """
    router_settings = RouterSettings(
        **await service_env(infra_env, ROUTER),  # type: ignore[arg-type]
        router_group=f"router-{unique}",
        sources=ingest_settings.sources,
        flood_min_records=1000,  # tests dead-letter on purpose; flood tests set their own
        flood_window=1000,
        **router_overrides,  # type: ignore[arg-type]
    )
    notifier_settings = NotifierSettings(**await service_env(infra_env, NOTIFIER))  # type: ignore[arg-type]
    remember_sources(ingest_settings.sources.values())
    notifier_failures: list[BaseException] = []
    pool = await create_pool(str(infra_env["database_url"]), min_size=1, max_size=4)
    try:
        async with (
            serve(create_router_app(router_settings, router_failures.append)) as router_url,
            serve(create_notifier_app(notifier_settings, notifier_failures.append)) as notifier_url,
            serve(create_ingest_app(ingest_settings)) as ingest_url,
            loopback_client(timeout=15) as http,
        ):
            async with pool.acquire() as conn:
                _, token = await issue_token(conn, name="test-agent", role=Role.AGENT)
            remember(token)
            yield Pipeline(
                ingest_url=ingest_url,
                notifier_url=notifier_url,
                router_url=router_url,
                source="survey",
                secret=source_secret,
                agent_token=token,
                pool=pool,
                http=http,
            )
    finally:
        await pool.close()
    assert not notifier_failures, f"a notifier loop died: {notifier_failures!r}"


@pytest.fixture
async def case_desk(infra_env: dict[str, object]) -> AsyncIterator[CaseDesk]:
    """A notifier alone (no ingest or router) on real Kafka and PostgreSQL, for case tests."""
    async with running_desk(infra_env) as desk:
        yield desk


@pytest.fixture
async def context() -> AsyncIterator[AdapterContext]:
    """What router adapters get besides the envelope: a vendor API client that retries fast."""
    client = VendorApiClient(max_wait_seconds=0.01)
    try:
        yield AdapterContext(api=client)
    finally:
        await client.aclose()


@pytest.fixture(scope="session")
def out_of_fold_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for ``train --out-of-fold`` files that the run's train-command tests share.

    The five cross-validation fits are most of a training run, and several tests train on the
    same first comments with the same settings; the file is reused only when its key (texts,
    labels, C, scales, settings) matches (``train.cached_out_of_fold`` checks it), so a test
    reading it gets exactly what it would compute.
    ``test_coding_removal.py`` checks computing, writing and reading the file themselves.
    """
    return tmp_path_factory.mktemp("out-of-fold")


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Headless Debian Chromium for a module's browser tests (no browser download, ever)."""
    executable = chromium_or_skip()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


__all__ = ["kept_lines", "no_secrets_in_logs"]  # every test runs under the log guard

INFRASTRUCTURE_FIXTURES = frozenset({"kafka_bootstrap", "database_url"})
"""A test that reaches either of these (directly or through another fixture) needs the real
broker or database, and is marked ``integration`` so ``-m "not integration"`` runs in seconds."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses real infrastructure (or a browser) by the fixtures it needs."""
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if needs & INFRASTRUCTURE_FIXTURES:
            item.add_marker(pytest.mark.integration)
        if "browser" in needs:
            item.add_marker(pytest.mark.browser)
