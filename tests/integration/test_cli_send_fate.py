"""``winback send`` as a user runs it, against a real ingest and router (Kafka, PostgreSQL): after
the 202 it says what became of the delivery: the case it opened, a response stored without one,
or the dead letter a body that cannot be normalised became."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

from tests.support import Pipeline
from winback_local.stack_info import STATE_FILE, StackInfo
from winback_shared.agents import Role, issue_token

WINBACK = Path(sys.executable).with_name("winback")
"""The console script the workspace installs, as the README runs it."""


async def winback_send(
    state_dir: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run ``winback send ARGS`` against the stack described in ``state_dir``."""
    process = await asyncio.create_subprocess_exec(
        str(WINBACK),
        "send",
        *args,
        "--state-dir",
        str(state_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode())
    return subprocess.CompletedProcess(args, process.returncode or 0, out.decode(), err.decode())


async def test_send_reports_the_case_the_stored_response_and_the_dead_letter(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    async with pipeline.pool.acquire() as conn:
        # The demo agent `winback run` saves is a supervisor: the fate route is theirs.
        _, token = await issue_token(conn, name="demo-agent", role=Role.SUPERVISOR)
    info = StackInfo(
        ingest_url=pipeline.ingest_url,
        notifier_url=pipeline.notifier_url,
        router_url=pipeline.router_url,
        source=pipeline.source,
        secret=pipeline.secret,
        agent_token=token,
        kafka_bootstrap_servers="unused",
        database_url="unused",
    )
    (tmp_path / STATE_FILE.name).write_text(json.dumps(dataclasses.asdict(info)))

    detractor = await winback_send(
        tmp_path, "--nps", "2", "--reason", "agent lacked product knowledge", "--wait", "60"
    )
    assert detractor.returncode == 0, detractor
    case_id = await pipeline.pool.fetchval(
        "SELECT c.case_id FROM case_keys c JOIN response_keys k"
        " ON k.survey_response_id = c.survey_response_id WHERE k.source = $1",
        pipeline.source,
    )
    assert case_id is not None
    assert f"case {case_id} opened (reasons " in detractor.stdout, detractor.stdout

    promoter = await winback_send(tmp_path, "--nps", "10", "--wait", "60")
    assert promoter.returncode == 0, promoter
    assert "stored, no case needed (score nps 10)" in promoter.stdout, promoter.stdout

    stray = await winback_send(tmp_path, "--file", "-", "--wait", "60", stdin='{"hello":"world"}')
    assert stray.returncode == 1, "a dead letter is a failed delivery"
    receipt = json.loads(stray.stdout.splitlines()[0].removeprefix("202 "))["receipt_id"]
    letter = await pipeline.pool.fetchrow(
        "SELECT id, error FROM dead_letters WHERE receipt_id = $1", receipt
    )
    assert letter is not None
    assert f"dead letter {letter['id']}: {letter['error']}" in stray.stdout, stray.stdout

    quick = await winback_send(tmp_path, "--nps", "10", "--no-wait")
    assert quick.returncode == 0, quick
    assert quick.stdout.startswith("202 ") and len(quick.stdout.splitlines()) == 1
