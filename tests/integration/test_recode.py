"""Re-coding history on real Kafka and PostgreSQL: codes follow the taxonomy, nothing re-alerts.

The pipeline's router codes with the default taxonomy; each test then re-codes with a changed
one (``parking`` added, ``rude`` removed, ``billing_error`` made heavy), as ops would after
editing the taxonomy file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.case_support import CaseDesk, Console, running_desk
from tests.recode_support import PARKING_COMMENT, write_changed_taxonomy
from tests.role_support import ROUTER, service_env
from tests.support import Pipeline, eventually, read_topic
from winback_ingest.settings import IngestSettings
from winback_router.adapters import AdapterContext
from winback_router.adapters.vendor_api import VendorApiClient
from winback_router.recoding.cli import run as run_cli
from winback_router.recoding.flow import recode
from winback_router.recoding.replay import KafkaReplay, Window
from winback_router.settings import RouterSettings
from winback_shared.agents import Role
from winback_shared.db import create_pool
from winback_shared.migrations import apply_migrations
from winback_shared.settings import KafkaTopics
from winback_shared.taxonomy import Taxonomy, load_taxonomy


@pytest.fixture
def taxonomy_path(tmp_path: Path) -> Path:
    return write_changed_taxonomy(tmp_path)


@pytest.fixture
def changed(taxonomy_path: Path) -> Taxonomy:
    return load_taxonomy(taxonomy_path)


@pytest.fixture
async def settings(infra_env: dict[str, object], ingest_settings: IngestSettings) -> RouterSettings:
    """What the CLI would read from the environment for this test's infrastructure."""
    return RouterSettings(
        **await service_env(infra_env, ROUTER),  # type: ignore[arg-type]
        sources=ingest_settings.sources,
    )


@pytest.fixture
async def kafka_replay(settings: RouterSettings) -> AsyncIterator[KafkaReplay]:
    api = VendorApiClient()
    try:
        yield KafkaReplay(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic=settings.topics.survey_responses,
            sources=settings.sources,
            context=AdapterContext(api=api),
        )
    finally:
        await api.aclose()


async def post_and_wait(pipeline: Pipeline, payloads: list[dict[str, Any]]) -> None:
    """Post every payload and wait until each is stored and every case alerted."""
    for payload in payloads:
        assert (await pipeline.post(payload)).status_code == 202
    ids = [payload["response_id"] for payload in payloads]

    async def routed() -> bool:
        stored = await pipeline.pool.fetchval(
            "SELECT count(*) FROM survey_responses WHERE response_id = ANY($1::text[])", ids
        )
        unalerted = await pipeline.pool.fetchval(
            "SELECT count(*) FROM recovery_cases WHERE alerted_at IS NULL"
        )
        return bool(stored == len(set(ids)) and unalerted == 0)

    assert await eventually(routed), "the router did not store and alert in time"


async def codes_of(pool: asyncpg.Pool, payload: dict[str, Any]) -> list[str]:
    codes = await pool.fetchval(
        "SELECT codes FROM survey_responses WHERE response_id = $1", payload["response_id"]
    )
    return [code["code"] for code in codes]


async def case_of(pool: asyncpg.Pool, payload: dict[str, Any]) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT c.* FROM recovery_cases c JOIN survey_responses r ON r.id = c.survey_response_id"
        " WHERE r.response_id = $1",
        payload["response_id"],
    )


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a run could write, to compare before and after."""
    queries = {
        "responses": "SELECT id, codes, needs_recovery, revision FROM survey_responses",
        "cases": "SELECT id, seq, status, priority, queue, updated_at FROM recovery_cases",
        "history": "SELECT id, case_id, seq, kind, data, published_at FROM case_history",
        "runs": "SELECT id FROM recode_runs",
        "changes": "SELECT id FROM recode_changes",
    }
    return {
        name: [tuple(row) for row in await pool.fetch(f"{sql} ORDER BY id")]
        for name, sql in queries.items()
    }


class Seeded:
    """Five responses routed with the default taxonomy, one of their cases closed since."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.complaint = pipeline.sample(nps=3, comment=PARKING_COMMENT)  # case, unclassified
        self.promoter = pipeline.sample(nps=9, comment="Lovely staff but the parking was awful.")
        self.billing = pipeline.sample(nps=5, reasons=["Billing error"])  # case, priority 2
        self.rude = pipeline.sample(nps=4, reasons=["Rude agent"])  # case, closed below
        self.happy = pipeline.sample(nps=10)
        self.all = [self.complaint, self.promoter, self.billing, self.rude, self.happy]


