"""The load harness's arithmetic, its records, its report and its generator build (no I/O
beyond temporary files: the end-to-end run is ``tests/integration/test_bench.py``)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from winback_ingest.vendors.standard_webhooks import sign
from winback_local.bench import cli, loadgen, probes, report, stats
from winback_local.bench.deliveries import write_signed
from winback_local.bench.experiments import Calibration, ConsolesResult, SweepRow
from winback_local.bench.loadgen import BenchError, Consoles, Plan
from winback_local.bench.probes import Usage
from winback_local.bench.stats import Ack, Arrival
from winback_local.signing import new_secret
from winback_shared.sources import decode_standard_webhooks_secret


def ack(index: int, scheduled_ms: int, done_ms: int, status: int = 202) -> Ack:
    return Ack(index, scheduled_ms * 1000, scheduled_ms * 1000, done_ms * 1000, status)


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    p = stats.percentiles_ms(us * 1000 for us in range(1, 101))
    assert (p.p50, p.p90, p.p99, p.count) == (50, 90, 99, 100)
    assert math.isnan(stats.percentiles_ms([]).p99)
    assert stats.percentiles_ms([]).text() == "- / - / -"


def test_latency_counts_from_the_scheduled_time_not_the_actual_send() -> None:
    # Sent 40 ms late (the generator fell behind): the 40 ms are latency, not hidden.
    late = Ack(0, scheduled_us=0, started_us=40_000, done_us=50_000, status=202)
    assert stats.ack_latencies([late]).p50 == 50
    assert stats.send_slip([late]).p50 == 40


def test_only_accepted_requests_count_and_the_rest_are_failures() -> None:
    acks = [ack(0, 0, 5), ack(1, 10, 15, status=503), Ack(2, 20_000, -1, -1, 0, "timeout")]
    assert [a.index for a in stats.accepted(acks)] == [0]
    assert stats.failures(acks) == {"503": 1, "timeout": 1}


def test_rates_are_steady_state_between_first_and_last_event() -> None:
    acks = [ack(i, i * 10, i * 10 + 3) for i in range(101)]  # every 10 ms for one second
    assert stats.completion_rate(acks) == pytest.approx(100)
    arrivals = [Arrival(0, i, i * 20_000) for i in range(51)]
    assert stats.alert_rate(arrivals) == pytest.approx(50)
    assert stats.completion_rate([ack(0, 0, 1)]) == 0


def test_popup_latency_uses_the_first_console_and_drain_the_last_alert() -> None:
    acks = [ack(0, 0, 2), ack(1, 100, 102)]
    arrivals = [Arrival(0, 0, 30_000), Arrival(1, 0, 20_000), Arrival(0, 1, 400_000)]
    popup = stats.popup_latencies(acks, arrivals)
    assert (popup.p50, popup.p99, popup.count) == (20, 300, 2)
    assert stats.drain_seconds(acks, arrivals) == pytest.approx(0.3)
    assert math.isnan(stats.drain_seconds(acks, []))


def test_fanout_measures_one_alert_to_every_reading_console() -> None:
    acks = [ack(0, 0, 1), ack(1, 100, 101)]
    arrivals = [
        Arrival(0, 0, 10_000),
        Arrival(1, 0, 50_000),
        Arrival(0, 1, 110_000),
        Arrival(2, 0, 900_000),  # the console that stops reading: not among those measured
    ]
    fan = stats.fanout(acks, arrivals, consoles=[0, 1])
    # Alert 1 never reached console 1: it is not complete, so it has no "to all" time.
    assert (fan.to_all.count, fan.to_all.p99) == (1, 50)
    assert (fan.each.count, fan.delivered, fan.expected) == (3, 3, 4)


def test_signed_requests_are_unique_detractors_verifiable_with_the_secret(tmp_path: Path) -> None:
    secret = new_secret()
    ids = write_signed(tmp_path / "r.jsonl", secret, 5)
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert len(set(ids)) == 5 and [line["id"] for line in lines] == ids
    for line in lines:
        body = line["body"].encode()
        headers = line["headers"]
        assert 900 < len(body) < 1200  # about 1 KB, as vendors send
        assert json.loads(body)["scores"] == [{"kind": "nps", "value": 2}]
        expected = sign(
            decode_standard_webhooks_secret(secret),
            headers["webhook-id"],
            int(headers["webhook-timestamp"]),
            body,
        )
        assert headers["webhook-signature"] == expected


def test_plan_command_line_names_consoles_only_when_there_are_some(tmp_path: Path) -> None:
    plan = Plan(requests=tmp_path / "r", url="http://127.0.0.1:1/w", out=tmp_path, rate=250)
    argv = plan.argv(Path("/bin/loadgen"))
    assert "-rate=250" in argv and not any(a.startswith("-ws=") for a in argv)
    consoles = Consoles("ws://127.0.0.1:2/ws", "tok", reading=3, slow=1)
    argv = Plan(requests=tmp_path / "r", url="u", out=tmp_path, consoles=consoles).argv(
        Path("/bin/loadgen")
    )
    assert {"-ws=ws://127.0.0.1:2/ws", "-token=tok", "-consoles=3", "-slow=1"} <= set(argv)
    assert not any(a.startswith("-tokens-file=") for a in argv)
    agents = Consoles("ws://h/ws", "tok", reading=3, tokens_file=tmp_path / "tokens.txt")
    argv = Plan(requests=tmp_path / "r", url="u", out=tmp_path, consoles=agents).argv(
        Path("/bin/loadgen")
    )
    assert f"-tokens-file={tmp_path / 'tokens.txt'}" in argv


def test_records_are_read_back_from_the_generators_files(tmp_path: Path) -> None:
    (tmp_path / "acks.csv").write_text(
        "index,scheduled_us,started_us,done_us,status,error\n0,0,5,900,202,\n1,4000,4001,-1,0,eof\n"
    )
    (tmp_path / "alerts.csv").write_text("console,index,arrival_us\n0,0,30000\n")
    (tmp_path / "summary.json").write_text(json.dumps({"slow": [{"closed": "still open"}]}))
    records = loadgen.read_records(tmp_path)
    assert records.acks == [Ack(0, 0, 5, 900, 202), Ack(1, 4000, 4001, -1, 0, "eof")]
    assert records.arrivals == [Arrival(0, 0, 30000)]
    assert records.summary["slow"] == [{"closed": "still open"}]


def test_the_build_is_cached_by_source_hash(tmp_path: Path) -> None:
    for name in ("main.go", "go.mod", "go.sum"):
        (tmp_path / name).write_text(name)
    before = loadgen.source_hash(tmp_path)
    assert loadgen.source_hash(tmp_path) == before
    (tmp_path / "main.go").write_text("package main // changed")
    assert loadgen.source_hash(tmp_path) != before


def test_without_go_the_harness_says_so_instead_of_measuring_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _: None)
    with pytest.raises(BenchError, match=r"needs Go 1\.26\+"):
        loadgen.build()


def test_the_shipped_sources_are_hashed() -> None:
    assert (loadgen.LOADGEN_DIR / "go.sum").exists()
    assert len(loadgen.source_hash()) == 16


def _calibration(achieved: float) -> Calibration:
    p = stats.percentiles_ms([1000, 2000])
    return Calibration(4000, achieved, p, p, {}, required=4000)


def test_calibration_passes_only_near_twice_the_highest_rate() -> None:
    assert _calibration(3990).ok
    assert not _calibration(3000).ok
    assert "NOT REACHED" in report.calibration_line(_calibration(3000), 2000)
    assert report.calibration_line(_calibration(3990), 2000).startswith("calibration: offered")


def test_report_states_the_machine_first_and_the_verdict_last() -> None:
    p = stats.percentiles_ms([1000, 2000, 3000])
    row = SweepRow(
        offered=250,
        sent=10,
        achieved=250,
        alert_rate=240,
        ack=p,
        popup=p,
        alerts=10,
        expected=10,
        peak_lag=12,
        drain_seconds=0.2,
        failures={},
        slow=[{"closed": "closed by the notifier: 1013", "frames_left": 3}],
        usage={"router": Usage(cpu_percent=55, peak_rss_mb=90)},
    )
    fan = stats.fanout([ack(0, 0, 1)], [Arrival(0, 0, 5000)], [0])
    result = report.Result(
        machine="machine: test",
        calibration=_calibration(3990),
        bare_rate=1000,
        ingest_rate=300,
        kafka_rate=2400,
        postgres_rate=4800,
        consoles=[ConsolesResult(1, 2, 0.5, fan, [], [])],
        sweep=[row],
    )
    text = report.render(result)
    lines = text.splitlines()
    assert lines[0] == "machine: test"
    assert "| 250/s | 250/s | 240/s | 2.0 / 3.0 / 3.0 | 2.0 / 3.0 / 3.0 | 10 / 10 | 12 |" in text
    assert "1013, 3 frames unread" in text
    assert "55% · 90 MB" in text
    assert "| 1,000/s | ingest 300/s | 0.30 |" in text
    assert "| 2,400/s | 240/s end to end | 0.10 |" in text
    assert lines[-1] == "verdict: every alert received"
    missing = report.Result(machine="m", calibration=_calibration(3990), sweep=[row])
    missing.sweep[0] = SweepRow(**{**row.__dict__, "alerts": 9})
    assert report.render(missing).splitlines()[-1] == "verdict: ALERTS MISSING or errors"


def _costed_row(offered: float, alerts: int, expected: int, seconds: float) -> SweepRow:
    p = stats.percentiles_ms([1000])
    usage = {
        "ingest": Usage(cpu_percent=20, peak_rss_mb=60),
        "router": Usage(cpu_percent=50, peak_rss_mb=130),
        "router-2": Usage(cpu_percent=30, peak_rss_mb=130),
        "notifier": Usage(cpu_percent=10, peak_rss_mb=140),
        "kafka": Usage(cpu_percent=20, peak_rss_mb=400),
        "postgres": Usage(cpu_percent=40, peak_rss_mb=700),
        "refiner": Usage(cpu_percent=60, peak_rss_mb=146),
        "loadgen": Usage(cpu_percent=15, peak_rss_mb=40),
    }
    return SweepRow(
        offered=offered,
        sent=expected,
        achieved=offered,
        alert_rate=offered,
        ack=p,
        popup=p,
        alerts=alerts,
        expected=expected,
        peak_lag=0,
        drain_seconds=0.1,
        failures={},
        usage=usage,
        seconds=seconds,
    )


def test_the_cpu_a_response_adds_up_the_pipeline_and_the_rate_it_would_fill_the_cores_at() -> None:
    """10 s of a step that alerted 4,000 responses: a process at 50 % of a core spent 5 s, 1.25
    ms a response. The pipeline is ingest, both routers, the notifier, Kafka and PostgreSQL
    (170 % of a core: 4.25 ms a response), so two cores carry at most 2,000 / 4.25 = 471/s at
    that cost; the refiner and the generator are shown but not added."""
    complete = _costed_row(offered=400, alerts=4000, expected=4000, seconds=10)
    assert complete.cpu_ms_per_response("router") == pytest.approx(1.25)
    assert math.isnan(complete.cpu_ms_per_response("outbound"))

    header, rule, row = report.cost_table([complete], cores=2)

    assert header.split(" | ")[1:9] == [
        "ingest",
        "router",
        "router-2",
        "notifier",
        "kafka",
        "postgres",
        "pipeline",
        "the rate that would fill its 2 cores",
    ]
    assert header.endswith("| refiner | loadgen |")
    assert rule.count("---") == 11
    assert row == "| 400/s | 0.50 | 1.25 | 0.75 | 0.25 | 0.50 | 1.00 | 4.25 | 471/s | 1.50 | 0.38 |"


def test_a_step_whose_alerts_did_not_all_arrive_gives_bounds_not_costs() -> None:
    """Responses still queued when the step ended were partly worked on inside it: the CPU ÷
    the alerts delivered over-counts, so it is marked an upper bound and the rate a lower one."""
    short = _costed_row(offered=2000, alerts=2000, expected=4000, seconds=10)
    nothing = _costed_row(offered=2000, alerts=0, expected=4000, seconds=10)

    row = report.cost_table([short], cores=2)[2]
    empty = report.cost_table([nothing], cores=None)[2]

    assert not short.complete
    assert row.startswith("| 2,000/s | ≤ 1.00 | ≤ 2.50 | ≤ 1.50 |")
    assert "| ≤ 8.50 | ≥ 235/s |" in row
    assert empty == "| 2,000/s | - | - | - | - | - | - | - | - | - | - |"


def test_the_report_prints_the_cpu_a_response_after_the_cpu_table() -> None:
    row = _costed_row(offered=400, alerts=4000, expected=4000, seconds=10)
    result = report.Result(machine="m", calibration=_calibration(3990), sweep=[row], cores=2)

    lines = report.render(result).splitlines()

    title = next(i for i, line in enumerate(lines) if line.startswith("CPU a response"))
    assert lines.index("CPU (100% = one core) · peak RSS:") < title
    assert lines[title + 4].startswith("| 400/s | 0.50 | 1.25 |")


def test_the_consoles_table_shows_the_cpu_each_side_of_the_socket_spent() -> None:
    """The generator's consoles are measured beside the notifier, to tell which was the limit."""
    fan = stats.fanout([ack(0, 0, 1)], [Arrival(0, 0, 5000)], [0])
    usage = {"notifier": Usage(cpu_percent=50, peak_rss_mb=80), "loadgen": Usage(10, 20)}
    measured = ConsolesResult(
        1000, 1001, 9.5, fan, [], [], usage=usage, seconds=4.0, board_reads=31, snapshots=1001
    )
    unmeasured = ConsolesResult(1, 2, 0.5, fan, [], [])

    table = report.consoles_table([measured, unmeasured])

    assert measured.cpu_seconds("notifier") == 2.0
    assert table[2].endswith("| 2.0 s (50%) · 0.4 s (10%) | 31 / 1,001 | - | - | - |")
    assert table[3].endswith("| - · - | - | - | - | - |")


