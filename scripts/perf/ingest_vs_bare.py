"""Ingest's throughput as a share of a bare FastAPI endpoint on the same uvicorn, side by side.

    .venv/bin/python scripts/perf/ingest_vs_bare.py --seconds 10 --rounds 3
    .venv/bin/python scripts/perf/ingest_vs_bare.py --compare /tmp/router-before

A measuring aid for ``docs/performance.md``, not the load harness (``winback_local.bench*``).
It starts, on free loopback ports, ingest (one generic source, a fresh topic on the broker
``KAFKA_BOOTSTRAP_SERVERS`` names) and a bare endpoint that reads the same body and answers 202,
each a uvicorn process alone, then drives them in turn with ``wrk`` (Debian's ``wrk``) posting
one pre-signed ~1 KB detractor, so the figures measure the servers and not a Python generator.
Besides requests per second it prints each server's CPU time per request (from ``/proc``),
which a busy machine disturbs far less than throughput, and wrk's latency p50/p99: for ingest,
the time to a 202, which includes waiting for Kafka's acknowledgement.
``--compare DIR`` adds a third server: ingest from ``DIR/services/ingest`` with ``DIR/shared``
(a ``git archive`` of another commit; the producer settings live in shared), and prints each
figure's ratio of the medians against it. ``--profile PREFIX`` records each ingest with py-spy
during its first round (raw folded stacks, ``PREFIX.<server>.folded``). Every server is
stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI, Request, Response

HERE = Path(__file__).resolve()
SECRET = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def free_port() -> int:
    """A port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(kind: str, port: int, topic: str) -> None:
    """Run one server in this process (the child side of ``start``)."""
    import uvicorn

    keep_alive = 5  # uvicorn's default; ingest's own setting where it has one
    if kind == "bare":
        app = bare_app()
    else:
        from winback_ingest.app import create_app
        from winback_ingest.settings import IngestSettings
        from winback_shared.logs import configure_logging
        from winback_shared.sources import SourceConfig

        source = SourceConfig.model_validate({"vendor": "generic", "secrets": [SECRET]})
        settings = IngestSettings(
            sources={"survey": source},
            topics={"survey_responses": topic},  # type: ignore[arg-type]
            rate_per_source=1e9,
            rate_burst=1_000_000_000,
        )
        configure_logging(settings.log_level)
        app = create_app(settings)
        keep_alive = getattr(settings, "http_keep_alive_seconds", keep_alive)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=keep_alive,
    )


async def drop_topic(bootstrap: str, name: str) -> None:
    """Delete the run's topic: left-over partitions slow a shared broker down for everyone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([name])
    finally:
        await admin.close()


def bare_app() -> FastAPI:
    """The HTTP ceiling: read the body, answer 202 with a small JSON."""
    app = FastAPI()

    @app.post("/webhooks/{source}")
    async def bare(source: str, request: Request) -> Response:
        await request.body()
        return Response(b'{"receipt_id":"x"}', status_code=202, media_type="application/json")

    return app


def start(
    kind: str, pythonpath: str | None, topic: str, extra_env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    """A server in a child process, once it answers."""
    port = free_port()
    env = {**os.environ, **extra_env}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(
            [pythonpath, *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    child = subprocess.Popen(
        [sys.executable, str(HERE), "--serve", kind, "--port", str(port), "--topic", topic],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return child, port
        except OSError:
            time.sleep(0.2)
    child.kill()
    raise RuntimeError(f"{kind} did not start")


def wrk_script(directory: Path, keys: int = 1) -> Path:
    """A wrk Lua script posting pre-signed detractors (valid for the tolerance window).

    With ``keys`` 1 every request is the same delivery, so every record has one Kafka key and
    goes to one partition; with more, wrk cycles through that many deliveries, each its own
    response id, spread over the partitions as the load harness's unique deliveries are.
    """
    sys.path[:0] = [str(HERE.parents[2] / "deploy" / "local")]
    from winback_local.signing import sample_response, signed_request

    signed = [
        signed_request(SECRET, sample_response(nps=2, reasons=["Long wait"], comment="x" * 600))
        for _ in range(keys)
    ]
    if keys == 1:
        body, headers = signed[0]
        lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
        lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    else:
        lines = ["local requests = {}"]
        for body, headers in signed:
            fields = ", ".join(f'["{name}"] = "{value}"' for name, value in headers.items())
            lines.append(
                f'requests[#requests + 1] = wrk.format("POST", nil, {{{fields}}}, '
                f"{json.dumps(body.decode())})"
            )
        lines += [
            "local next = 0",
            "request = function()",
            "  next = next % #requests + 1",
            "  return requests[next]",
            "end",
        ]
    path = directory / "post.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    """What one ``wrk`` run measured against one server."""

    rate: float
    """Requests per second."""
    bad: int
    """Answers other than 2xx or 3xx."""
    p50_ms: float
    p99_ms: float
    """Latency percentiles, from wrk's ``--latency`` distribution."""


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def latency_ms(out: str, percentile: str) -> float:
    """One line of wrk's latency distribution (``  99%   12.34ms``), in milliseconds."""
    found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if found is None:
        return float("nan")
    return float(found.group(1)) * UNITS_MS[found.group(2)]


