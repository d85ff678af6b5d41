"""Where a router's threads spent a py-spy recording: working, or waiting, and on what.

    .venv/bin/py-spy record -r 100 --idle --nonblocking --format speedscope -o router.json --pid PID
    .venv/bin/python scripts/perf/spy_threads.py router.json [--top 25]

A measuring aid for ``docs/performance.md`` (section 16). With ``--idle`` py-spy samples every
thread at every tick, working or not, so a speedscope file holds one timeline per thread. This
reads the two that matter, the event loop's (``MainThread``) and the coding worker's
(the thread ``asyncio.to_thread`` runs ``_code_batch`` in: ``asyncio_0``, or ``uvloop_0`` in the
services), lines them up tick by tick (from the end: both live until the recording stops), keeps
only the ticks within a second (``--gap``) of one spent coding (the router at work, not idle
between a harness's steps), and counts:

- the loop **idle** (its stack ends in the selector's ``select``: no callback ready) or working,
  and what it works on (the function under ``RecoveryRouter``/aiokafka/prometheus... nearest the
  top of the stack that names a known part);
- the coding thread coding or idle (no ``_code_batch`` in its stack);
- ticks where **both** wait: the process has nothing to run, whatever the machine offers;
- what the loop works on while the coding thread waits for a batch (the coder is the critical
  path: each of these ticks is one it did not code; section 23).

A working sample may be a thread waiting for the GIL (py-spy cannot tell without ``--gil``), so
"both working" is contention, not two cores' worth of work.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

PARTS = (
    ("_code_batch", "coding"),
    ("_normalise_all", "normalise"),
    ("case_summaries", "store: case summaries"),
    ("insert_first_deliveries", "store: insert responses"),
    ("store_first_deliveries", "store: insert responses, open cases, read summaries"),
    ("open_cases", "store: open cases"),
    ("PostgresBatchStore.save", "store: other"),
    ("PostgresBatchStore.mark_alerted", "mark_alerted"),
    ("RecoveryRouter._messages", "alerts: build"),
    ("KafkaPublisher.publish", "alerts: produce"),
    ("_store_and_alert", "store+alert: other"),
    ("RecoveryRouter._finish", "commit offsets, lag"),
    ("Fetcher", "aiokafka fetcher"),
    ("Sender", "aiokafka sender"),
    ("aiokafka", "aiokafka other"),
    ("asyncpg", "asyncpg"),
    ("prometheus_client", "metrics endpoint"),
    ("uvicorn", "http server (probes, metrics)"),
    ("logging", "logging"),
    ("RecoveryRouter.run", "router loop other"),
)
"""(substring of a frame name or file, label): the first found from the leaf up labels a
working sample. Order matters: the more specific first."""


IDLE_LEAVES = ("EpollSelector.select ", "select ", "Runner.run ", "BaseEventLoop.run_forever ")
"""Where an idle event loop's stack ends: asyncio's selector, or under uvloop (the services
run on it) the Python frame that entered its C loop."""


def timelines(document: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Each thread's samples as stacks of frame names (root first), by profile name."""
    frames = document["shared"]["frames"]
    names = [f"{frame['name']} ({frame.get('file', '')})" for frame in frames]
    out: dict[str, list[list[str]]] = {}
    for profile in document["profiles"]:
        stacks: list[list[str]] = []
        tick = min(profile["weights"], default=1) or 1  # py-spy weighs a sample in seconds
        for sample, weight in zip(profile["samples"], profile["weights"], strict=True):
            stack = [names[index] for index in sample]
            stacks.extend([stack] * max(1, round(weight / tick)))
        out[profile["name"]] = stacks
    return out


def loop_idle(stack: list[str]) -> bool:
    """The event loop waiting in its selector (nothing ready to run): asyncio's selector, or
    uvloop's loop (C, so the stack ends in the Python that called ``run``)."""
    return bool(stack) and stack[-1].startswith(IDLE_LEAVES)