def test_the_generator_profiles_itself_only_when_asked(tmp_path: Path) -> None:
    plan = Plan(requests=tmp_path / "r", url="u", out=tmp_path)
    assert not any(a.startswith("-cpuprofile") for a in plan.argv(Path("/bin/loadgen")))
    profiled = Plan(requests=tmp_path / "r", url="u", out=tmp_path, cpu_profile=tmp_path / "p")
    assert f"-cpuprofile={tmp_path / 'p'}" in profiled.argv(Path("/bin/loadgen"))
    assert cli.parse_args(["--profile-consoles"]).keep is True


def test_board_reads_come_from_the_notifier_s_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "# TYPE winback_notifier_board_reads_total counter\n"
        "winback_notifier_board_reads_total 3.0\n"
        "# TYPE winback_notifier_board_snapshots_total counter\n"
        "winback_notifier_board_snapshots_total 40.0\n"
    )
    monkeypatch.setattr(httpx, "get", lambda *_a, **_k: httpx.Response(200, text=text))
    assert probes.notifier_boards("http://127.0.0.1:1") == {"reads": 3.0, "snapshots": 40.0}

    monkeypatch.setattr(httpx, "get", lambda *_a, **_k: httpx.Response(200, text=""))
    assert all(math.isnan(v) for v in probes.notifier_boards("http://127.0.0.1:1").values())


