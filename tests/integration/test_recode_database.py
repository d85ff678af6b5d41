"""Re-coding from PostgreSQL alone, the blind-spot report, and the command line, on a real
database (no Kafka: this is the path for responses past Kafka's retention)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from tests.recode_support import (
    PARKING_COMMENT,
    store_coded,
    survey_response,
    write_changed_taxonomy,
)
from tests.role_support import ROUTER, as_role
from winback_router.recoding.blind_spots import blind_spots
from winback_router.recoding.flow import recode
from winback_router.recoding.replay import Window
from winback_shared.taxonomy import load_taxonomy

DEFAULT = load_taxonomy()
NOV = [datetime(2026, 11, day, 9, 0, tzinfo=UTC) for day in range(1, 6)]


async def test_database_replay_keeps_to_its_window_and_source(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    changed = load_taxonomy(write_changed_taxonomy(tmp_path))
    async with pool.acquire() as conn:
        rows = {
            (source, day): await store_coded(
                conn,
                survey_response(
                    nps=9, comment=PARKING_COMMENT, source=source, received_at=NOV[day]
                ),
                DEFAULT,
            )
            for source in ("web", "app")
            for day in (0, 2, 4)
        }

    summary = await recode(
        pool=pool,
        taxonomy=changed,
        window=Window(since=NOV[2], until=NOV[4], source="web"),
    )

    assert (summary.replay.records_total, summary.responses_seen) == (1, 1)
    recoded = await pool.fetch("SELECT survey_response_id FROM recode_changes")
    assert [row["survey_response_id"] for row in recoded] == [rows[("web", 2)]]
    run = await pool.fetchrow("SELECT * FROM recode_runs")
    assert run is not None
    assert (run["window_since"], run["window_until"], run["source_filter"]) == (
        NOV[2],
        NOV[4],
        "web",
    )


async def test_blind_spots_count_unclassified_per_source_without_contact_data(
    pool: asyncpg.Pool,
) -> None:
    private = {"name": "Ana Privada", "email": "ana@private.example", "phone": "+34 600 111 222"}
    stored = [
        ("web", 3, ["Parking"], None),
        ("web", 4, ["Parking"], "n/a"),
        ("web", 2, [], "Call me back on 0161 496 0000, the parking was a joke"),
        ("web", 2, ["Billing error"], None),
        ("app", 5, [], "The font in the app is tiny"),
        ("app", 9, [], "Thanks, all good"),
    ]
    async with pool.acquire() as conn:
        for day, (source, nps, reasons, comment) in enumerate(stored):
            response = survey_response(
                nps=nps,
                reasons=reasons,
                comment=comment,
                source=source,
                received_at=NOV[day % 4],
                customer=private,
            )
            await store_coded(conn, response, DEFAULT)
        report = await blind_spots(conn)
        since_nov_3 = await blind_spots(conn, since=NOV[2], source="web")
        in_cases = await blind_spots(conn, cases_only=True)

    counts = {
        c.source: (c.responses, c.unclassified, c.unmatched_answers, c.in_cases)
        for c in report.by_source
    }
    assert counts == {"web": (4, 3, 2, 3), "app": (2, 2, 0, 1)}
    assert report.top_answers == [("Parking", 2)]
    assert [(item["source"], item["where"], item["text"]) for item in report.recent] == [
        ("web", "comment", "Call me back on [phone], the parking was a joke"),
        ("app", "comment", "Thanks, all good"),
        ("web", "answer", "Parking"),
        ("app", "comment", "The font in the app is tiny"),
        ("web", "answer", "Parking"),
    ]
    assert [(c.source, c.unclassified) for c in in_cases.by_source] == [("web", 3), ("app", 1)]
    assert "Thanks, all good" not in [item["text"] for item in in_cases.recent]
    rendered = json.dumps(report.as_json()) + report.render()
    assert not any(value in rendered for value in ["Ana Privada", "private.example", "600 111"])
    assert [(c.source, c.unclassified) for c in since_nov_3.by_source] == [("web", 1)]
    assert len(since_nov_3.recent) == 1


CLI_SECONDS = 60
"""One run of the CLI at most; each imports the router, seconds on a busy CI machine."""


def recode_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI as an operator would, as the router's role (PostgreSQL only: Kafka is never
    contacted)."""
    env = {
        **os.environ,
        "DATABASE_URL": as_role(database_url, ROUTER),
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    }
    return subprocess.run(
        [sys.executable, "-m", "winback_router.recoding", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_SECONDS,
        check=False,
    )


@pytest.mark.timeout(6 * CLI_SECONDS)  # six CLI runs, one after the other: up to 105 s in CI
async def test_command_line_shows_progress_a_summary_and_the_run_history(
    pool: asyncpg.Pool, schema_url: str, tmp_path: Path
) -> None:
    taxonomy = str(write_changed_taxonomy(tmp_path))
    async with pool.acquire() as conn:
        for comment in (PARKING_COMMENT, PARKING_COMMENT, "Thanks, all good"):
            await store_coded(conn, survey_response(nps=9, comment=comment), DEFAULT)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return recode_cli(schema_url, *args)

    # The changed taxonomy has other codes than the learned model: rules alone.
    dry = await asyncio.to_thread(
        cli, "--from-database", "--taxonomy", taxonomy, "--no-model", "--dry-run"
    )
    real = await asyncio.to_thread(
        cli, "run", "--from-database", "--taxonomy", taxonomy, "--no-model"
    )
    again = await asyncio.to_thread(
        cli, "--from-database", "--taxonomy", taxonomy, "--no-model", "--json"
    )
    runs = await asyncio.to_thread(cli, "runs")
    show = await asyncio.to_thread(cli, "show", "1")
    spots = await asyncio.to_thread(cli, "blind-spots", "--json")

    for done in (dry, real, again, runs, show, spots):
        assert done.returncode == 0, done
    assert "recode: 3/3 responses read, 3 responses seen, 2 would change" in dry.stderr
    assert "responses would change: 2 (2 with codes added or removed" in dry.stdout
    assert "recode: 3/3 responses read, 3 responses seen, 2 changed" in real.stderr
    assert "re-coded from database (run 1)" in real.stdout
    assert "responses changed: 2 (2 with codes added or removed" in real.stdout
    assert "  parking                            2        0" in real.stdout
    assert "  unclassified                       0        2" in real.stdout
    assert "responses without a case that would now need recovery (no case opened): 2" in (
        real.stdout
    )
    assert json.loads(again.stdout)["responses_changed"] == 0
    rows = [line.split() for line in runs.stdout.splitlines()[1:]]
    assert [(r[0], r[3], r[4], r[6], r[7]) for r in rows] == [
        ("2", "finished", "database", "3", "0"),
        ("1", "finished", "database", "3", "2"),
    ]
    assert show.stdout.count("+parking  -unclassified  no case") == 2
    assert json.loads(spots.stdout)["by_source"] == [
        {
            "source": "survey",
            "responses": 3,
            "unclassified": 1,  # "Thanks, all good": content, but no complaint
            "unmatched_answers": 0,
            "in_cases": 0,
            "share": 0.3333,
        }
    ]


@pytest.mark.parametrize(
    ("broken_code", "where"),
    [
        ('id = "Not An Id"\nlabel = "x"', "codes[0] (Not An Id).id"),
        ('id = "a_code"\nlabel = "x"\nkeywords = ["... hold"]', "codes[0] (a_code).keywords[0]"),
    ],
    ids=["bad-id", "keyword-that-does-not-compile"],
)
async def test_an_invalid_taxonomy_stops_the_run_before_anything_is_read(
    schema_url: str, tmp_path: Path, broken_code: str, where: str
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(f"[[codes]]\n{broken_code}\n")
    done = await asyncio.to_thread(
        recode_cli, schema_url, "--from-database", "--taxonomy", str(broken)
    )
    assert done.returncode == 2
    assert "invalid taxonomy" in done.stderr and where in done.stderr