async def seed(pipeline: Pipeline) -> Seeded:
    seeded = Seeded(pipeline)
    await post_and_wait(pipeline, seeded.all)
    await pipeline.pool.execute(
        "UPDATE recovery_cases SET status = 'closed', closed_at = now() WHERE survey_response_id"
        " = (SELECT id FROM survey_responses WHERE response_id = $1)",
        seeded.rude["response_id"],
    )
    assert await codes_of(pipeline.pool, seeded.complaint) == ["unclassified"]
    assert await codes_of(pipeline.pool, seeded.rude) == ["rude"]
    return seeded


async def alert_types(kafka_bootstrap: str, topics: KafkaTopics) -> list[str]:
    return [
        json.loads(value)["type"]
        for value in await read_topic(kafka_bootstrap, topics.recovery_alerts)
    ]


@pytest.mark.parametrize("replay", ["kafka", "database"])
async def test_recode_after_a_taxonomy_change_updates_codes_and_history_without_alerting(
    pipeline: Pipeline,
    settings: RouterSettings,
    taxonomy_path: Path,
    kafka_bootstrap: str,
    topics: KafkaTopics,
    capsys: pytest.CaptureFixture[str],
    replay: str,
) -> None:
    seeded = await seed(pipeline)
    pool = pipeline.pool
    cases_before = await pool.fetchval("SELECT count(*) FROM recovery_cases")
    assert await alert_types(kafka_bootstrap, topics) == ["case.opened"] * 3

    argv = ["--taxonomy", str(taxonomy_path), "--no-model", "--json"]  # model: other codes
    status = await run_cli(argv + (["--from-database"] if replay == "database" else []), settings)

    out, err = capsys.readouterr()
    assert status == 0, err
    report = json.loads(out)
    assert "responses seen" in err and "changed" in err  # progress went to stderr
    assert report["replay_source"] == replay and not report["dry_run"]
    assert report["responses_seen"] == 5
    assert report["responses_changed"] == 4 and report["codes_changed"] == 3
    assert report["codes_added"] == {"parking": 2, "unclassified": 1}
    assert report["codes_removed"] == {"rude": 1, "unclassified": 2}
    complaint, billing, rude = [
        await case_of(pool, p) for p in (seeded.complaint, seeded.billing, seeded.rude)
    ]
    assert complaint and billing and rude
    assert sorted(report["cases_recoded"]) == sorted([complaint["id"], billing["id"]])
    assert report["closed_cases_recoded"] == [rude["id"]]
    assert report["priority_would_change"] == {str(billing["id"]): {"kept": 2, "recoded": 1}}
    assert report["would_need_recovery"] == 1

    assert await codes_of(pool, seeded.complaint) == ["parking"]
    assert await codes_of(pool, seeded.promoter) == ["parking"]
    assert await codes_of(pool, seeded.rude) == ["unclassified"]
    assert await codes_of(pool, seeded.happy) == []
    billing_codes = await pool.fetchval(
        "SELECT codes FROM survey_responses WHERE response_id = $1", seeded.billing["response_id"]
    )
    assert [(c["code"], c["weight"]) for c in billing_codes] == [("billing_error", 2.0)]

    # No case opened (the promoter would need one now), none duplicated, none re-prioritised.
    assert await pool.fetchval("SELECT count(*) FROM recovery_cases") == cases_before == 3
    assert await case_of(pool, seeded.promoter) is None
    assert (complaint["seq"], complaint["priority"]) == (2, 1)
    assert (billing["seq"], billing["priority"]) == (2, 2)
    assert (rude["seq"], rude["status"]) == (1, "closed")
    history = await pool.fetch(
        "SELECT case_id, seq, kind, actor, data, published_at FROM case_history"
        " WHERE kind = 'recoded' ORDER BY case_id"
    )
    assert [(h["case_id"], h["seq"], h["actor"]) for h in history] == sorted(
        [(complaint["id"], 2, "recode"), (billing["id"], 2, "recode")]
    )
    by_case = {h["case_id"]: h["data"] for h in history}
    assert by_case[complaint["id"]]["added"] == ["parking"]
    assert by_case[complaint["id"]]["removed"] == ["unclassified"]
    assert "Priority stays 2" in by_case[billing["id"]]["note"]
    # Left to the notifier's outbox, which publishes them (and nothing else was waiting).
    assert await eventually(
        lambda: pool.fetchval("SELECT count(*) = 0 FROM case_history WHERE published_at IS NULL")
    ), "the outbox did not publish the re-codings"

    run = await pool.fetchrow("SELECT * FROM recode_runs")
    assert run is not None
    assert run["id"] == report["run_id"] and run["status"] == "finished"
    assert (run["replay_source"], run["responses_seen"], run["responses_changed"]) == (
        replay,
        5,
        4,
    )
    assert run["cases_recoded"] == 2 and run["summary"]["codes_added"]["parking"] == 2
    changes = await pool.fetch(
        "SELECT r.response_id, ch.codes_added, ch.codes_removed, ch.case_seq FROM recode_changes"
        " ch JOIN survey_responses r ON r.id = ch.survey_response_id WHERE ch.run_id = $1",
        run["id"],
    )
    assert {c["response_id"]: (c["codes_added"], c["codes_removed"]) for c in changes} == {
        seeded.complaint["response_id"]: (["parking"], ["unclassified"]),
        seeded.promoter["response_id"]: (["parking"], ["unclassified"]),
        seeded.billing["response_id"]: ([], []),
        seeded.rude["response_id"]: (["unclassified"], ["rude"]),
    }

    # No alert; one quiet case change per re-coded open case, with its new reasons.
    assert await alert_types(kafka_bootstrap, topics) == ["case.opened"] * 3
    events = [json.loads(value) for value in await read_topic(kafka_bootstrap, topics.case_events)]
    assert sorted(
        (e["type"], e["case"]["case_id"], e["change"]["kind"], e["change"]["seq"]) for e in events
    ) == sorted([("case.changed", case["id"], "recoded", 2) for case in (complaint, billing)])
    sent = {e["case"]["case_id"]: e["case"] for e in events}
    assert [r["code"] for r in sent[complaint["id"]]["reasons"]] == ["parking"]
    assert sent[complaint["id"]]["priority"] == 1 and sent[billing["id"]]["priority"] == 2