def test_each_router_of_the_group_gets_its_own_cpu_column_in_instance_order() -> None:
    p = stats.percentiles_ms([1000])
    usage = {
        name: Usage(cpu_percent=cpu, peak_rss_mb=90)
        for name, cpu in (("router-10", 7), ("postgres", 30), ("router-2", 41), ("router", 52))
    }
    row = SweepRow(250, 10, 250, 240, p, p, 10, 10, 12, 0.2, {}, usage=usage)

    table = report.usage_table([row])

    assert table[0] == "| offered | router | router-2 | router-10 | postgres |"
    assert table[2] == "| 250/s | 52% · 90 MB | 41% · 90 MB | 7% · 90 MB | 30% · 90 MB |"


def _router_page(lags: dict[str, float], records: dict[str, float]) -> str:
    """A router's ``/metrics`` as prometheus_client renders it (the two families read)."""
    lines = ["# TYPE winback_router_consumer_lag gauge"]
    lines += [f'winback_router_consumer_lag{{partition="{p}"}} {v}' for p, v in lags.items()]
    lines += ["# TYPE winback_router_records_total counter"]
    lines += [f'winback_router_records_total{{outcome="{o}"}} {v}' for o, v in records.items()]
    return "\n".join(lines) + "\n"


def test_the_group_s_lag_and_records_are_summed_over_its_routers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pages = {
        "http://127.0.0.1:1/metrics": _router_page({"0": 5, "1": 2}, {"stored": 30}),
        "http://127.0.0.1:2/metrics": _router_page({"2": 4}, {"stored": 12, "skipped": 1}),
    }
    monkeypatch.setattr(httpx, "get", lambda url, **_k: httpx.Response(200, text=pages[url]))

    found = probes.routers_metrics(["http://127.0.0.1:1", "http://127.0.0.1:2"])

    assert found == {"lag": 11.0, "records": 43.0}


