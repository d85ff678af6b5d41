"""What one frame to every connected console costs the server, per websocket setting.

    .venv/bin/python scripts/perf/console_fanout.py --consoles 300 --rounds 2

A measuring aid for ``docs/performance.md`` (section 6), not the load harness. For each variant
(uvicorn's websocket protocol, permessage-deflate on or off) it starts a small Starlette server
in its own process that does what ``live/hub.py`` and ``live/socket.py`` do: one bounded queue
and one sender task per connection, one encoded ~1.2 KB frame queued for all. This process
connects ``--consoles`` clients (offering compression when the variant accepts it), asks for
20 fan-outs and prints the server's median CPU time per fan-out. Variants alternate, round by
round, so a busy machine weighs on all of them alike. Every server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time

FANOUTS = 20
FRAME = json.dumps({"type": "case.opened", "case": {"case_id": 1, "comment": "x" * 1200}})
VARIANTS = (("websockets-sansio", False), ("websockets-sansio", True), ("websockets", False))


def serve(port: int, protocol: str, deflate: bool) -> None:
    """The server: ``/ws`` consoles, ``/control`` answers ``go`` with the CPU per fan-out."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket

    queues: set[asyncio.Queue[str]] = set()
    unsent = [0]
    all_sent = asyncio.Event()

    async def console(websocket: WebSocket) -> None:
        await websocket.accept()
        queue: asyncio.Queue[str] = asyncio.Queue(1000)
        queues.add(queue)
        try:
            while True:
                await websocket.send_text(await queue.get())
                unsent[0] -= 1
                if unsent[0] == 0:
                    all_sent.set()
        finally:
            queues.discard(queue)

    async def control(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        spent: list[float] = []
        for _ in range(FANOUTS):
            started = time.process_time()
            all_sent.clear()
            unsent[0] = len(queues)
            for queue in list(queues):
                queue.put_nowait(FRAME)
            await all_sent.wait()  # every sender has written
            spent.append(time.process_time() - started)
            await asyncio.sleep(0.05)
        await websocket.send_text(json.dumps({"cpu_ms": 1000 * statistics.median(spent)}))

    app = Starlette(routes=[WebSocketRoute("/ws", console), WebSocketRoute("/control", control)])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        ws=protocol,  # type: ignore[arg-type]
        ws_per_message_deflate=deflate,
        log_level="warning",
    )


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def measure(port: int, consoles: int, deflate: bool) -> float:
    """Connect the consoles, ask for the fan-outs, return the server's median CPU ms."""
    from websockets.asyncio.client import ClientConnection, connect

    async def drain(connection: ClientConnection) -> None:
        async for _ in connection:
            pass

    url = f"ws://127.0.0.1:{port}"
    for _ in range(100):  # the server is starting
        try:
            control = await connect(f"{url}/control")
            break
        except OSError:
            await asyncio.sleep(0.1)
    compression = "deflate" if deflate else None
    sockets = [await connect(f"{url}/ws", compression=compression) for _ in range(consoles)]
    readers = [asyncio.create_task(drain(s)) for s in sockets]
    await asyncio.sleep(1)
    await control.send("go")
    answer = json.loads(await control.recv())
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    for connection in (*sockets, control):
        await connection.close()
    return float(answer["cpu_ms"])


def main() -> None:
    """Alternate the variants for ``--rounds`` and print each one's figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--consoles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", nargs=3, metavar=("PORT", "PROTOCOL", "DEFLATE"))
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1], args.serve[2] == "on")
        return
    for round_number in range(1, args.rounds + 1):
        for protocol, deflate in VARIANTS:
            port = free_port()
            flag = "on" if deflate else "off"
            server = subprocess.Popen(
                [sys.executable, __file__, "--serve", str(port), protocol, flag]
            )
            try:
                cpu_ms = asyncio.run(measure(port, args.consoles, deflate))
            finally:
                server.kill()
                server.wait()
            print(
                f"round {round_number} {protocol:18} deflate {flag:3} {args.consoles} consoles:"
                f" {cpu_ms:6.1f} ms CPU per fan-out ({1000 * cpu_ms / args.consoles:.0f} µs each)",
                flush=True,
            )


if __name__ == "__main__":
    main()
