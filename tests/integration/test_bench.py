"""The load harness end to end, in its short form: it must keep working (no timing asserted).

It runs ``python -m winback_local.bench --short`` exactly as a person would, against this test
run's Kafka and PostgreSQL with its own topics, schema and consumer group, so the services it
starts as processes see nothing of other tests.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import asyncpg
import pytest

from tests.support import read_topic
from winback_shared.settings import KafkaTopics

RATES = ("20", "40")
BENCH_SECONDS = 600
"""How long the bench may run before the test calls it hung; not a speed check. On the two shared
cores at load 16 one run took about six and a half minutes from the test's start (the bench's own
waits are bounded: each step's run, each consoles step's refiner wait), and 280 s failed it
with a TimeoutError."""


@pytest.mark.timeout(BENCH_SECONDS + 60)
async def test_short_run_on_two_routers_prints_every_table_and_doubles_nothing(
    kafka_bootstrap: str, schema_url: str, topics: KafkaTopics, unique: str
) -> None:
    """``--short --routers 2``: the calibration, sweep, consoles and baseline tables, every
    alert received; two router processes in one group split ``survey-responses``'s partitions,
    and nothing is doubled (one case per response, one ``case.opened`` per case on the alerts
    topic).

    One run checks both: the bench's steps are the same for any number of routers (a second
    router adds its CPU column and the split note), so a one-router run of its own would only
    repeat them (README "Tests").
    """
    assert shutil.which("go"), (
        "Go 1.26+ (the `go` command) is part of this project's machine kind: the load harness "
        "builds its generator (deploy/loadgen) with it. Install Go; this test must not skip."
    )
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "DATABASE_URL": schema_url,
        "WINBACK_ROUTER_GROUP": f"router-{unique}",
        **{f"WINBACK_TOPIC_{field.upper()}": name for field, name in topics.model_dump().items()},
    }
    argv = ["--short", "--routers", "2", "--rates", ",".join(RATES), "--duration", "2"]
    argv += ["--warmup", "1"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "winback_local.bench",
        *argv,
        "--consoles",
        "1,3",
        "--console-alerts",
        "5",
        "--keep",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=BENCH_SECONDS)
    except TimeoutError:
        # On SIGTERM the bench stops the stack it started; left running, it went on for minutes.
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=45)
        raise
    stdout, stderr = out.decode(), err.decode()
    assert process.returncode == 0, f"exit {process.returncode}\n{stdout}\n{stderr[-4000:]}"

    lines = stdout.splitlines()
    assert lines[0].startswith(
        "calibration: offered 80/s open loop to a bare uvicorn endpoint (plain ASGI)"
    )
    assert "| offered | achieved (202/s) | alerts/s | ingest ack p50 / p90 / p99 ms" in stdout
    assert "| offered | ingest | router | router-2 | notifier |" in stdout
    for rate in RATES:
        count = int(rate) * 2
        row = re.search(rf"^\| {rate}/s \|.*\| {count} / {count} \|", stdout, re.MULTILINE)
        assert row, f"no row with every alert received for {rate}/s:\n{stdout}"
    for reading in (1, 3):
        assert re.search(rf"^\| {reading} \|.*\| {reading * 5} / {reading * 5} \|", stdout, re.M)
    # The alerts began after every snapshot was read and a pause (section 18) ...
    quiet = re.findall(r"\| (\d+\.\d) s · [\d,]+ ms · \d+ / \d+ \|", stdout)
    assert len(quiet) == 3 and all(float(after) >= 0.9 for after in quiet), stdout
    # Before each consoles step the harness waited for the refiner, reading its backlog from
    # the database (section 25), and each row counts the frames its consoles read beside the
    # alerts (no figure asserted: a loaded machine may run out of the wait, which is noted).
    settled = re.findall(
        r"\| (nothing pending|[\d,]+ to refine · [\d,]+ unsent: settled in [\d.]+ s"
        r"|NOT SETTLED after \d+ s: [\d,]+ to refine · [\d,]+ unsent left) "
        r"\| [\d,]+ / [\d,]+(?: \([^)]*\))? \|$",
        stdout,
        re.M,
    )
    assert len(settled) == 3, stdout
    # ... and the bare fan-out's consoles read a snapshot as large as the notifier's.
    sizes = _snapshot_sizes(Path(re.findall(r"records and logs kept in (\S+)", stderr)[-1]))
    assert sizes["consoles-3-bare"] == {max(sizes["consoles-3"])}, sizes
    assert min(sizes["consoles-3"]) > 100, sizes  # the demo's cases: more than an empty board
    assert "| HTTP: bare FastAPI endpoint" in stdout and "| Kafka: aiokafka" in stdout
    split = re.search(
        r"records processed per router over the run: router ([\d,]+), router-2 ([\d,]+)", stdout
    )
    assert split, stdout
    assert all(int(n.replace(",", "")) > 0 for n in split.groups()), split.group(0)
    assert f"note: warm-up: {min(RATES, key=int)}/s for 1 s just before the sweep" in stdout
    assert lines[-1] == "verdict: every alert received"

    conn = await asyncpg.connect(schema_url)
    try:
        cases = await conn.fetch("SELECT id, survey_response_id FROM recovery_cases")
        needing = await conn.fetchval("SELECT count(*) FROM survey_responses WHERE needs_recovery")
        doubled = await conn.fetchval(
            "SELECT count(*) - count(DISTINCT (source, response_id)) FROM survey_responses"
        )
    finally:
        await conn.close()
    # The sweep's detractors and the consoles' at least (the closed-loop promoters carry the
    # bench's complaint too, so some of them need a case as well).
    assert len(cases) >= 5 + sum(int(rate) * 2 for rate in RATES)
    assert doubled == 0
    assert len({case["survey_response_id"] for case in cases}) == len(cases) == needing
    opened = Counter(
        event["case"]["case_id"]
        for event in map(json.loads, await read_topic(kafka_bootstrap, topics.recovery_alerts))
        if event["type"] == "case.opened"
    )
    assert opened == Counter({case["id"]: 1 for case in cases})


def _snapshot_sizes(kept: Path) -> dict[str, set[int]]:
    """The sizes of the snapshots each consoles step's consoles read (its ``signin.csv``), by
    step; the kept records are removed."""
    sizes: dict[str, set[int]] = {}
    try:
        for step in kept.glob("*-consoles-*"):
            with (step / "signin.csv").open() as rows:
                sizes[step.name.split("-", 1)[1]] = {
                    int(row["snapshot_bytes"]) for row in csv.DictReader(rows)
                }
    finally:
        shutil.rmtree(kept, ignore_errors=True)
    return sizes
