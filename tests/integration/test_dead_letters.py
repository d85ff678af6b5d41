"""Dead letters: kept with their reason, copied to a topic, listed, replayed once fixed; a flood
of them stops the router instead."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests import signers
from tests.integration.test_customer_match import plan_nodes
from tests.role_support import ROUTER, as_role, migrate_as_owner, service_env
from tests.support import eventually, read_topic, serve
from winback_ingest.app import create_app as create_ingest_app
from winback_ingest.settings import IngestSettings
from winback_local.signing import sample_response, signed_request
from winback_router.app import create_app as create_router_app
from winback_router.dead_letters.fates import NEWEST_LETTER_SQL, find_letter
from winback_router.dead_letters.flood_guard import DeadLetterFlood
from winback_router.settings import RouterSettings
from winback_shared.agents import Role, issue_token
from winback_shared.db import create_pool
from winback_shared.settings import KafkaTopics
from winback_shared.sources import SourceConfig, Sources


@asynccontextmanager
async def router_running(
    infra_env: dict[str, object], unique: str, sources: Sources, **settings: Any
) -> AsyncIterator[tuple[str, list[BaseException]]]:
    """A router on this test's topics and schema, with the given sources; yields URL, failures."""
    failures: list[BaseException] = []
    router = RouterSettings(
        **await service_env(infra_env, ROUTER),  # type: ignore[arg-type]
        router_group=f"router-{unique}",
        sources=sources,
        **settings,
    )
    async with serve(create_router_app(router, failures.append)) as url:
        yield url, failures