async def recoded_changes(console: Console, count: int) -> dict[int, dict[str, Any]]:
    """The next ``count`` live changes, by case id; each must be a ``case.changed``, alone or
    in a ``cases.changed`` (pongs skipped): a re-coding must never come as an alert."""
    found: dict[int, dict[str, Any]] = {}
    while len(found) < count:
        message = await console.next()
        if message["type"] == "pong":
            continue
        together = message["changes"] if message["type"] == "cases.changed" else [message]
        for change in together:
            assert change["type"] == "case.changed", message
            found[change["case"]["case_id"]] = change
    return found


@pytest.mark.parametrize("replay", ["kafka", "database"])
async def test_recoded_open_cases_reach_their_queue_consoles_live_once_and_as_no_news(
    pipeline: Pipeline,
    settings: RouterSettings,
    taxonomy_path: Path,
    kafka_bootstrap: str,
    topics: KafkaTopics,
    capsys: pytest.CaptureFixture[str],
    replay: str,
) -> None:
    seeded = await seed(pipeline)
    pool = pipeline.pool
    desk = CaseDesk(url=pipeline.notifier_url, pool=pool, http=pipeline.http)
    sue = await desk.agent("sue", Role.SUPERVISOR, queues=[])
    bill = await desk.agent("bill", queues=["billing"])
    complaint, billing = [await case_of(pool, p) for p in (seeded.complaint, seeded.billing)]
    assert complaint and billing and complaint["queue"] == billing["queue"] == "default"
    argv = ["--taxonomy", str(taxonomy_path), "--no-model", "--json"]  # model: other codes
    argv += ["--from-database"] if replay == "database" else []

    async with (
        desk.console(pipeline.agent_token) as agent_console,
        desk.console(sue) as supervisor_console,
        desk.console(bill) as other_queue_console,
    ):
        shown = {card["case_id"]: card for card in agent_console.snapshot}
        assert set(shown) == {complaint["id"], billing["id"]}
        assert [r["code"] for r in shown[complaint["id"]]["reasons"]] == ["unclassified"]

        assert await run_cli(argv, settings) == 0
        assert json.loads(capsys.readouterr().out)["cases_recoded"]

        for console in (agent_console, supervisor_console):
            changes = await recoded_changes(console, 2)
            assert set(changes) == {complaint["id"], billing["id"]}
            for case in (complaint, billing):
                card, entry = changes[case["id"]]["case"], changes[case["id"]]["change"]
                stored = await pool.fetchval(
                    "SELECT codes FROM survey_responses WHERE id = $1", case["survey_response_id"]
                )
                assert card["reasons"] == stored  # the new codes, evidence and all
                assert (card["seq"], card["priority"], card["queue"]) == (
                    2,
                    case["priority"],
                    "default",
                )
                assert (entry["seq"], entry["kind"], entry["actor"]) == (2, "recoded", "recode")
            complaint_card = changes[complaint["id"]]["case"]
            assert [(r["code"], r["evidence"]) for r in complaint_card["reasons"]] == [
                ("parking", PARKING_COMMENT)
            ]
            assert changes[complaint["id"]]["change"]["data"]["added"] == ["parking"]
            assert changes[complaint["id"]]["previous_queue"] is None

        # Running again changes nothing, so nothing more reaches any console (the outbox sweeps
        # every 2 seconds: wait out two rounds).
        assert await run_cli(argv, settings) == 0
        assert json.loads(capsys.readouterr().out)["responses_changed"] == 0
        await asyncio.gather(
            *(
                console.nothing_for(5.0)
                for console in (agent_console, supervisor_console, other_queue_console)
            )
        )

    assert len(await read_topic(kafka_bootstrap, topics.case_events)) == 2
    assert await alert_types(kafka_bootstrap, topics) == ["case.opened"] * 3


