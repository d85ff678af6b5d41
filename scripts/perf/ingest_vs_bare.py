"""Ingest's throughput as a share of a bare FastAPI endpoint on the same uvicorn, side by side.

    .venv/bin/python scripts/perf/ingest_vs_bare.py --seconds 10 --rounds 3
    .venv/bin/python scripts/perf/ingest_vs_bare.py --compare /tmp/router-before

A measuring aid for ``docs/performance.md``, not the load harness (``winback_local.bench*``).
It starts, on free loopback ports, ingest (one generic source, a fresh topic on the broker
``KAFKA_BOOTSTRAP_SERVERS`` names) and a bare endpoint that reads the same body and answers 202,
each a uvicorn process alone, then drives them in turn with ``wrk`` (Debian's ``wrk``) posting
one pre-signed ~1 KB detractor, so the figures measure the servers and not a Python generator.
``--compare DIR`` adds a third server: ingest from ``DIR/services/ingest`` (a ``git archive``
of another commit). Every server is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

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
    from fastapi import FastAPI, Request, Response

    if kind == "bare":
        app = FastAPI()

        @app.post("/webhooks/{source}")
        async def bare(source: str, request: Request) -> Response:
            await request.body()
            return Response(b'{"receipt_id":"x"}', status_code=202, media_type="application/json")

    else:
        from winback_ingest.app import create_app
        from winback_ingest.settings import IngestSettings
        from winback_shared.logs import configure_logging
        from winback_shared.sources import SourceConfig

        configure_logging()
        source = SourceConfig.model_validate({"vendor": "generic", "secrets": [SECRET]})
        settings = IngestSettings(
            sources={"survey": source},
            topics={"survey_responses": topic},  # type: ignore[arg-type]
            rate_per_source=1e9,
            rate_burst=1_000_000_000,
        )
        app = create_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def start(kind: str, pythonpath: str | None, topic: str) -> tuple[subprocess.Popen[bytes], int]:
    """A server in a child process, once it answers."""
    port = free_port()
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
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


def wrk_script(directory: Path) -> Path:
    """A wrk Lua script posting one pre-signed detractor (valid for the tolerance window)."""
    sys.path[:0] = [str(HERE.parents[2] / "deploy" / "local")]
    from winback_local.signing import sample_response, signed_request

    payload = sample_response(nps=2, reasons=["Long wait"], comment="x" * 600)
    body, headers = signed_request(SECRET, payload)
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
    path = directory / "post.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def drive(port: int, script: Path, seconds: int, connections: int) -> tuple[float, int]:
    """Requests per second and non-2xx answers over one ``wrk`` run."""
    out = subprocess.run(
        [
            "wrk",
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
    return rate, int(bad.group(1)) if bad else 0


def main() -> None:
    """Start the servers, drive each in turn for ``--rounds``, print rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--serve", choices=["bare", "ingest"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--topic", default="")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--compare", default=None)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.topic)
        return
    topic = f"perf-ingest-{uuid.uuid4().hex[:10]}"
    servers: dict[str, tuple[str, str | None]] = {
        "bare": ("bare", None),
        "ingest": ("ingest", None),
    }
    if args.compare:
        before = str(Path(args.compare).resolve() / "services" / "ingest")
        servers["ingest_before"] = ("ingest", before)
    children: list[subprocess.Popen[bytes]] = []
    try:
        ports = {}
        for name, (kind, path) in servers.items():
            child, ports[name] = start(kind, path, topic)
            children.append(child)
        with tempfile.TemporaryDirectory() as tmp:
            script = wrk_script(Path(tmp))
            for port in ports.values():  # warm up: connections, producer, caches
                drive(port, script, 2, args.connections)
            rates: dict[str, list[float]] = {name: [] for name in ports}
            for round_ in range(args.rounds):
                for name, port in ports.items():
                    rate, bad = drive(port, script, args.seconds, args.connections)
                    rates[name].append(rate)
                    print(f"round {round_ + 1} {name:14} {rate:8.0f} req/s  non-2xx {bad}")
        for name in ports:
            if name != "bare":
                ratios = [r / b for r, b in zip(rates[name], rates["bare"], strict=True)]
                shown = ", ".join(f"{ratio:.2f}" for ratio in ratios)
                print(f"{name} / bare per round: {shown}")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=15)


if __name__ == "__main__":
    main()
