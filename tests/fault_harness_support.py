"""The fault harness's short and several-of-each runs on the test run's broker and database.

``python -m winback_local.chaos --short`` and ``--scale`` kill routers and notifiers, never the
broker or PostgreSQL, so they run with ``--given-infrastructure`` on the run's Kafka and
PostgreSQL, in topics, a schema and a consumer group of their own (made here, removed after):
starting a private Kafka and PostgreSQL for each cost more than the run's faults. The full run
(a broker and PostgreSQL killed) keeps its private stack: the harness refuses otherwise.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from typing import Any

import asyncpg

from tests.support import delete_topics
from winback_shared.settings import KafkaTopics
from winback_shared.urls import with_query


async def run_fault_harness(
    kind: str, timeout: float, kafka_bootstrap: str, database_url: str
) -> dict[str, Any]:
    """One run of ``python -m winback_local.chaos --<kind> --given-infrastructure --json`` in a
    child process, its JSON result; the stderr tail when it printed none."""
    unique = uuid.uuid4().hex[:12]
    schema = f"test_{kind}_{unique}"
    topics = KafkaTopics(
        **{field: f"{field.replace('_', '-')}-{unique}" for field in KafkaTopics.model_fields}
    )
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": with_query(database_url, search_path=schema),
        "WINBACK_ROUTER_GROUP": f"router-{unique}",
        **{f"WINBACK_TOPIC_{field.upper()}": name for field, name in topics.model_dump().items()},
    }
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "winback_local.chaos",
            f"--{kind}",
            "--given-infrastructure",
            "--json",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.terminate()  # the harness stops what it started on SIGTERM
            await process.wait()
            raise
        assert out, err.decode()[-3000:]
        result: dict[str, Any] = json.loads(out)
        return result
    finally:
        await delete_topics(kafka_bootstrap, topics.model_dump().values())
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()
