"""The refiner yields to the hot path on the real broker: a router group that lags on
``survey-responses`` pauses it, and it resumes once the group has caught up; a lag that never
ends still lets small batches through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import REGISTRY

from tests.recode_support import store_coded, survey_response
from tests.role_support import ROUTER, service_env
from tests.support import eventually, serve
from winback_router.coding.compiler import load_and_compile
from winback_router.coding.learned import FAST_MODEL
from winback_router.refine.app import create_app as create_refiner_app
from winback_router.settings import RouterSettings
from winback_shared.db import create_pool
from winback_shared.kafka import ensure_topics

RESPONSES = 40
BACKLOG = 300
"""Records on the topic beyond the group's committed offset: above the pause level below."""


async def store_pending(schema_url: str, count: int) -> None:
    fast = load_and_compile(None, FAST_MODEL)
    pool = await create_pool(schema_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            for n in range(count):
                comment = "nobody ever calls back again" if n % 2 else "it broke after two days"
                await store_coded(conn, survey_response(nps=3, comment=comment), fast)
    finally:
        await pool.close()


async def pending(schema_url: str) -> int:
    conn = await asyncpg.connect(schema_url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM survey_responses WHERE refine_pending")
        )
    finally:
        await conn.close()


class RouterGroup:
    """Stands in for the router: a topic with records, and the group's committed offset on it,
    moved by hand (a manually assigned member commits without joining, so nothing rebalances).
    """

    def __init__(self, bootstrap_servers: str, topic: str, group: str) -> None:
        self.partition = TopicPartition(topic, 0)
        self._bootstrap = bootstrap_servers
        self._member = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False
        )

    async def start(self, records: int) -> None:
        await ensure_topics(self._bootstrap, {self.partition.topic: 1})
        producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap)
        await producer.start()
        try:
            for n in range(records):
                await producer.send(self.partition.topic, f"record {n}".encode())
            await producer.flush()
        finally:
            await producer.stop()
        await self._member.start()
        self._member.assign([self.partition])

    async def commit(self, offset: int) -> None:
        await self._member.commit({self.partition: offset})

    async def stop(self) -> None:
        await self._member.stop()


@asynccontextmanager
async def lagging_group(
    infra_env: dict[str, object], group: str, lag: int
) -> AsyncIterator[RouterGroup]:
    topics = infra_env["topics"]
    router = RouterGroup(
        str(infra_env["kafka_bootstrap_servers"]),
        topics.survey_responses,  # type: ignore[attr-defined]
        group,
    )
    await router.start(lag)
    await router.commit(0)
    try:
        yield router
    finally:
        await router.stop()


def metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None, name
    return value


async def refiner_settings(
    infra_env: dict[str, object], group: str, **extra: object
) -> RouterSettings:
    return RouterSettings(
        **await service_env(infra_env, ROUTER),  # type: ignore[arg-type]
        router_group=group,
        refine_idle_seconds=0.1,
        refine_pause_lag=100,
        refine_resume_lag=0,
        refine_resume_after_seconds=0.5,
        **extra,  # type: ignore[arg-type]
    )


async def test_a_lagging_router_group_pauses_the_refiner_until_it_caught_up(
    infra_env: dict[str, object], schema_url: str, unique: str
) -> None:
    group = f"router-{unique}"
    settings = await refiner_settings(infra_env, group, refine_max_pause_seconds=600)
    await store_pending(schema_url, RESPONSES)
    paused_before = metric("winback_refiner_paused_seconds_total")
    failures: list[BaseException] = []
    async with lagging_group(infra_env, group, BACKLOG) as router:
        async with serve(create_refiner_app(settings, failures.append)):

            async def paused() -> bool:
                return metric("winback_refiner_paused") == 1

            assert await eventually(paused)
            assert metric("winback_refiner_router_lag") == BACKLOG
            await asyncio.sleep(2.0)  # paused: the refiner leaves every response pending
            assert await pending(schema_url) == RESPONSES
            assert metric("winback_refiner_paused") == 1

            await router.commit(BACKLOG)  # the router caught up

            async def all_refined() -> bool:
                return await pending(schema_url) == 0

            assert await eventually(all_refined, timeout=60)
            assert metric("winback_refiner_paused") == 0
            assert metric("winback_refiner_router_lag") == 0
    assert not failures, f"the refiner loop died: {failures!r}"
    assert metric("winback_refiner_paused_seconds_total") > paused_before + 2


@pytest.mark.parametrize("small_batch", [5])
async def test_under_a_lag_that_never_ends_small_batches_still_refine_everything(
    infra_env: dict[str, object], schema_url: str, unique: str, small_batch: int
) -> None:
    group = f"router-{unique}"
    settings = await refiner_settings(
        infra_env, group, refine_max_pause_seconds=0.2, refine_small_batch=small_batch
    )
    await store_pending(schema_url, RESPONSES)
    small_before = metric("winback_refiner_starvation_batches_total")
    failures: list[BaseException] = []
    async with lagging_group(infra_env, group, BACKLOG):
        async with serve(create_refiner_app(settings, failures.append)):

            async def all_refined() -> bool:
                return await pending(schema_url) == 0

            assert await eventually(all_refined, timeout=90)
            assert metric("winback_refiner_paused") == 1  # never resumed: the lag is still there
    assert not failures, f"the refiner loop died: {failures!r}"
    assert (
        metric("winback_refiner_starvation_batches_total") >= small_before + RESPONSES / small_batch
    )
