"""The notifier's own fan-out path against the bare fan-out, with the same generator, alternating.

    .venv/bin/python scripts/perf/notifier_fanout.py --before OLD_NOTIFIER_DIR --rounds 2

A measuring aid for ``docs/performance.md`` (section 14), not the load harness. Each variant is a
small FastAPI app on the notifier's uvicorn settings (``serve_forever``, no compression), in its
own process, fed by the harness's Go generator exactly as the bench's consoles step feeds the
bare fan-out (``winback_local.bench.bare_consoles``): ``--consoles`` consoles sign in (and one
more that stops reading), then ``--alerts`` webhooks at ``--rate`` each become one frame for
every console.

* ``bare``: ``bare_consoles`` itself, the generator's floor (one queue and sender task each).
* ``hub``: the notifier's own fan-out, imported from this tree: ``AlertHub.publish`` with an
  audience, each console subscribed with an agent (four views: three agents with different
  queue sets and a supervisor, all seeing the frames' queue) and served by the console socket's
  own sender (``live.socket._pump``, the frame-written histogram included).
* ``before``: the same from ``--before`` (a copy of ``services/notifier`` as it was, put first
  on ``PYTHONPATH``), so a change to the fan-out is measured beside what it replaced.

No Kafka, PostgreSQL, token lookup or board: what differs from ``bare`` is the notifier's
per-console work alone. For each run it prints one alert's time to reach all consoles and each
delivery (p50 / p90 / p99 ms, from the webhook's scheduled send), what was delivered, the
server's CPU seconds over the run (sign-in included; the same for every variant) and from the
first alert on, and how many frames the hub wrote straight to the consoles' sockets
(``winback_notifier_frames_direct_total``, section 24; 0 for a tree without it and for ``bare``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from winback_local.bench import loadgen, stats
from winback_local.bench.deliveries import write_signed
from winback_local.bench.loadgen import Consoles, Plan
from winback_local.kafka import free_port
from winback_local.processes import spawn, stop

QUEUE = "general"


def hub_app() -> FastAPI:
    """The notifier's hub and console sender behind the bare fan-out's two routes."""
    from winback_local.bench.bare_consoles import HELLO, frame_for, snapshot_of
    from winback_notifier.live.hub import AlertHub
    from winback_notifier.live.socket import _pump
    from winback_shared.agents import Agent, Role

    views = [
        Agent(id=1, name="ana", role=Role.AGENT, queues=frozenset({QUEUE})),
        Agent(id=2, name="ben", role=Role.AGENT, queues=frozenset({QUEUE, "billing"})),
        Agent(id=3, name="sue", role=Role.SUPERVISOR, queues=frozenset()),
        Agent(id=4, name="cy", role=Role.AGENT, queues=frozenset({"returns", QUEUE})),
    ]
    app = FastAPI()
    hub = AlertHub(1000)
    writer: Any = None
    try:  # the notifier's direct writes (section 24), where the tree has them
        from winback_notifier.live.direct import KeepServerSend, direct_writer

        app.add_middleware(KeepServerSend)
        writer = direct_writer
    except ImportError:
        pass
    joined = [0]

    @app.post("/webhooks/{source}")
    async def receive(source: str, request: Request) -> JSONResponse:
        frame = frame_for(await request.body())
        if frame is not None:
            hub.publish(frame, frozenset({QUEUE}))
        return JSONResponse({"consoles": hub.size}, status_code=202)

    @app.websocket("/ws")
    async def console(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            await websocket.receive_text()  # the auth message: any token will do
        except WebSocketDisconnect:
            return
        joined[0] += 1
        view = views[joined[0] % len(views)]
        subscription = hub.subscribe(view, writer(websocket)) if writer else hub.subscribe(view)

        async def resync() -> bool:
            return True

        try:
            await websocket.send_text(HELLO)
            await websocket.send_text(snapshot_of(0))
            await _pump(websocket, subscription, resync, hub.written)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.unsubscribe(subscription)

    return app


def with_cpu_clock(app: FastAPI) -> FastAPI:
    """``GET /cpu``: the server's CPU seconds since the first webhook (the alerts' share of the
    run: no imports, no sign-ins; the consoles' departure at the end included)."""
    first: list[float] = []

    @app.middleware("http")
    async def clock(request: Request, call_next: Any) -> Any:
        if not first and request.url.path.startswith("/webhooks/"):
            first.append(time.process_time())
        return await call_next(request)

    @app.get("/cpu")
    async def cpu() -> dict[str, float]:
        from prometheus_client import REGISTRY

        direct = REGISTRY.get_sample_value("winback_notifier_frames_direct_total") or 0.0
        return {"seconds": time.process_time() - first[0] if first else 0.0, "direct": direct}

    return app