def test_routers_are_bounded_by_the_topic_s_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli.parse_args([]).routers == 1
    assert cli.parse_args(["--routers", "2"]).routers == 2
    monkeypatch.setenv("WINBACK_TOPIC_PARTITIONS", "2")
    with pytest.raises(SystemExit):
        cli.parse_args(["--routers", "3"])
    with pytest.raises(SystemExit):
        cli.parse_args(["--routers", "0"])


def test_the_refiner_note_gives_its_catch_up_and_the_seconds_it_yielded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The first two looks read the paused seconds and the refined count; the last the count.
    pending = iter([1200.0, 1200.0, 1200.0, 600.0, 0.0, 0.0])
    refined = iter([10.0, 10.0, 10.0, 10.0, 10.0, 1210.0])

    def metrics(*_a: object, **_k: object) -> httpx.Response:
        return httpx.Response(
            200,
            text="# TYPE winback_refiner_pending gauge\n"
            f"winback_refiner_pending {next(pending)}\n"
            "# TYPE winback_refiner_paused_seconds_total counter\n"
            "winback_refiner_paused_seconds_total 42.0\n"
            "winback_refiner_paused_seconds_created 1.7e9\n"
            "# TYPE winback_refiner_responses_total counter\n"
            f'winback_refiner_responses_total{{outcome="unchanged"}} {next(refined)}\n'
            'winback_refiner_responses_created{outcome="unchanged"} 1.7e9\n',
        )

    monkeypatch.setattr(httpx, "get", metrics)
    clock = [0.0]
    monkeypatch.setattr(
        "winback_local.bench.cli.time.sleep", lambda s: clock.__setitem__(0, clock[0] + s)
    )
    monkeypatch.setattr("winback_local.bench.cli.time.monotonic", lambda: clock[0])
    note = cli._refiner_drain("http://127.0.0.1:1", 30)
    assert note == (
        "refiner: 1,200 responses pending after the sweep (paused 42 s for the hot path until "
        "then), all refined 2 s later (600 refined a second)"
    )

    assert cli.parse_args(["--short"]).refiner_wait == 30
    assert cli.parse_args(["--refiner-wait", "400"]).refiner_wait == 400


class _StopAtFirstWait:
    """Stands in for the probe's stop event: records how long the loop would sleep, then stops."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return True

    def set(self) -> None:
        """Nothing to wake."""


def test_the_probe_reads_the_routers_at_most_once_a_second() -> None:
    # Four reads a second of the router's /metrics cost it 3.6-6.7 % of its ticks (section 16).
    probe = probes.Probe({}, ["http://127.0.0.1:9"])
    stop = _StopAtFirstWait()
    probe._stop = stop  # type: ignore[assignment]
    probe._run()
    assert stop.waits == [probes.PROBE_INTERVAL]
    assert probes.PROBE_INTERVAL >= 1.0


def test_a_process_cpu_counts_the_children_it_has_reaped() -> None:
    """PostgreSQL's backends exit under the postmaster: their CPU must stay in its figure."""
    before = probes.cpu_seconds(os.getpid())
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)  # runs, exits, is reaped

    assert probes.cpu_seconds(os.getpid()) - before >= 0.3