def drive(port: int, script: Path, seconds: int, connections: int) -> Run:
    """Requests per second, non-2xx answers and latency over one ``wrk`` run."""
    out = subprocess.run(
        [
            "wrk",
            "--latency",
            f"-c{connections}",
            "-t2",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/webhooks/survey",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Run(rate, int(bad.group(1)) if bad else 0, latency_ms(out, "50"), latency_ms(out, "99"))


def profile(pid: int, seconds: int, output: str) -> subprocess.Popen[bytes]:
    """py-spy sampling ``pid`` at 200 Hz for ``seconds``, raw folded stacks into ``output``."""
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            *(str(spy), "record", "-r", "200", "--format", "raw", "--nonblocking"),
            *("--duration", str(seconds), "--pid", str(pid), "-o", output),
        ],
        stdout=subprocess.DEVNULL,
    )


def report(runs: dict[str, list[Run]], costs: dict[str, list[float]]) -> None:
    """Each ingest against the bare endpoint (and against the compared tree): medians' ratios."""
    median = statistics.median
    rates = {name: [run.rate for run in done] for name, done in runs.items()}
    for name in rates:
        if name == "bare":
            continue
        ratios = [r / b for r, b in zip(rates[name], rates["bare"], strict=True)]
        shown = ", ".join(f"{ratio:.2f}" for ratio in ratios)
        print(f"{name} / bare, req/s per round: {shown}")
        print(f"{name} / bare, req/s (medians): {median(rates[name]) / median(rates['bare']):.2f}")
        cost = median(costs[name]) / median(costs["bare"])
        print(f"{name} / bare, CPU per request (medians): {cost:.2f}x")
    if "ingest_before" in rates:
        for name in rates:
            if name.startswith("ingest") and name != "ingest_before":
                rate = median(rates[name]) / median(rates["ingest_before"])
                cost = median(costs[name]) / median(costs["ingest_before"])
                latency = {
                    p: median(getattr(r, p) for r in runs[name])
                    / median(getattr(r, p) for r in runs["ingest_before"])
                    for p in ("p50_ms", "p99_ms")
                }
                print(
                    f"{name} / ingest_before (medians): req/s {rate:.2f}x, CPU per request "
                    f"{cost:.2f}x, latency p50 {latency['p50_ms']:.2f}x"
                    f" p99 {latency['p99_ms']:.2f}x"
                )


def main() -> None:
    """Start the servers, drive each in turn for ``--rounds``, print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", choices=["bare", "ingest"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--topic", default="")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--keys", type=int, default=1, help="distinct deliveries wrk cycles through (1: one)"
    )
    parser.add_argument("--compare", default=None)
    parser.add_argument("--ingest-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--profile", default=None, metavar="PREFIX", help="py-spy outputs")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.topic)
        return
    topic = f"perf-ingest-{uuid.uuid4().hex[:10]}"
    from winback_shared.kafka import ensure_topics

    asyncio.run(ensure_topics(os.environ["KAFKA_BOOTSTRAP_SERVERS"], {topic: 6}))
    servers: dict[str, tuple[str, str | None, dict[str, str]]] = {
        "bare": ("bare", None, {}),
        "ingest": ("ingest", None, {}),
    }
    if args.compare:
        tree = Path(args.compare).resolve()
        before = os.pathsep.join(str(tree / part) for part in ("services/ingest", "shared"))
        servers["ingest_before"] = ("ingest", before, {})
    for setting in args.ingest_env:  # e.g. WINBACK_KAFKA_LINGER_MS=2: one more ingest
        servers[f"ingest {setting}"] = ("ingest", None, dict([setting.split("=", 1)]))
    children: list[subprocess.Popen[bytes]] = []
    try:
        ports = {}
        for name, (kind, path, extra_env) in servers.items():
            child, ports[name] = start(kind, path, topic, extra_env)
            children.append(child)
        with tempfile.TemporaryDirectory() as tmp:
            script = wrk_script(Path(tmp), args.keys)
            for port in ports.values():  # warm up: connections, producer, caches
                drive(port, script, 2, args.connections)
            runs: dict[str, list[Run]] = {name: [] for name in ports}
            costs: dict[str, list[float]] = {name: [] for name in ports}
            pids = dict(zip(ports, (child.pid for child in children), strict=True))
            for round_ in range(args.rounds):
                for name, port in ports.items():
                    spy = None
                    if args.profile and round_ == 0 and name != "bare":
                        output = f"{args.profile}.{name.replace(' ', '_')}.folded"
                        spy = profile(pids[name], args.seconds, output)
                    used = cpu_seconds(pids[name])
                    run = drive(port, script, args.seconds, args.connections)
                    cost = (cpu_seconds(pids[name]) - used) / (run.rate * args.seconds) * 1e6
                    if spy is not None:
                        spy.wait(timeout=60)
                    runs[name].append(run)
                    costs[name].append(cost)
                    print(
                        f"round {round_ + 1} {name:32} {run.rate:8.0f} req/s"
                        f"  {cost:6.0f} µs CPU/req  p50 {run.p50_ms:6.1f} ms"
                        f"  p99 {run.p99_ms:6.1f} ms  non-2xx {run.bad}",
                        flush=True,
                    )
        report(runs, costs)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=15)
        asyncio.run(drop_topic(os.environ["KAFKA_BOOTSTRAP_SERVERS"], topic))


if __name__ == "__main__":
    main()
