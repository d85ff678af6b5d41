"""The load harness end to end, in its short form: it must keep working (no timing asserted).

It runs ``python -m winback_local.bench --short`` exactly as a person would, against this test
run's Kafka and PostgreSQL with its own topics, schema and consumer group, so the services it
starts as processes see nothing of other tests.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys

import pytest

from winback_shared.settings import KafkaTopics

RATES = ("20", "40")


@pytest.mark.timeout(300)
async def test_short_run_prints_calibration_tables_and_receives_every_alert(
    kafka_bootstrap: str, schema_url: str, topics: KafkaTopics, unique: str
) -> None:
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
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "winback_local.bench",
        "--short",
        "--rates",
        ",".join(RATES),
        "--duration",
        "2",
        "--consoles",
        "1,3",
        "--console-alerts",
        "5",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=280)
    stdout, stderr = out.decode(), err.decode()
    assert process.returncode == 0, f"exit {process.returncode}\n{stdout}\n{stderr[-4000:]}"

    lines = stdout.splitlines()
    assert lines[0].startswith(
        "calibration: offered 80/s open loop to a bare uvicorn endpoint (plain ASGI)"
    )
    assert "| offered | achieved (202/s) | alerts/s | ingest ack p50 / p90 / p99 ms" in stdout
    for rate in RATES:
        count = int(rate) * 2
        row = re.search(rf"^\| {rate}/s \|.*\| {count} / {count} \|", stdout, re.MULTILINE)
        assert row, f"no row with every alert received for {rate}/s:\n{stdout}"
    for reading in (1, 3):
        assert re.search(rf"^\| {reading} \|.*\| {reading * 5} / {reading * 5} \|", stdout, re.M)
    assert "| HTTP: bare FastAPI endpoint" in stdout and "| Kafka: aiokafka" in stdout
    assert lines[-1] == "verdict: every alert received"
