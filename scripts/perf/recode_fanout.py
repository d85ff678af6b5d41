"""A burst of re-codings to a thousand consoles: frames a console reads and the notifier's CPU,
this tree against another alternately.

    .venv/bin/python scripts/perf/recode_fanout.py --before /tmp/old/services/notifier \\
        --consoles 1000 --recodes 300 --sweeps 3 --rounds 2

A measuring aid for ``docs/performance.md`` (section 29), not the load harness. Each variant is
a small FastAPI app on the notifier's uvicorn settings (``serve_forever``, no compression), in
its own process: the notifier's own ``AlertsFeed`` (its Kafka consumer never started), hub and
console sender (``live.socket._pump``, with the direct writes where the tree has them). Consoles
sign in to four views (an agent of ``general``; of ``general`` and ``billing``; of ``general``
and ``returns``; a supervisor), round robin. A sweep is ``--recodes`` ``case.changed`` records
of kind ``recoded`` (cases spread over ``general``, ``billing`` and ``returns``, 4:1:1, cards
with a 100-word comment), read by the feed as one burst, then one ``case.opened`` for
``general`` read in the same burst, as if it came in the same fetch.

Per sweep it prints the live frames and kilobytes a console read until it had every change its
view may see and the alert (median and most), how long after the burst's start the alert reached
the consoles (p50 / p99 / last, wall clock), and the server's CPU seconds from the burst's start
until every console had everything (``time.process_time`` in the server; in µs a console too),
with the part spent inside the feed's synchronous pass (publish and the direct writes).
``--before`` is a copy of ``services/notifier`` put first on ``PYTHONPATH`` for the ``before``
variant; each line names the ``live/feed.py`` that ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from winback_local.kafka import free_port
from winback_local.processes import spawn, stop

QUEUES = ["general", "general", "billing", "general", "returns", "general"]
"""Case ``i`` is in ``QUEUES[i % 6]``."""
VIEWS = [
    ("ana", "agent", ["general"]),
    ("ben", "agent", ["general", "billing"]),
    ("cy", "agent", ["general", "returns"]),
    ("sue", "supervisor", []),
]
ALERT_CASE = 10**9
CHANGE = '"type":"case.changed"'
OPENED = '"type":"case.opened"'
COMMENT = " ".join(
    [
        "I waited on hold for forty minutes before anyone answered, and when someone finally",
        "picked up they transferred me twice and each time I had to explain the whole story",
        "again from the start. The second person promised a call back the same afternoon that",
        "never came, and the charge I was calling about is still on my statement this month.",
        "I have been a customer for nine years and I am seriously thinking about leaving now,",
        "because nobody seems to own the problem or read the notes from my earlier calls.",
    ]
)


def card(case_id: int, seq: int) -> dict[str, Any]:
    """A re-coded case's card, about the size of the load harness's."""
    now = datetime.now(UTC).isoformat()
    reasons = [
        {
            "code": code,
            "label": label,
            "evidence": evidence,
            "method": "model",
            "confidence": 0.83,
            "evidence_source": "comment",
            "rule": f"model:{code}",
            "span": [12, 60],
        }
        for code, label, evidence in (
            ("long_wait", "Long hold or wait", "waited on hold for forty minutes"),
            ("transferred", "Transferred around", "they transferred me twice"),
        )
    ]
    return {
        "case_id": case_id,
        "seq": seq,
        "status": "open",
        "priority": 2,
        "queue": QUEUES[case_id % len(QUEUES)],
        "source": "bench",
        "response_id": f"r-{case_id}",
        "customer": {"id": f"c-{case_id}", "name": f"Customer {case_id}", "email": None},
        "interaction": {"id": None, "channel": "phone", "agent": "Sam", "team": "Billing"},
        "scores": [{"kind": "nps", "value": 2, "scale_min": 0, "scale_max": 10}],
        "reasons": reasons,
        "comment": COMMENT,
        "follow_up_requested": True,
        "submitted_at": now,
        "received_at": now,
        "opened_at": now,
    }


def records(count: int, seq: int) -> list[bytes]:
    """``count`` re-codings as the outbox sends them to ``case-events``."""
    from winback_shared.events.case_events import CaseCard, CaseChanged, HistoryEntry

    return [
        CaseChanged(
            case=CaseCard.model_validate(card(case_id, seq)),
            change=HistoryEntry.model_validate(
                {
                    "seq": seq,
                    "kind": "recoded",
                    "actor": "refine",
                    "occurred_at": datetime.now(UTC),
                    "data": {"added": ["transferred"], "removed": []},
                }
            ),
        ).to_bytes()
        for case_id in range(1, count + 1)
    ]


def alert(seq: int) -> bytes:
    """One pop-up for ``general``, read right after the burst."""
    from winback_shared.events.recovery_alerts import CaseSummary, RecoveryCaseOpened

    summary = CaseSummary.model_validate({**card(ALERT_CASE, seq), "queue": "general"})
    return RecoveryCaseOpened(case=summary).to_bytes()


def server_app() -> FastAPI:
    """The notifier's feed, hub and console sender behind ``/ws`` and ``/sweep``."""
    from winback_notifier.live import feed as feed_module
    from winback_notifier.live.feed import AlertsFeed
    from winback_notifier.live.hub import AlertHub
    from winback_notifier.live.socket import _pump
    from winback_shared.agents import Agent, Role

    agents = [
        Agent(id=n, name=name, role=Role(role), queues=frozenset(queues))
        for n, (name, role, queues) in enumerate(VIEWS, start=1)
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
    feed: list[Any] = []
    joined = [0]

    @app.post("/sweep")
    async def sweep(count: int, seq: int) -> dict[str, Any]:
        if not feed:
            feed.append(AlertsFeed("localhost:1", "alerts", "events", hub))
        burst = records(count, seq)
        pop_up = alert(seq)
        started, cpu = time.time(), time.process_time()
        for raw in burst:
            feed[0]._deliver("events", raw)
        feed[0]._deliver("alerts", pop_up)
        flush = getattr(feed[0], "flush", None)
        if flush is not None:
            flush()
        return {
            "started": started,
            "cpu": cpu,
            "pass_cpu": time.process_time() - cpu,
            "published": hub.published,
            "feed": feed_module.__file__,
        }

    @app.get("/cpu")
    async def cpu(since: float) -> dict[str, float]:
        return {"seconds": time.process_time() - since}

    @app.websocket("/ws")
    async def console(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            await websocket.receive_text()  # the auth message: any token will do
        except WebSocketDisconnect:
            return
        agent = agents[joined[0] % len(agents)]
        joined[0] += 1
        subscription = hub.subscribe(agent, writer(websocket)) if writer else hub.subscribe(agent)

        async def resync() -> bool:
            return True

        try:
            hello = {"type": "hello", "queues": sorted(agent.queues), "all": agent.is_supervisor}
            await websocket.send_text(json.dumps(hello))
            await _pump(websocket, subscription, resync, hub.written)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            hub.unsubscribe(subscription)

    return app


def serve() -> None:
    """Serve on ``WINBACK_BARE_PORT`` until SIGTERM."""
    from winback_shared.serve import serve_forever

    serve_forever(server_app(), service="bare", default_port=8009, websocket_compression=False)


class Reader:
    """One console: counts the live frames and bytes of a sweep until it has everything.

    It reads as a console must (every frame whole), but does not parse the JSON: a thousand
    consoles in one Python process parsing 300 frames each would starve it (the server's
    keep-alive pings then go unanswered and it closes them), and what is measured here is the
    server. Every change a sweep sends is counted by its ``"type":"case.changed"`` (each
    ``case.changed`` frame has one, a ``cases.changed`` one per change it carries); the sweeps
    do not overlap, so every change read during a sweep is one of its own.
    """

    def __init__(self, socket: ClientConnection, queues: list[str] | None) -> None:
        self.socket = socket
        self.queues = queues
        self.lost = False
        self.reset(0)

    def reset(self, count: int) -> None:
        self.wanted = sum(
            1
            for case_id in range(1, count + 1)
            if self.queues is None or QUEUES[case_id % len(QUEUES)] in self.queues
        )
        self.frames = 0
        self.bytes = 0
        self.alert_at: float | None = None
        self.done = asyncio.Event()
        if count == 0:
            self.done.set()

    async def read_forever(self) -> None:
        try:
            await self._read()
        finally:
            self.lost = True
            self.done.set()

    async def _read(self) -> None:
        async for text in self.socket:
            assert isinstance(text, str)
            self.frames += 1
            self.bytes += len(text)
            if CHANGE in text:
                self.wanted -= text.count(CHANGE)
            elif OPENED in text:
                self.alert_at = time.time()
            if self.wanted <= 0 and self.alert_at is not None:
                self.done.set()


async def sign_in(url: str, count: int) -> tuple[list[Reader], list[asyncio.Task[None]]]:
    """``count`` consoles signed in and reading."""
    readers: list[Reader] = []

    async def one() -> None:
        # No flow control: a console slow to parse still reads its socket and answers the
        # server's keep-alive pings, so what is measured is the server's sending, not a close.
        socket = await connect(
            url, max_size=None, max_queue=None, compression=None, open_timeout=60
        )
        await socket.send('{"type":"auth","token":"x"}')
        hello = json.loads(await socket.recv())
        readers.append(Reader(socket, None if hello["all"] else hello["queues"]))

    for start in range(0, count, 100):
        await asyncio.gather(*(one() for _ in range(min(100, count - start))))
    return readers, [asyncio.create_task(reader.read_forever()) for reader in readers]


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(url: str, args: argparse.Namespace, label: str) -> None:
    """Sign the consoles in, run the sweeps, print one line each."""
    readers, tasks = await sign_in(url.replace("http://", "ws://") + "/ws", args.consoles)
    async with httpx.AsyncClient(base_url=url, timeout=120, trust_env=False) as http:
        for sweep in range(1, args.sweeps + 1):
            seq = sweep + 1
            for reader in readers:
                reader.reset(args.recodes)
            answer = (await http.post(f"/sweep?count={args.recodes}&seq={seq}")).json()
            await asyncio.wait_for(
                asyncio.gather(*(reader.done.wait() for reader in readers)), timeout=600
            )
            finished = time.time()
            cpu = (await http.get(f"/cpu?since={answer['cpu']}")).json()["seconds"]
            if lost := sum(reader.lost for reader in readers):
                print(f"{label} sweep {sweep}: {lost} consoles lost their connection")
            readers = [reader for reader in readers if not reader.lost]
            frames = [reader.frames for reader in readers]
            kilobytes = [reader.bytes / 1024 for reader in readers]
            alert_ms = [
                1000 * (reader.alert_at - answer["started"])
                for reader in readers
                if reader.alert_at is not None
            ]
            print(
                f"{label} sweep {sweep}: frames a console {statistics.median(frames):.0f} / "
                f"{max(frames)} (median / most), KB {statistics.median(kilobytes):.0f} / "
                f"{max(kilobytes):.0f}; the alert after {quantile(alert_ms, 0.5):,.0f} / "
                f"{quantile(alert_ms, 0.99):,.0f} / {max(alert_ms):,.0f} ms (p50 / p99 / last); "
                f"all consoles done {1000 * (finished - answer['started']):,.0f} ms; "
                f"server CPU {cpu:.2f} s ({1e6 * cpu / len(readers):.0f} µs a console), "
                f"{answer['pass_cpu']:.2f} s of it in the feed's pass; feed {answer['feed']}",
                flush=True,
            )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(reader.socket.close() for reader in readers), return_exceptions=True)


def run_once(kind: str, before: Path | None, args: argparse.Namespace, work: Path) -> None:
    """One variant's server, its consoles and sweeps."""
    port = free_port()
    env = {**os.environ, "WINBACK_BARE_PORT": str(port)}
    if kind == "before" and before is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(before), env.get("PYTHONPATH", "")])
    handle = spawn([sys.executable, __file__, "--serve"], log_path=work / f"{kind}.log", env=env)
    try:
        asyncio.run(_wait_up(port))
        asyncio.run(measure(f"http://127.0.0.1:{port}", args, f"{kind:6}"))
    finally:
        stop(handle)


async def _wait_up(port: int) -> None:
    for _ in range(600):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError("the server did not start")


def main() -> None:
    """Alternate the variants for ``--rounds`` rounds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, help="services/notifier as it was")
    parser.add_argument("--consoles", type=int, default=1000)
    parser.add_argument("--recodes", type=int, default=300)
    parser.add_argument("--sweeps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    kinds = ["before", "after"] if args.before is not None else ["after"]
    work = Path(tempfile.mkdtemp(prefix="recode-fanout-"))
    for round_number in range(1, args.rounds + 1):
        for kind in kinds if round_number % 2 else kinds[::-1]:
            print(f"round {round_number}, {kind}:", flush=True)
            run_once(kind, args.before, args, work)


if __name__ == "__main__":
    main()