def coding(stack: list[str]) -> bool:
    """The worker thread inside ``_code_batch``."""
    return any("_code_batch" in frame for frame in stack)


def part(stack: list[str]) -> str:
    """The label of the most specific known part on this working stack."""
    for needle, label in PARTS:
        if any(needle in frame for frame in stack):
            return label
    return "other: " + (stack[-1].split(" (")[0] if stack else "?")


def thread(stacks: dict[str, list[list[str]]], prefix: str) -> list[list[str]]:
    """The timeline of the first thread whose profile name holds ``prefix``."""
    for name, samples in stacks.items():
        if prefix in name:
            return samples
    return []


def coding_thread(stacks: dict[str, list[list[str]]]) -> list[list[str]]:
    """The timeline of the thread that codes (``asyncio_0``, or ``uvloop_0`` under uvloop):
    the one with the most samples in ``_code_batch``."""
    counts = {name: sum(coding(stack) for stack in samples) for name, samples in stacks.items()}
    busiest = max(counts, key=lambda name: counts[name], default=None)
    return stacks[busiest] if busiest is not None and counts[busiest] else []


def busy(
    main: list[list[str]], worker: list[list[str]], gap: int
) -> tuple[list[list[str]], list[list[str]]]:
    """Only the ticks while the router had work: within ``gap`` ticks of a tick the worker
    spent coding (not start-up, not a harness's other steps while the router sat idle)."""
    coded = [index for index, stack in enumerate(worker) if coding(stack)]
    keep = [False] * len(worker)
    for index in coded:
        for near in range(max(0, index - gap), min(len(worker), index + gap + 1)):
            keep[near] = True
    return (
        [stack for stack, kept in zip(main, keep, strict=True) if kept],
        [stack for stack, kept in zip(worker, keep, strict=True) if kept],
    )


def report(path: Path, top: int, whole: bool = False, gap: int = 100) -> None:
    """Print the shares for one recording."""
    stacks = timelines(json.loads(path.read_text()))
    main = thread(stacks, "MainThread")
    worker = coding_thread(stacks)
    ticks = min(len(main), len(worker)) if worker else len(main)
    main, worker = main[len(main) - ticks :], worker[len(worker) - ticks :] if worker else []
    if not whole:
        main, worker = busy(main, worker, gap)
        ticks = len(main)
    both_idle = loop_only = code_only = both = 0
    parts: Counter[str] = Counter()
    coder_waits: Counter[str] = Counter()
    for index in range(ticks):
        loop_works = not loop_idle(main[index])
        codes = bool(worker) and coding(worker[index])
        if loop_works:
            parts[part(main[index])] += 1
        if not codes:
            coder_waits[part(main[index]) if loop_works else "the loop idle too"] += 1
        both_idle += not loop_works and not codes
        loop_only += loop_works and not codes
        code_only += codes and not loop_works
        both += loop_works and codes
    print(f"{path}: {ticks} ticks ({ticks / 100:.1f} s at 100 Hz)")
    for label, count in (
        ("both waiting (process idle)", both_idle),
        ("loop working, coding thread idle", loop_only),
        ("coding, loop waiting", code_only),
        ("both working (one waits for the GIL)", both),
    ):
        print(f"  {100 * count / max(ticks, 1):5.1f} %  {label}")
    print("  the loop's working ticks, by part:")
    for label, count in parts.most_common(top):
        print(f"  {100 * count / max(ticks, 1):5.1f} %  {label}")
    print("  while the coding thread waits for a batch, the loop works on:")
    for label, count in coder_waits.most_common(top):
        print(f"  {100 * count / max(ticks, 1):5.1f} %  {label}")


def main() -> None:
    """Parse arguments; report each file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--whole", action="store_true", help="every tick, not only those while the router worked"
    )
    parser.add_argument(
        "--gap",
        type=int,
        default=100,
        help="ticks within this many of one spent coding count as the router at work (100: 1 s)",
    )
    args = parser.parse_args()
    for path in args.files:
        report(path, args.top, args.whole, args.gap)


if __name__ == "__main__":
    main()
