"""Two builds of the load generator's consoles against the same bare fan-out, alternating.

    .venv/bin/python scripts/perf/console_generators.py OLD_LOADGEN_DIR --consoles 1000 --rounds 2

A measuring aid for ``docs/performance.md`` (section 10), not the load harness. It builds the
generator from ``OLD_LOADGEN_DIR`` (a copy of ``deploy/loadgen`` as it was) and from this tree,
starts the harness's bare console fan-out (``winback_local.bench.bare_consoles``: no notifier,
no pipeline), and runs each build in turn, round by round: ``--consoles`` consoles (and one not
reading) sign in, then ``--alerts`` webhooks at 10/s each become one frame for every console.
For each run it prints one alert's time to reach all consoles and each delivery (p50 / p90 /
p99 ms, from the webhook's scheduled send) and the generator's CPU seconds. With no pipeline
behind it, what a build shows here is its own limit on this machine at this moment.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from winback_local.bench import bare_endpoint, loadgen, stats
from winback_local.bench.deliveries import write_signed
from winback_local.bench.loadgen import Consoles, Plan


def run_once(binary: Path, url: str, work: Path, consoles: int, alerts: int) -> str:
    """One run of ``binary``; its figures as one line."""
    out = Path(tempfile.mkdtemp(dir=work))
    requests = out / "requests.jsonl"
    write_signed(requests, "whsec_" + "A" * 32, alerts)
    ws_url = url.replace("http://", "ws://", 1) + "/ws"
    plan = Plan(
        requests=requests,
        out=out,
        url=f"{url}/webhooks/bench",
        rate=10,
        consoles=Consoles(ws_url, "bare", consoles, 1),
        alert_wait=60,
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    records = loadgen.finish(loadgen.start(binary, plan), plan, timeout=300)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    fanout = stats.fanout(records.acks, records.arrivals, records.summary.get("signed_in") or [])
    return (
        f"one alert to all {fanout.to_all.text()} ms; each delivery {fanout.each.text()} ms; "
        f"delivered {fanout.delivered:,} / {fanout.expected:,}; "
        f"generator CPU {cpu:.1f} s over {seconds:.0f} s"
    )


def main() -> None:
    """Build both, then alternate them for ``--rounds`` rounds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("old", type=Path, help="the generator's sources as they were")
    parser.add_argument("--consoles", type=int, default=1000)
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    builds = {"before": loadgen.build(args.old.resolve()), "after": loadgen.build()}
    work = Path(tempfile.mkdtemp(prefix="console-generators-"))
    with bare_endpoint.running(work, "consoles") as url:
        for round_number in range(1, args.rounds + 1):
            for name, binary in builds.items():
                line = run_once(binary, url, work, args.consoles, args.alerts)
                print(f"round {round_number}, {name}: {line}", flush=True)


if __name__ == "__main__":
    main()