async def test_a_recoding_is_not_pushed_before_its_case_s_first_alert(
    infra_env: dict[str, object], changed: Taxonomy
) -> None:
    async with running_desk(infra_env, outbox_interval_seconds=0.2) as desk:
        ana = await desk.agent("ana")
        case_id = await desk.case(comment=PARKING_COMMENT, reasons=[])
        # As if the router had committed the case and not yet had its alert acknowledged.
        alerted = "UPDATE recovery_cases SET alerted_at = {} WHERE id = $1"
        await desk.pool.execute(alerted.format("NULL"), case_id)
        async with desk.console(ana) as console:
            summary = await recode(pool=desk.pool, taxonomy=changed, window=Window())
            assert summary.cases_recoded == [case_id]

            # The alert must be the consoles' first news of the case, or it would never pop up.
            await console.nothing_for(1.5)
            unpublished = "SELECT count(*) FROM case_history WHERE published_at IS NULL"
            assert await desk.pool.fetchval(unpublished) == 1

            await desk.pool.execute(alerted.format("now()"), case_id)
            change = await console.next()

    assert change["type"] == "case.changed" and change["change"]["kind"] == "recoded"
    assert [r["code"] for r in change["case"]["reasons"]] == ["parking"]


async def test_running_again_with_the_same_taxonomy_changes_nothing(
    pipeline: Pipeline, changed: Taxonomy, kafka_replay: KafkaReplay
) -> None:
    await seed(pipeline)
    first = await recode(pool=pipeline.pool, taxonomy=changed, window=Window(), kafka=kafka_replay)
    assert first.responses_changed == 4
    assert await eventually(  # the outbox marks what it published: let it, then compare
        lambda: pipeline.pool.fetchval(
            "SELECT count(*) = 0 FROM case_history WHERE published_at IS NULL"
        )
    )
    before = await snapshot(pipeline.pool)

    from_kafka = await recode(
        pool=pipeline.pool, taxonomy=changed, window=Window(), kafka=kafka_replay
    )
    from_database = await recode(pool=pipeline.pool, taxonomy=changed, window=Window())

    for again in (from_kafka, from_database):
        assert (again.responses_seen, again.responses_changed) == (5, 0)
        assert not again.codes_added and not again.cases_recoded
    after = await snapshot(pipeline.pool)
    assert after.pop("runs") == [*before.pop("runs"), (from_kafka.run_id,), (from_database.run_id,)]
    assert after == before