def serve(kind: str) -> None:
    """Serve one variant on ``WINBACK_BARE_PORT`` until SIGTERM."""
    from winback_shared.serve import serve_forever

    if kind == "bare":
        from winback_local.bench.bare_consoles import create_app

        app = create_app()
    else:
        app = hub_app()
    app = with_cpu_clock(app)
    serve_forever(app, service="bare", default_port=8009, websocket_compression=False)


def start(kind: str, before: Path | None, work: Path) -> tuple[psutil.Process, str, object]:
    """Start a variant's server; its process, base URL and handle for :func:`stop`."""
    port = free_port()
    env = {**os.environ, "WINBACK_BARE_PORT": str(port)}
    if kind == "before" and before is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(before), env.get("PYTHONPATH", "")])
    process = spawn(
        [sys.executable, __file__, "--serve", "bare" if kind == "bare" else "hub"],
        log_path=work / f"{kind}.log",
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    asyncio.run(_wait_up(port))
    return psutil.Process(process.pid), url, process


async def _wait_up(port: int) -> None:
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError("the server did not start")


def run_once(kind: str, before: Path | None, args: argparse.Namespace, work: Path) -> str:
    """One run of the generator against a fresh server of ``kind``; its figures as one line."""
    binary = loadgen.build()
    out = Path(tempfile.mkdtemp(dir=work))
    requests = out / "requests.jsonl"
    write_signed(requests, "whsec_" + "A" * 32, args.alerts)
    server, url, handle = start(kind, before, work)
    try:
        plan = Plan(
            requests=requests,
            out=out,
            url=f"{url}/webhooks/bench",
            rate=args.rate,
            consoles=Consoles(url.replace("http://", "ws://", 1) + "/ws", "bare", args.consoles, 1),
            alert_wait=60,
        )
        cpu_before = sum(server.cpu_times()[:2])
        started = time.monotonic()
        records = loadgen.finish(loadgen.start(binary, plan), plan, timeout=300)
        seconds = time.monotonic() - started
        cpu = sum(server.cpu_times()[:2]) - cpu_before
        clock = httpx.get(f"{url}/cpu", timeout=10, trust_env=False).json()
        alerts_cpu = clock["seconds"]
    finally:
        stop(handle)  # type: ignore[arg-type]
    fanout = stats.fanout(records.acks, records.arrivals, records.summary.get("signed_in") or [])
    return (
        f"one alert to all {fanout.to_all.text()} ms; each delivery {fanout.each.text()} ms; "
        f"delivered {fanout.delivered:,} / {fanout.expected:,}; "
        f"server CPU {cpu:.2f} s over {seconds:.0f} s, {alerts_cpu:.2f} s from the first alert "
        f"({1e6 * alerts_cpu / (args.alerts * args.consoles):.1f} µs a frame a console); "
        f"{clock.get('direct', 0):,.0f} frames written directly"
    )


def main() -> None:
    """Alternate the variants for ``--rounds`` rounds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, help="services/notifier as it was")
    parser.add_argument("--consoles", type=int, default=1000)
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", default="bare,before,hub")
    parser.add_argument("--serve", choices=("bare", "hub"))
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    kinds = [k for k in args.variants.split(",") if k != "before" or args.before is not None]
    work = Path(tempfile.mkdtemp(prefix="notifier-fanout-"))
    for round_number in range(1, args.rounds + 1):
        for kind in kinds:
            line = run_once(kind, args.before, args, work)
            print(f"round {round_number}, {kind:6}: {line}", flush=True)


if __name__ == "__main__":
    main()