@pytest.fixture
async def ingest(ingest_settings: IngestSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(create_ingest_app(ingest_settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=15) as client:
            yield client


@pytest.fixture
async def pool(schema_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(schema_url, min_size=1, max_size=2)
    yield pool
    await pool.close()


async def post(client: httpx.AsyncClient, secret: str, payload: dict[str, Any]) -> str:
    body, headers = signed_request(secret, payload)
    answer = await client.post("/webhooks/survey", content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    receipt: str = answer.json()["receipt_id"]
    return receipt


async def test_source_unknown_to_the_router_is_dead_lettered_then_replayed_into_one_case(
    infra_env: dict[str, object],
    unique: str,
    sources: Sources,
    source_secret: str,
    ingest: httpx.AsyncClient,
    pool: asyncpg.Pool,
    kafka_bootstrap: str,
    topics: KafkaTopics,
    schema_url: str,
) -> None:
    # The router was deployed without this source: a configuration mistake, not bad input.
    async with router_running(infra_env, unique, sources={}):
        receipt = await post(ingest, source_secret, sample_response(nps=2, reasons=[]))
        letter = await eventually(lambda: pool.fetchrow("SELECT * FROM dead_letters"))
    assert letter["receipt_id"] == receipt and letter["source"] == "survey"
    assert "not configured in the router" in letter["error"]
    copies = await read_topic(kafka_bootstrap, topics.dead_letters)
    assert [json.loads(c)["event_id"] for c in copies] == [receipt]

    async with router_running(infra_env, unique, sources=sources):
        listed = await cli(schema_url, kafka_bootstrap, topics, "list")
        assert "not configured in the router" in listed.stdout
        replay = await cli(schema_url, kafka_bootstrap, topics, "replay", str(letter["id"]))
        assert "replayed 1" in replay.stdout
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM recovery_cases"))
        # Replaying again (an operator's double click) still makes one case.
        await cli(schema_url, kafka_bootstrap, topics, "replay", str(letter["id"]))
        await asyncio.sleep(1.5)

    assert await pool.fetchval("SELECT count(*) FROM recovery_cases") == 1
    assert await pool.fetchval("SELECT count(*) FROM dead_letters") == 1
    assert await pool.fetchval("SELECT replay_count FROM dead_letters") == 2
    pending = await cli(schema_url, kafka_bootstrap, topics, "list")
    assert "no dead letters" in pending.stdout


async def cli(
    database_url: str, kafka_bootstrap: str, topics: KafkaTopics, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run the dead-letter CLI as an operator would, against this test's schema and topics, as
    the router's role."""
    env = {
        **os.environ,
        "DATABASE_URL": as_role(database_url, ROUTER),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "WINBACK_TOPIC_SURVEY_RESPONSES": topics.survey_responses,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "winback_router.dead_letters",
        *args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()
    result = subprocess.CompletedProcess(args, process.returncode or 0, out.decode(), err.decode())
    assert process.returncode == 0, result
    return result


async def test_ops_endpoints_require_a_supervisor_and_replay(
    infra_env: dict[str, object],
    unique: str,
    source_secret: str,
    ingest: httpx.AsyncClient,
    pool: asyncpg.Pool,
) -> None:
    async with router_running(infra_env, unique, sources={}) as (url, _):
        async with pool.acquire() as conn:  # the router has applied the migrations by now
            _, agent = await issue_token(conn, name="agent", role=Role.AGENT)
            _, supervisor = await issue_token(conn, name="lead", role=Role.SUPERVISOR)
        await post(ingest, source_secret, sample_response(nps=9, reasons=[]))
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM dead_letters"))
        async with httpx.AsyncClient(base_url=url) as http:
            anonymous = await http.get("/ops/dead-letters")
            as_agent = await http.get(
                "/ops/dead-letters", headers={"Authorization": f"Bearer {agent}"}
            )
            lead = {"Authorization": f"Bearer {supervisor}"}
            listed = await http.get("/ops/dead-letters", headers=lead)
            letter_id = listed.json()[0]["id"]
            one = await http.get(f"/ops/dead-letters/{letter_id}", headers=lead)
            missing = await http.get("/ops/dead-letters/999999", headers=lead)
            empty = await http.post("/ops/dead-letters/replay", json={}, headers=lead)
            replayed = await http.post(
                "/ops/dead-letters/replay", json={"source": "survey"}, headers=lead
            )

            async def failed_again() -> list[dict[str, Any]]:
                listed = (await http.get("/ops/dead-letters", headers=lead)).json()
                return [letter for letter in listed if letter["replay_of"] == letter_id]

            # Still unfixed, the replay fails again: a new dead letter that points at the old.
            again = await eventually(failed_again)
            after = await http.get("/ops/dead-letters", headers=lead)

    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthenticated"
    assert as_agent.status_code == 403 and as_agent.json()["error"]["code"] == "forbidden"
    assert listed.status_code == 200 and listed.json()[0]["source"] == "survey"
    assert one.json()["record_base64"]
    assert missing.status_code == 404
    assert empty.status_code == 400
    assert replayed.json() == {"replayed": [letter_id], "missing": []}
    assert [letter["id"] for letter in after.json()] == [again[0]["id"]]


async def test_flood_of_dead_letters_stops_the_router_without_committing(
    infra_env: dict[str, object],
    unique: str,
    sources: Sources,
    source_secret: str,
    ingest: httpx.AsyncClient,
    pool: asyncpg.Pool,
) -> None:
    flood = {"flood_window": 10, "flood_min_records": 4, "flood_max_ratio": 0.5}
    async with router_running(infra_env, unique, sources={}, **flood) as (url, failures):
        for _ in range(6):
            await post(ingest, source_secret, sample_response(nps=1, reasons=[]))
        await eventually(lambda: asyncio.sleep(0, failures), timeout=20)
        async with httpx.AsyncClient(base_url=url) as http:
            ready = await http.get("/readyz")

    assert failures and isinstance(failures[0], DeadLetterFlood)
    assert "could not be normalised" in str(failures[0])
    assert ready.status_code == 503
    # A first small batch may have been dead-lettered before the window filled up; the batch
    # that tripped the guard was not committed.
    dead_before = await pool.fetchval("SELECT count(*) FROM dead_letters")
    assert dead_before < 4

    # Fixed (the source configured again), a new router takes over from the last commit.
    async with router_running(infra_env, unique, sources=sources, **flood) as (_, failures):
        stored = await eventually(
            lambda: pool.fetchval("SELECT count(*) = $1 FROM survey_responses", 6 - dead_before),
            timeout=20,
        )
    assert stored and not failures
    assert await pool.fetchval("SELECT count(*) FROM dead_letters") == dead_before


TYPEFORM_SECRET = "typeform-webhook-secret-7d1c"
TYPEFORM_DATA = Path(__file__).parents[1] / "data" / "typeform"


def typeform_source(field_map: dict[str, object]) -> Sources:
    return {
        "tf": SourceConfig.model_validate(
            {"vendor": "typeform", "secrets": [TYPEFORM_SECRET], "field_map": field_map}
        )
    }


async def test_replay_after_fixing_a_field_map_makes_exactly_one_case(
    infra_env: dict[str, object],
    unique: str,
    pool: asyncpg.Pool,
    schema_url: str,
    kafka_bootstrap: str,
    topics: KafkaTopics,
) -> None:
    wrong = typeform_source({"nps": "reason"})  # points at the choice question, not the score
    fixed = typeform_source({"nps": "nps"})
    settings = IngestSettings(**infra_env, sources=wrong)  # type: ignore[arg-type]
    body, headers = signers.typeform(
        TYPEFORM_SECRET, (TYPEFORM_DATA / "detractor.json").read_bytes()
    )

    async with router_running(infra_env, unique, sources=wrong):
        async with serve(create_ingest_app(settings)) as url, httpx.AsyncClient() as http:
            first = await http.post(f"{url}/webhooks/tf", content=body, headers=headers)
            again = await http.post(f"{url}/webhooks/tf", content=body, headers=headers)
        assert (first.status_code, again.status_code) == (202, 202)
        letters = await eventually(
            lambda: pool.fetch("SELECT id, error FROM dead_letters"), timeout=20
        )
        await eventually(lambda: pool.fetchval("SELECT count(*) = 2 FROM dead_letters"))
    assert "not a number" in letters[0]["error"] and "nps" in letters[0]["error"]
    assert await pool.fetchval("SELECT count(*) FROM recovery_cases") == 0

    async with router_running(infra_env, unique, sources=fixed):
        await cli(schema_url, kafka_bootstrap, topics, "replay", "--source", "tf")
        case = await eventually(lambda: pool.fetchrow("SELECT * FROM case_summaries"))
        await asyncio.sleep(1.5)  # the second replayed delivery, a duplicate, lands too

    assert case["response_id"] == "9f3c2a71d0b84e6c5a1f7d2e8b4c6a90"
    assert await pool.fetchval("SELECT count(*) FROM recovery_cases") == 1
    assert await pool.fetchval("SELECT count(*) FROM survey_responses") == 1
    assert await pool.fetchval("SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL") == 0


async def test_a_delivery_s_newest_dead_letter_is_found_through_its_index(
    schema_url: str, pool: asyncpg.Pool
) -> None:
    """Migration 0040: ``GET /deliveries/{receipt_id}`` probes an index for the receipt's newest
    letter instead of reading every dead letter (a malformed feed leaves millions)."""
    await migrate_as_owner(schema_url)
    await pool.execute(
        """
        INSERT INTO dead_letters (receipt_id, source, topic, kafka_partition, kafka_offset, error,
                                  record)
        SELECT 'r-' || (n % 2500), 's', 'survey-responses', 0, n, 'bad ' || n, '\\x00'
        FROM generate_series(1, 5000) AS n
        """
    )
    await pool.execute("ANALYZE dead_letters")

    newest = await find_letter(pool, "r-7")

    assert newest is not None and newest.error == "bad 2507"  # of r-7's two letters, the later
    assert await find_letter(pool, "r-unknown") is None
    raw = await pool.fetchval(f"EXPLAIN (FORMAT JSON) {NEWEST_LETTER_SQL}", "r-7")
    plan = json.loads(raw) if isinstance(raw, str) else raw
    nodes = list(plan_nodes(plan))
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], plan
    assert {n.get("Index Name") for n in nodes} >= {"dead_letters_receipt_idx"}, plan