async def test_dry_run_reports_what_a_run_would_change_and_writes_nothing(
    pipeline: Pipeline, changed: Taxonomy, kafka_replay: KafkaReplay
) -> None:
    await seed(pipeline)
    before = await snapshot(pipeline.pool)

    dry = await recode(
        pool=pipeline.pool, taxonomy=changed, window=Window(), kafka=kafka_replay, dry_run=True
    )

    assert await snapshot(pipeline.pool) == before
    assert dry.run_id is None and "dry run: nothing written" in dry.render()
    real = await recode(pool=pipeline.pool, taxonomy=changed, window=Window(), kafka=kafka_replay)
    assert real.responses_changed == 4
    comparable = ("run_id", "dry_run")
    assert {k: v for k, v in dry.as_json().items() if k not in comparable} == {
        k: v for k, v in real.as_json().items() if k not in comparable
    }


async def consumer_groups(kafka_bootstrap: str, topic: str) -> dict[str, dict[int, int]]:
    """Every consumer group on the broker, with what it has committed on ``topic``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        groups = sorted(found[0] for found in await admin.list_consumer_groups())
        return {
            group: {
                tp.partition: meta.offset
                for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
                if tp.topic == topic
            }
            for group in groups
        }
    finally:
        await admin.close()


async def committed_to_the_end(kafka_bootstrap: str, group: str, topic: str) -> bool:
    """Whether ``group`` committed every partition that holds records up to its end
    (``support.group_caught_up`` also wants the empty partitions committed, which they never are
    with one response)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=None)
    await admin.start()
    await reader.start()
    try:
        described = await admin.describe_topics([topic])
        partitions = [
            TopicPartition(topic, p["partition"])
            for found in described
            if found["topic"] == topic
            for p in found["partitions"]
        ]
        ends = await reader.end_offsets(partitions)
    finally:
        await reader.stop()
        await admin.close()
    committed = (await consumer_groups(kafka_bootstrap, topic)).get(group, {})
    return any(ends.values()) and all(
        committed.get(tp.partition, 0) >= end for tp, end in ends.items()
    )


async def test_kafka_replay_recodes_the_merged_response_once_and_commits_nothing(
    pipeline: Pipeline,
    changed: Taxonomy,
    kafka_replay: KafkaReplay,
    kafka_bootstrap: str,
    topics: KafkaTopics,
    unique: str,
) -> None:
    first = pipeline.sample(nps=3)
    await post_and_wait(pipeline, [first])
    later = {**first, "comment": PARKING_COMMENT}  # a second delivery bringing the comment
    assert (await pipeline.post(later)).status_code == 202
    assert await eventually(
        lambda: pipeline.pool.fetchval("SELECT revision = 2 FROM survey_responses")
    )
    broken = {**pipeline.sample(nps=3), "scores": [{"kind": "nps", "value": 42}]}
    assert (await pipeline.post(broken)).status_code == 202  # authentic, so a dead letter
    assert await eventually(lambda: pipeline.pool.fetchval("SELECT count(*) FROM dead_letters"))
    group = f"router-{unique}"
    assert await eventually(
        lambda: committed_to_the_end(kafka_bootstrap, group, topics.survey_responses)
    )
    groups_before = await consumer_groups(kafka_bootstrap, topics.survey_responses)
    assert groups_before[group]  # the router has committed; other tests' groups are listed too

    summary = await recode(
        pool=pipeline.pool, taxonomy=changed, window=Window(), kafka=kafka_replay
    )

    assert (summary.replay.records_read, summary.replay.not_normalised) == (3, 1)
    assert summary.responses_seen == 1
    codes = await pipeline.pool.fetchval("SELECT codes FROM survey_responses")
    # The stored merge was re-coded: the code quotes the comment only the second record had.
    assert [(c["code"], c["evidence"]) for c in codes] == [("parking", PARKING_COMMENT)]
    assert [
        tuple(row)
        for row in await pipeline.pool.fetch("SELECT seq, kind FROM case_history ORDER BY seq")
    ] == [(1, "opened"), (2, "revised"), (3, "recoded")]
    # No group joined, nothing committed: the router's position is as it was. The broker is
    # shared with the other tests' workers, so groups they created meanwhile may be listed: a
    # new group is allowed only if it is not this test's and holds nothing on its topic.
    groups_after = await consumer_groups(kafka_bootstrap, topics.survey_responses)
    assert {g: groups_after.get(g) for g in groups_before} == groups_before
    others_new = {g: offsets for g, offsets in groups_after.items() if g not in groups_before}
    assert not [g for g, offsets in others_new.items() if unique in g or offsets]


async def test_kafka_replay_keeps_to_its_time_window_and_source(
    pipeline: Pipeline, changed: Taxonomy, kafka_replay: KafkaReplay
) -> None:
    earlier = pipeline.sample(nps=9, comment=PARKING_COMMENT)
    await post_and_wait(pipeline, [earlier])
    boundary = datetime.now(UTC)
    later = pipeline.sample(nps=9, comment=PARKING_COMMENT)
    await post_and_wait(pipeline, [later])

    other_source = await recode(
        pool=pipeline.pool, taxonomy=changed, window=Window(source="elsewhere"), kafka=kafka_replay
    )
    before = await recode(
        pool=pipeline.pool,
        taxonomy=changed,
        window=Window(until=boundary),
        kafka=kafka_replay,
        dry_run=True,
    )
    after = await recode(
        pool=pipeline.pool, taxonomy=changed, window=Window(since=boundary), kafka=kafka_replay
    )

    assert (other_source.responses_seen, other_source.replay.outside_filter) == (0, 2)
    assert (before.responses_seen, before.responses_changed) == (1, 1)
    assert (after.replay.records_total, after.responses_seen, after.responses_changed) == (1, 1, 1)
    assert await codes_of(pipeline.pool, earlier) == ["unclassified"]
    assert await codes_of(pipeline.pool, later) == ["parking"]


async def test_a_run_that_fails_is_recorded_as_failed(
    schema_url: str, kafka_bootstrap: str, unique: str
) -> None:
    pool = await create_pool(schema_url, min_size=1, max_size=2)
    api = VendorApiClient()
    try:
        async with pool.acquire() as conn:
            await apply_migrations(conn)
        replay = KafkaReplay(
            bootstrap_servers=kafka_bootstrap,
            topic=f"no-such-topic-{unique}",
            sources={},
            context=AdapterContext(api=api),
        )
        with pytest.raises(ValueError, match="does not exist"):
            await recode(pool=pool, taxonomy=load_taxonomy(), window=Window(), kafka=replay)
        run = await pool.fetchrow("SELECT status, finished_at, summary FROM recode_runs")
    finally:
        await api.aclose()
        await pool.close()
    assert run is not None and run["status"] == "failed" and run["finished_at"] is not None
    assert "does not exist" in run["summary"]["error"]
